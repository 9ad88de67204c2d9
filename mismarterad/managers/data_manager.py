"""DataManager: the facade over stored market data, imports and bar streams.

Stored intervals come back exactly as stored (extended hours included). Any other interval is
derived on the fly from stored 1-minute bars of each trading day's regular session, with the
window rules of `services/bar_aggregation.py`. Timestamps stay UTC in the values returned;
converting to market time is the caller's edge (CLI, reports) through TimeManager.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

import numpy as np
import structlog

from mismarterad.core.bar_store import BarStore, SeriesInfo, WriteResult
from mismarterad.core.calendar import TradingSession
from mismarterad.core.errors import StorageError
from mismarterad.core.intervals import Interval, parse_interval
from mismarterad.core.event_store import EventStore
from mismarterad.core.market_data import Bar, Quote, Tick
from mismarterad.core.market_data_source import MarketDataSource
from mismarterad.integrations.bar_files import open_bar_file
from mismarterad.managers.time_manager import TimeManager
from mismarterad.services.bar_aggregation import aggregate_daily, aggregate_session
from mismarterad.services.bar_columns import BarSeries, to_us
from mismarterad.services.bar_import import RowProblem, parse_rows, require_columns
from mismarterad.services.gap_detection import Gap, detect_gaps
from mismarterad.services.quality_scoring import Quality, score_quality

__all__ = ["DataManager", "DayQuality", "ImportReport"]

log = structlog.get_logger(component="data_manager")

BASE_INTERVAL = "1m"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: rows read, what was written, and every rejected row."""

    source: str
    symbol: str
    interval: str
    rows_read: int
    written: WriteResult | None  # None when the file was rejected as a whole
    problems: tuple[RowProblem, ...]

    @property
    def rejected_anything(self) -> bool:
        return bool(self.problems)


@dataclass(frozen=True, slots=True)
class DayQuality:
    """Completeness of one trading day's regular-session bars."""

    session: TradingSession
    quality: Quality
    gaps: tuple[Gap, ...]


