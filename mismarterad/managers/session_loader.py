"""Loads what a session needs from the store, as columns: its streamed bars and its history.

Each trading day's regular-session 1m bars are read once (one store read per symbol for the
days read ahead) and kept as columns while they are inside the window [oldest history day,
last prefetched day], so today's bars become tomorrow's history without a second read; a day's
derived history (5m, 1d, ...) is built from them once, by grouping, and kept as long. Memory
therefore depends on `prefetch_days` and `trailing_days`, not on the length of the backtest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time

import numpy as np
import structlog

from mismarterad.config.session_config import SessionConfig
from mismarterad.core.errors import MismarteradError
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.market_data_source import MarketDataSource
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.session_data import SessionData
from mismarterad.managers.time_manager import TimeManager
from mismarterad.services.bar_columns import BarSeries, MinuteBlock, to_us
from mismarterad.services.derived_bars import aggregate_columns, aggregate_day
from mismarterad.services.indicators.trailing_average import trailing_average
from mismarterad.services.session_grid import SessionGrid, session_block

__all__ = ["SessionLoader"]

log = structlog.get_logger(component="session_loader")


class SessionLoader:
    """Reads session and history bars for one run's symbols, with a bounded day cache."""

    def __init__(self, data_manager: DataManager, time_manager: TimeManager, config: SessionConfig) -> None:
        self._dm = data_manager
        self._tm = time_manager
        self._config = config
        self._symbols = tuple(config.session_data_config.symbols)
        self._columns = tuple(sorted(self._symbols))  # a block's columns
        self._cache: dict[date, dict[str, BarSeries]] = {}
        self._stored: set[tuple[str, str]] | None = None  # (symbol, interval) series in the store
        self._derived: dict[tuple[date, str, str], BarSeries] = {}  # history built from 1m, by day
        history = config.session_data_config.historical
        self._max_trailing = max(
            [d.trailing_days for d in history.data]
            + [int(ind.period[:-1]) for ind in history.indicators.values()]
            + [0]
        )

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    def session_columns(self, day: date) -> dict[str, BarSeries]:
        """The day's regular-session 1m bars per symbol (empty where the store has none)."""
        cached = self._cache.get(day)
        if cached is None:
            self.prefetch([day])
            cached = self._cache[day]
        return cached

    def session_block(self, day: date) -> MinuteBlock:
        """The day's regular-session 1m bars of every symbol as one block (its steps)."""
        session = self._tm.get_trading_session(day)
        if session.regular_open is None or session.regular_close is None:
            raise ValueError(f"{day} is not a trading day")
        return session_block(self._columns, self.session_columns(day), session.regular_open, session.regular_close)

    def session_bars(self, day: date) -> dict[str, list[Bar]]:
        """The day's regular-session 1m bars per symbol as `Bar` objects (a live session's catch-up)."""
        return {s: series.bars() for s, series in self.session_columns(day).items()}

    def fetch_missing(self, source: MarketDataSource, day: date, beat: Callable[[], None] = lambda: None) -> None:
        """Before a live session: import from `source` the 1m bars the store lacks for the
        trailing days `day` needs (a day with no bar of a symbol), and `day`'s own bars so far
        (the minutes that passed before the feed was subscribed). The file imports' checks apply;
        bad bars are dropped and logged. A failing source is logged: the session runs on what
        the store has (strategies then warm up on fewer bars)."""
        days = self._previous_days(day, self._max_trailing)
        for symbol in self._symbols:
            missing = [d for d in days if not len(self.session_columns(d)[symbol])]
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
        per_symbol = {s: self._dm.get_sessions_columns(s, missing) for s in self._symbols}
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
                    bars = self._history_bars(symbol, interval, days)
                    if len(bars):
                        session_data.append(bars)
        for name, indicator in history.indicators.items():
            days = self._previous_days(day, int(indicator.period[:-1]))
            for symbol in self._symbols:
                daily = self._history_bars(symbol, "1d", days)
                values = getattr(daily, indicator.field).astype(np.float64).tolist()
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

    def _history_bars(self, symbol: str, interval: str, days: Sequence[date]) -> BarSeries:
        parsed = parse_interval(interval)
        parts: list[BarSeries] = []
        for d in days:
            minute_bars = self.session_columns(d)[symbol]
            if parsed.name == "1m":
                parts.append(minute_bars)
            elif self._is_stored(symbol, parsed.name):
                parts.append(BarSeries.from_bars(symbol, parsed.name, self._dm.get_bars(symbol, parsed.name, d, d)))
            else:
                key = (d, symbol, parsed.name)
                built = self._derived.get(key)
                if built is None:
                    built = self._derived[key] = self._derive(minute_bars, parsed.name, d)
                parts.append(built)
        return BarSeries.concat(symbol, parsed.name, parts)

    def _derive(self, minute_bars: BarSeries, interval: str, day: date) -> BarSeries:
        session = self._tm.get_trading_session(day)
        grid = SessionGrid.of(session)
        parsed = parse_interval(interval)
        if parsed.daily:
            assert session.regular_open is not None
            midnight = datetime.combine(session.day, time(0), tzinfo=session.regular_open.tzinfo)
            return aggregate_day(minute_bars, grid, to_us(midnight))
        return aggregate_columns(minute_bars, grid, parsed)
