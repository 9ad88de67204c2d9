"""Ticks and quotes on disk, one Parquet file per symbol and UTC month, like the bar store::

    root/ticks/symbol=SPY/2023-05.parquet     ts_utc, price, size
    root/quotes/symbol=SPY/2023-05.parquet    ts_utc, bid, bid_size, ask, ask_size

Rows are sorted by ts_utc (ties keep their written order). A write replaces the batch's time
span in every month it touches (see `core/event_store.py`): all its months are staged, then
renamed in, so a failed write changes nothing. Writers serialize on `ticks/` or `quotes/`
(`fcntl.flock` of the directory, across processes). A damaged month file raises
`DamagedFileError` naming it for reads that need it; a write over it treats it as empty
(warning logged) and keeps its bytes as `<month>.parquet.damaged`, like the bar store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import structlog

from mismarterad.core.bar_store import check_range, check_series_key
from mismarterad.core.event_store import E, EventKind, check_events
from mismarterad.core.market_data import Quote, Tick
from mismarterad.repositories.parquet_files import (
    EPOCH,
    DamagedFileError,
    StagedFile,
    commit_staged,
    discard_staged,
    keep_damaged_copy,
    month_bounds,
    month_name,
    read_parquet,
    stage_write,
    to_us,
    writer_lock,
)

log = structlog.get_logger(component="parquet_event_store")

__all__ = ["QUOTE_SCHEMA", "TICK_SCHEMA", "ParquetEventStore"]

_TS = pa.timestamp("us", tz="UTC")
TICK_SCHEMA = pa.schema([("ts_utc", _TS), ("price", pa.float64()), ("size", pa.int64())])
QUOTE_SCHEMA = pa.schema([("ts_utc", _TS), ("bid", pa.float64()), ("bid_size", pa.int64()), ("ask", pa.float64()),
                          ("ask_size", pa.int64())])
_SCHEMAS = {"ticks": TICK_SCHEMA, "quotes": QUOTE_SCHEMA}
_FIELDS = {"ticks": ("price", "size"), "quotes": ("bid", "bid_size", "ask", "ask_size")}


class ParquetEventStore:
    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._lock = threading.Lock()

    def write_ticks(self, symbol: str, ticks: Sequence[Tick]) -> int:
        return self._write("ticks", symbol, ticks)

    def read_ticks(self, symbol: str, start_utc: datetime, end_utc: datetime) -> list[Tick]:
        return self._read("ticks", symbol, start_utc, end_utc, lambda ts, p, s: Tick(symbol, ts, p, s))

    def write_quotes(self, symbol: str, quotes: Sequence[Quote]) -> int:
        return self._write("quotes", symbol, quotes)

    def read_quotes(self, symbol: str, start_utc: datetime, end_utc: datetime) -> list[Quote]:
        return self._read("quotes", symbol, start_utc, end_utc,
                          lambda ts, b, bs, a, as_: Quote(symbol, ts, b, bs, a, as_))

    # -- internals -------------------------------------------------------------------------

    def _dir(self, kind: EventKind, symbol: str) -> Path:
        return self._root / kind / f"symbol={symbol}"

    def _write(self, kind: EventKind, symbol: str, events: Sequence[E]) -> int:
        batch = check_events(symbol, events)
        if not batch:
            return 0
        first, last = to_us(batch[0].ts_utc), to_us(batch[-1].ts_utc)
        months: dict[str, list[E]] = {}
        for event in batch:
            months.setdefault(month_name(event.ts_utc.astimezone(UTC)), []).append(event)
        name_first, name_last = month_name(batch[0].ts_utc.astimezone(UTC)), month_name(batch[-1].ts_utc.astimezone(UTC))
        with self._lock, writer_lock(f"{self._root / kind}/"):
            staged: list[StagedFile] = []
            try:
                for name in _months_between(name_first, name_last):
                    path = self._dir(kind, symbol) / name
                    try:
                        kept = _load(path, kind, symbol)
                    except DamagedFileError as exc:
                        log.warning("damaged_file_replaced", path=str(path), reason=exc.reason,
                                    copy=str(keep_damaged_copy(path)))
                        kept = None
                    if kept is not None:
                        ts = kept.column("ts_utc").cast(pa.int64())
                        kept = kept.filter(pc.or_(pc.less(ts, first), pc.greater(ts, last)))
                    new = _table(kind, months.get(name, []))
                    merged = new if kept is None else pa.concat_tables([kept, new])
                    order = pc.sort_indices(merged, sort_keys=[("ts_utc", "ascending")])  # stable
                    staged.append(stage_write(path, merged.take(order)))
            except BaseException:
                discard_staged(staged)
                raise
            commit_staged(staged)
        return len(batch)

    def _read(self, kind: EventKind, symbol: str, start_utc: datetime, end_utc: datetime,
              make: Callable[..., Any]) -> list[Any]:
        check_series_key(symbol, "1m")
        check_range(start_utc, end_utc)
        if start_utc >= end_utc:
            return []
        lo, hi = to_us(start_utc), to_us(end_utc)
        out: list[Any] = []
        start_name = month_name(start_utc.astimezone(UTC))
        end_name = month_name(end_utc.astimezone(UTC))
        for name in _months_between(start_name, end_name):
            table = _load(self._dir(kind, symbol) / name, kind, symbol)
            if table is None:
                continue
            ts = table.column("ts_utc").cast(pa.int64())
            table = table.filter(pc.and_(pc.greater_equal(ts, lo), pc.less(ts, hi)))
            columns = [table.column("ts_utc").cast(pa.int64()).to_pylist()]
            columns += [table.column(f).to_pylist() for f in _FIELDS[kind]]
            out += [make(EPOCH + timedelta(microseconds=row[0]), *row[1:]) for row in zip(*columns, strict=True)]
        return out


def _load(path: Path, kind: EventKind, symbol: str) -> pa.Table | None:
    try:
        return read_parquet(path, _SCHEMAS[kind], f"{symbol} {kind} {path.name.removesuffix('.parquet')}")
    except FileNotFoundError:
        return None


def _table(kind: EventKind, events: Sequence[Any]) -> pa.Table:
    schema = _SCHEMAS[kind]
    arrays = [pa.array([to_us(e.ts_utc) for e in events], pa.int64()).cast(_TS)]
    arrays += [pa.array([getattr(e, f) for e in events], schema.field(f).type) for f in _FIELDS[kind]]
    return pa.Table.from_arrays(arrays, schema=schema)


def _months_between(first: str, last: str) -> list[str]:
    """Month file names from `first` to `last` inclusive (names are YYYY-MM.parquet)."""
    year, month = int(first[:4]), int(first[5:7])
    names = []
    while True:
        name = f"{year:04d}-{month:02d}.parquet"
        names.append(name)
        if name >= last:
            return names
        _, end = month_bounds(year, month)
        year, month = end.year, end.month