class DataManager:
    """Market-data facade used by the CLI, the session threads and the daemon."""

    def __init__(self, store: BarStore, time_manager: TimeManager, events: EventStore) -> None:
        self._store = store
        self._time = time_manager
        self._events = events

    # -- reading ---------------------------------------------------------------------------

    def get_bars(self, symbol: str, interval: str, start: date, end: date) -> list[Bar]:
        """Bars of the market-local dates [start, end]: stored rows, or derived from 1m."""
        parsed = parse_interval(interval)
        if self.is_stored(symbol, parsed.name):
            return self._store.read_bars(symbol, parsed.name, *self._utc_range(start, end))
        return self.derive_bars(symbol, parsed, start, end)

    def derive_bars(self, symbol: str, interval: Interval, start: date, end: date) -> list[Bar]:
        """Bars of `interval` built from the regular-session 1m bars of each trading day."""
        out: list[Bar] = []
        for day in self._time.trading_days(start, end):
            session = self._time.get_trading_session(day)
            minute_bars = self.get_session_bars(symbol, session)
            if interval.daily:
                daily = aggregate_daily(minute_bars, session)
                if daily is not None:
                    out.append(daily)
            else:
                out.extend(aggregate_session(minute_bars, interval, session))
        return out

    def get_sessions_columns(self, symbol: str, sessions: Sequence[TradingSession]) -> dict[date, BarSeries]:
        """Stored 1m bars of several sessions' regular hours as columns, read in one pass over the store."""
        trading = [s for s in sessions if s.regular_open is not None and s.regular_close is not None]
        out = {s.day: BarSeries(symbol, BASE_INTERVAL) for s in sessions}
        if not trading:
            return out
        first = min(s.regular_open for s in trading)  # type: ignore[type-var]
        last = max(s.regular_close for s in trading)  # type: ignore[type-var]
        read = getattr(self._store, "read_columns", None)  # the Parquet store reads columns without objects
        if read is not None:
            series = read(symbol, BASE_INTERVAL, first, last)
        else:
            series = BarSeries.from_bars(symbol, BASE_INTERVAL, self._store.read_bars(symbol, BASE_INTERVAL, first, last))
        for s in trading:
            assert s.regular_open is not None and s.regular_close is not None
            lo, hi = np.searchsorted(series.start_us, [to_us(s.regular_open), to_us(s.regular_close)])
            out[s.day] = series.take(slice(int(lo), int(hi)))
        return out

    def get_session_bars(self, symbol: str, session: TradingSession) -> list[Bar]:
        """Stored 1m bars of one trading day's regular session (open <= start < close)."""
        if session.regular_open is None or session.regular_close is None:
            return []
        return self._store.read_bars(symbol, BASE_INTERVAL, session.regular_open, session.regular_close)

    def get_ticks(self, symbol: str, start: date, end: date) -> list[Tick]:
        """Stored trades of the market-local dates [start, end], in time order."""
        return self._events.read_ticks(symbol, *self._utc_range(start, end))

    def get_quotes(self, symbol: str, start: date, end: date) -> list[Quote]:
        """Stored quotes of the market-local dates [start, end], in time order."""
        return self._events.read_quotes(symbol, *self._utc_range(start, end))

    def store_ticks(self, symbol: str, ticks: Sequence[Tick]) -> int:
        """Store trades; the batch replaces what was stored in its time span."""
        return self._events.write_ticks(symbol, ticks)

    def store_quotes(self, symbol: str, quotes: Sequence[Quote]) -> int:
        return self._events.write_quotes(symbol, quotes)

    def _utc_range(self, start: date, end: date) -> tuple[datetime, datetime]:
        return (self._time.market_datetime(start, datetime.min.time()),
                self._time.market_datetime(end + timedelta(days=1), datetime.min.time()))

    def is_stored(self, symbol: str, interval: str) -> bool:
        return any(s.symbol == symbol and s.interval == interval for s in self._store.series())

    def list_series(self) -> list[SeriesInfo]:
        return sorted(self._store.series(), key=lambda s: (s.symbol, s.interval))

    def list_series_report(self) -> tuple[list[SeriesInfo], list[object]]:
        """The series from the readable files, and the damaged files found on the way (for a
        store that can tell; an in-memory store has none). `data list` flags them."""
        report = getattr(self._store, "series_report", None)
        if report is None:
            return self.list_series(), []
        series, damaged = report()
        return sorted(series, key=lambda s: (s.symbol, s.interval)), list(damaged)

    def verify_store(self) -> list[object]:
        """Every bad file of the store (read in full); empty for a sound or in-memory store."""
        verify = getattr(self._store, "verify", None)
        return [] if verify is None else list(verify())

    def check_readable(self, symbols: Sequence[str], start: date, end: date) -> None:
        """Read the stored 1m bars of `symbols` over the market-local dates [start, end] once,
        so that a damaged file stops a backtest before it starts (StorageError naming the file,
        exit 74) instead of failing a thread halfway."""
        lo, hi = self._utc_range(start, end)
        read = getattr(self._store, "read_table", self._store.read_bars)
        for symbol in symbols:
            read(symbol, BASE_INTERVAL, lo, hi)

    # -- quality ---------------------------------------------------------------------------

    def quality(self, symbol: str, start: date, end: date) -> list[DayQuality]:
        """Per trading day: expected bars (early closes respected), present, missing, gaps."""
        base = parse_interval(BASE_INTERVAL)
        out = []
        for day in self._time.trading_days(start, end):
            session = self._time.get_trading_session(day)
            bars = self.get_session_bars(symbol, session)
            out.append(
                DayQuality(session, score_quality(bars, session, base), tuple(detect_gaps(bars, session, base)))
            )
        return out

    # -- imports ---------------------------------------------------------------------------

    def import_file(
        self,
        path: Path,
        symbol: str,
        interval: str,
        timezone: tzinfo | None = None,
        skip_bad_rows: bool = False,
    ) -> ImportReport:
        """Validate a CSV/Parquet file and store its bars.

        By default one bad row rejects the whole file and nothing is written; with
        `skip_bad_rows` the good rows are written. Either way every bad row is reported.
        """
        parsed = parse_interval(interval)
        structural: list[RowProblem] = []
        clean = []
        try:
            bar_file = open_bar_file(path)
            require_columns(bar_file.columns)
            for line, row in bar_file.rows:
                if "__error__" in row:
                    structural.append(RowProblem(line, str(row["__error__"])))
                else:
                    clean.append((line, row))
        except OSError as exc:
            raise StorageError(f"{path}: cannot read: {exc.strerror or exc}") from None
        check = parse_rows(clean, symbol, parsed, timezone, self._today())
        problems = tuple(sorted((*structural, *check.problems), key=lambda p: p.line))
        rows_read = len(clean) + len(structural)
        if problems and not skip_bad_rows:
            log.warning("import_rejected", file=str(path), symbol=symbol, bad_rows=len(problems))
            return ImportReport(str(path), symbol, parsed.name, rows_read, None, problems)
        written = self._store.write_bars(symbol, parsed.name, check.bars)
        log.info("import_written", file=str(path), symbol=symbol, interval=parsed.name,
                 inserted=written.inserted, replaced=written.replaced, bad_rows=len(problems))
        return ImportReport(str(path), symbol, parsed.name, rows_read, written, problems)

    def _today(self) -> date:
        """Today's UTC date by the TimeManager's clock: imports accept bars up to tomorrow."""
        return self._time.clock.now().astimezone(UTC).date()

    def import_from_csv(self, path: Path, symbol: str, interval: str = BASE_INTERVAL,
                        timezone: tzinfo | None = None, skip_bad_rows: bool = False) -> ImportReport:
        """The design's name for `import_file`."""
        return self.import_file(path, symbol, interval, timezone, skip_bad_rows)

    def import_from_api(
        self, source: MarketDataSource, symbols: Sequence[str], start: date, end: date, interval: str = BASE_INTERVAL,
        skip_bad_rows: bool = False,
    ) -> list[ImportReport]:
        """Fetch bars of the market-local dates [start, end] from a source and store them, one
        report per symbol.

        Every fetched bar goes through the file imports' checks (numbers, ranges, conflicting
        duplicates, the interval grid in market time), plus: the symbol and interval asked for,
        a start inside the range. As with a file, one bad bar rejects that symbol's bars unless
        `skip_bad_rows`; a problem's `line` is the bar's position in the fetched series (from 1).
        """
        parsed = parse_interval(interval)
        start_utc, end_utc = self._utc_range(start, end)
        reports = []
        for symbol in symbols:
            bars = source.fetch_bars(symbol, parsed.name, start_utc, end_utc)
            foreign: list[RowProblem] = []
            rows = []
            for position, bar in enumerate(bars, 1):
                if (bar.symbol, bar.interval) != (symbol, parsed.name):
                    foreign.append(RowProblem(position, f"bar of {bar.symbol} {bar.interval}, asked for {symbol} "
                                                        f"{parsed.name}"))
                elif not start_utc <= bar.start_utc < end_utc:
                    foreign.append(RowProblem(position, f"bar at {bar.start_utc.isoformat()} is outside the range"))
                else:
                    rows.append((position, {"timestamp": bar.start_utc, "open": bar.open, "high": bar.high,
                                            "low": bar.low, "close": bar.close, "volume": bar.volume}))
            check = parse_rows(rows, symbol, parsed, self._time.timezone, self._today())
            problems = tuple(sorted((*foreign, *check.problems), key=lambda p: p.line))
            if problems and not skip_bad_rows:
                log.warning("import_rejected", source=source.name, symbol=symbol, bad_rows=len(problems))
                reports.append(ImportReport(source.name, symbol, parsed.name, len(bars), None, problems))
                continue
            written = self._store.write_bars(symbol, parsed.name, check.bars)
            log.info("import_written", source=source.name, symbol=symbol, interval=parsed.name,
                     inserted=written.inserted, replaced=written.replaced, bad_rows=len(problems))
            reports.append(ImportReport(source.name, symbol, parsed.name, len(bars), written, problems))
        return reports
