"""Loads what a session needs from the store: its streamed bars and its history.

Each trading day's regular-session 1m bars are read once and kept while they are inside the
window [oldest history day, last prefetched day], so today's bars become tomorrow's history
without a second read. Memory therefore depends on `prefetch_days` and `trailing_days`,
not on the length of the backtest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import structlog

from mismarterad.config.session_config import SessionConfig
from mismarterad.core.errors import MismarteradError
from mismarterad.core.intervals import Interval, parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.market_data_source import MarketDataSource
from mismarterad.core.session_data import SessionData
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.time_manager import TimeManager
from mismarterad.services.bar_aggregation import aggregate_daily, aggregate_session
from mismarterad.services.indicators.trailing_average import trailing_average

__all__ = ["SessionLoader"]

log = structlog.get_logger(component="session_loader")


class SessionLoader:
    """Reads session and history bars for one run's symbols, with a bounded day cache."""

    def __init__(self, data_manager: DataManager, time_manager: TimeManager, config: SessionConfig) -> None:
        self._dm = data_manager
        self._tm = time_manager
        self._config = config
        self._symbols = tuple(config.session_data_config.symbols)
        self._cache: dict[date, dict[str, list[Bar]]] = {}
        self._stored: set[tuple[str, str]] | None = None  # (symbol, interval) series in the store
        self._derived: dict[tuple[date, str, str], list[Bar]] = {}  # history bars built from 1m, by day
        history = config.session_data_config.historical
        self._max_trailing = max(
            [d.trailing_days for d in history.data]
            + [int(ind.period[:-1]) for ind in history.indicators.values()]
            + [0]
        )

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    def session_bars(self, day: date) -> dict[str, list[Bar]]:
        """The day's regular-session 1m bars per symbol (empty lists where the store has none)."""
        cached = self._cache.get(day)
        if cached is None:
            session = self._tm.get_trading_session(day)
            cached = {s: self._dm.get_session_bars(s, session) for s in self._symbols}
            self._cache[day] = cached
        return cached

    def fetch_missing(self, source: MarketDataSource, day: date, beat: Callable[[], None] = lambda: None) -> None:
        """Before a live session: import from `source` the 1m bars the store lacks for the
        trailing days `day` needs (a day with no bar of a symbol), and `day`'s own bars so far
        (the minutes that passed before the feed was subscribed). The file imports' checks apply;
        bad bars are dropped and logged. A failing source is logged: the session runs on what
        the store has (strategies then warm up on fewer bars)."""
        days = self._previous_days(day, self._max_trailing)
        for symbol in self._symbols:
            missing = [d for d in days if not self.session_bars(d)[symbol]]
            for start, end in ([(missing[0], missing[-1])] if missing else []) + [(day, day)]:
                beat()  # each fetch is bounded by the source's retry policy; the watchdog hears between
                try:
                    [report] = self._dm.import_from_api(source, [symbol], start, end, "1m", skip_bad_rows=True)
                except MismarteradError as exc:
                    log.error("history_fetch_failed", source=source.name, symbol=symbol, start=start.isoformat(),
                              end=end.isoformat(), error=str(exc))
                    continue
                log.info("history_fetched", source=source.name, symbol=symbol, start=start.isoformat(),
                         end=end.isoformat(), bars=report.rows_read, bad=len(report.problems))
        for d in [*days, day]:
            self._cache.pop(d, None)
        self._stored = None
        self._derived.clear()

    def prefetch(self, days: Sequence[date]) -> None:
        """Load these upcoming days now (queue loading ahead of streaming), one store read per
        symbol for all the days not cached yet."""
        missing = [self._tm.get_trading_session(d) for d in days if d not in self._cache]
        if not missing:
            return
        per_symbol = {s: self._dm.get_sessions_bars(s, missing) for s in self._symbols}
        for session in missing:
            self._cache[session.day] = {s: per_symbol[s][session.day] for s in self._symbols}

    def evict_before(self, day: date) -> None:
        """Drop cached days older than any history `day` can still need."""
        keep_from = day
        if self._max_trailing:
            keep_from = self._tm.get_previous_trading_date(day, self._max_trailing)
        for cached_day in [d for d in self._cache if d < keep_from]:
            del self._cache[cached_day]
        for key in [k for k in self._derived if k[0] < keep_from]:
            del self._derived[key]

    def load_history(self, day: date, session_data: SessionData) -> None:
        """Phase 2: trailing bars and historical indicators of every symbol, before `day` starts."""
        history = self._config.session_data_config.historical
        for entry in history.data:
            if entry.trailing_days == 0:
                continue
            days = self._previous_days(day, entry.trailing_days)
            symbols = self._symbols if entry.apply_to == "all" else tuple(entry.apply_to)
            for symbol in symbols:
                for interval in entry.intervals:
                    session_data.append_bars(self._history_bars(symbol, interval, days))
        for name, indicator in history.indicators.items():
            days = self._previous_days(day, int(indicator.period[:-1]))
            for symbol in self._symbols:
                daily = self._history_bars(symbol, "1d", days)
                values = [float(getattr(b, indicator.field)) for b in daily]
                average = trailing_average(values, len(days))[-1] if len(values) == len(days) and values else None
                session_data.set_historical_indicator(name, symbol, average)

    def _previous_days(self, day: date, count: int) -> list[date]:
        days, current = [], day
        for _ in range(count):
            current = self._tm.get_previous_trading_date(current)
            days.append(current)
        return sorted(days)

    def _is_stored(self, symbol: str, interval: str) -> bool:
        """Whether the store holds the series; listed once per run, as imports do not run meanwhile."""
        if self._stored is None:
            self._stored = {(s.symbol, s.interval) for s in self._dm.list_series()}
        return (symbol, interval) in self._stored

    def _history_bars(self, symbol: str, interval: str, days: Sequence[date]) -> list[Bar]:
        parsed = parse_interval(interval)
        out: list[Bar] = []
        for d in days:
            minute_bars = self.session_bars(d)[symbol]
            if parsed.name == "1m":
                out.extend(minute_bars)
            elif self._is_stored(symbol, parsed.name):
                out.extend(self._dm.get_bars(symbol, parsed.name, d, d))
            else:
                key = (d, symbol, parsed.name)
                built = self._derived.get(key)
                if built is None:
                    built = self._derived[key] = self._derive(minute_bars, parsed, d)
                out.extend(built)
        return out

    def _derive(self, minute_bars: list[Bar], interval: Interval, day: date) -> list[Bar]:
        session = self._tm.get_trading_session(day)
        if interval.daily:
            daily = aggregate_daily(minute_bars, session)
            return [] if daily is None else [daily]
        return aggregate_session(minute_bars, interval, session)
