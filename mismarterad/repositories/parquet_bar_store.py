"""`ParquetBarStore`: bars on disk as one Parquet file per (interval, symbol, period).

Layout (hive-style directories, so `pyarrow.dataset.dataset(root / "bars", partitioning="hive")`
also works for ad-hoc analysis)::

    root/bars/interval=1m/symbol=SPY/2011-01.parquet    intraday: one file per UTC month
    root/bars/interval=1d/symbol=SPY/2011.parquet       daily: one file per UTC year

Columns: start_utc timestamp[us, tz=UTC], open/high/low/close float64, volume int64, sorted
by start_utc and unique. Periods are UTC so the store needs no calendar; a reader of one
market day opens at most two files. Month beat day by a wide margin on whole-series reads and
imports (see `bench/bench_store_partitioning.py`) and costs little on one-day reads.

Durability and concurrency: every file is replaced atomically (temp file in the same directory,
fsync, `os.replace`, fsync of the directory), so a reader sees the old or the new file, never a
half-written one, and a crash leaves the old file. A write spanning several periods is atomic
per file, not as a whole; since writes are idempotent, re-running an interrupted write repairs
it. One writer at a time per root: writes in this process are serialized by a lock, and the
daemon's DataManager must be the only writer across processes. Readers need no lock.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mismarterad.core.bar_store import (
    SeriesInfo,
    WriteResult,
    check_range,
    check_series_key,
    unique_bars,
)
from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_files import (
    EPOCH,
    atomic_write,
    fsync_dir,
    from_us,
    month_bounds,
    subdirs,
    to_us,
)

__all__ = ["BAR_SCHEMA", "ParquetBarStore"]

BAR_SCHEMA = pa.schema(
    [
        ("start_utc", pa.timestamp("us", tz="UTC")),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.int64()),
    ]
)
_TS_TYPE = BAR_SCHEMA.field("start_utc").type
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?\.parquet$")

_Row = tuple[float, float, float, float, int]


class ParquetBarStore:
    """A `BarStore` on the local filesystem; see the module docstring for layout and guarantees."""

    def __init__(self, root: Path) -> None:
        self._bars_dir = Path(root) / "bars"
        self._write_lock = threading.Lock()
        # directory -> (its mtime when listed, its partitions); a write or another process's
        # import renames a file into the directory, which changes the mtime and the listing
        self._listings: dict[Path, tuple[int, list[tuple[Path, tuple[datetime, datetime]]]]] = {}

    # --- layout hooks (the partitioning benchmark overrides these two) ---

    def _partition_name(self, interval: str, start_utc: datetime) -> str:
        if interval == "1d":
            return f"{start_utc.year:04d}.parquet"
        return f"{start_utc.year:04d}-{start_utc.month:02d}.parquet"

    def _partition_bounds(self, name: str) -> tuple[datetime, datetime] | None:
        match = _PERIOD.match(name)
        if match is None:
            return None
        year = int(match.group(1))
        if match.group(2) is None:
            return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        month = int(match.group(2))
        if not 1 <= month <= 12:
            return None
        return month_bounds(year, month)

    # --- BarStore ---

    def write_bars(self, symbol: str, interval: str, bars: Sequence[Bar]) -> WriteResult:
        batch = unique_bars(symbol, interval, bars)
        groups: dict[str, list[Bar]] = {}
        for ts, bar in batch.items():
            groups.setdefault(self._partition_name(interval, ts), []).append(bar)
        directory = self._series_dir(symbol, interval)
        result = WriteResult(0, 0, 0)
        with self._write_lock:
            for name in sorted(groups):
                result += self._merge_partition(directory / name, groups[name])
        return result

    def read_bars(
        self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime
    ) -> list[Bar]:
        table = self.read_table(symbol, interval, start_utc, end_utc)
        starts = table.column("start_utc").cast(pa.int64()).to_pylist()
        cols = [table.column(n).to_pylist() for n in ("open", "high", "low", "close", "volume")]
        return [
            Bar(symbol, interval, EPOCH + timedelta(microseconds=us), o, h, lo, c, v)
            for us, o, h, lo, c, v in zip(starts, *cols, strict=True)
        ]

    def read_table(
        self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime
    ) -> pa.Table:
        """Like `read_bars` but columnar (`BAR_SCHEMA`), for bulk consumers such as backtests.

        Opens only the period files overlapping [start_utc, end_utc); filters rows in the two
        edge files only.
        """
        check_series_key(symbol, interval)
        check_range(start_utc, end_utc)
        if start_utc >= end_utc:
            return BAR_SCHEMA.empty_table()
        lo_us, hi_us = to_us(start_utc), to_us(end_utc)
        tables: list[pa.Table] = []
        for path, (first, end) in self._partitions(self._series_dir(symbol, interval)):
            if end <= start_utc or first >= end_utc:
                continue
            with pa.OSFile(str(path)) as handle:  # an open file skips pyarrow's filesystem lookup
                table = pq.read_table(handle, schema=BAR_SCHEMA)
            if first < start_utc or end > end_utc:
                col = table.column("start_utc")
                mask = pc.and_(
                    pc.greater_equal(col, pa.scalar(lo_us, _TS_TYPE)),
                    pc.less(col, pa.scalar(hi_us, _TS_TYPE)),
                )
                table = table.filter(mask)
            tables.append(table)
        if not tables:
            return BAR_SCHEMA.empty_table()
        return pa.concat_tables(tables)

    def series(self) -> list[SeriesInfo]:
        out: list[SeriesInfo] = []
        for symbol, interval, directory in self._series_dirs():
            parts = [path for path, _ in self._partitions(directory)]
            if not parts:
                continue
            rows = sum(pq.read_metadata(p).num_rows for p in parts)
            first = pq.read_table(parts[0], columns=["start_utc"]).column(0)
            last = pq.read_table(parts[-1], columns=["start_utc"]).column(0)
            out.append(
                SeriesInfo(symbol, interval, from_us(first[0]), from_us(last[-1]), rows)
            )
        return sorted(out, key=lambda s: (s.symbol, s.interval))

    def delete_series(self, symbol: str, interval: str) -> int:
        """Remove the series; rename-then-delete, so readers see all of it or none of it.

        A read of the same series running at that moment may fail with FileNotFoundError.
        """
        check_series_key(symbol, interval)
        directory = self._series_dir(symbol, interval)
        with self._write_lock:
            if not directory.is_dir():
                return 0
            rows = sum(pq.read_metadata(p).num_rows for p, _ in self._partitions(directory))
            doomed = directory.with_name(f".deleting-{directory.name}-{uuid.uuid4().hex}")
            os.replace(directory, doomed)
            fsync_dir(directory.parent)
            shutil.rmtree(doomed)
        return rows

    # --- internals ---

    def _series_dir(self, symbol: str, interval: str) -> Path:
        return self._bars_dir / f"interval={interval}" / f"symbol={symbol}"

    def _series_dirs(self) -> Iterator[tuple[str, str, Path]]:
        for interval_dir in subdirs(self._bars_dir, "interval="):
            for symbol_dir in subdirs(interval_dir, "symbol="):
                symbol, interval = symbol_dir.name[7:], interval_dir.name[9:]
                try:
                    check_series_key(symbol, interval)
                except ValueError:
                    continue  # not ours; never guess what a foreign directory holds
                yield symbol, interval, symbol_dir

    def _partitions(self, directory: Path) -> list[tuple[Path, tuple[datetime, datetime]]]:
        """Period files of one series in time order; temp and foreign files are skipped."""
        try:
            mtime = os.stat(directory).st_mtime_ns
        except FileNotFoundError:
            return []
        cached = self._listings.get(directory)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        found: list[tuple[Path, tuple[datetime, datetime]]] = []
        for name in os.listdir(directory):
            bounds = self._partition_bounds(name)
            if bounds is not None:
                found.append((directory / name, bounds))
        found.sort(key=lambda item: item[1][0])
        self._listings[directory] = (mtime, found)
        return found

    def _merge_partition(self, path: Path, bars: list[Bar]) -> WriteResult:
        rows: dict[int, _Row] = {}
        if path.exists():
            old = pq.read_table(path, schema=BAR_SCHEMA)
            starts = old.column("start_utc").cast(pa.int64()).to_pylist()
            cols = [old.column(n).to_pylist() for n in ("open", "high", "low", "close", "volume")]
            rows = dict(zip(starts, zip(*cols, strict=True), strict=True))
        inserted = replaced = unchanged = 0
        for bar in bars:
            key = to_us(bar.start_utc)
            row = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            previous = rows.get(key)
            if previous is None:
                inserted += 1
            elif previous == row:
                unchanged += 1
                continue
            else:
                replaced += 1
            rows[key] = row
        if inserted or replaced:  # an identical re-write leaves the file untouched
            keys = sorted(rows)
            values = [rows[k] for k in keys]
            arrays = [pa.array(keys, _TS_TYPE)] + [
                pa.array([v[i] for v in values], BAR_SCHEMA.field(i + 1).type) for i in range(5)
            ]
            atomic_write(path, pa.Table.from_arrays(arrays, schema=BAR_SCHEMA))
        return WriteResult(inserted, replaced, unchanged)
