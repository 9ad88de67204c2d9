"""`ParquetBarStore`: bars on disk as one Parquet file per (interval, symbol, period).

Layout (hive-style directories, so `pyarrow.dataset.dataset(root / "bars", partitioning="hive")`
also works for ad-hoc analysis)::

    root/bars/interval=1m/symbol=SPY/2011-01.parquet    intraday: one file per UTC month
    root/bars/interval=1d/symbol=SPY/2011.parquet       daily: one file per UTC year

Columns: start_utc timestamp[us, tz=UTC], open/high/low/close float64, volume int64, sorted
by start_utc and unique. Periods are UTC so the store needs no calendar; a reader of one
market day opens at most two files. Month beat day by a wide margin on whole-series reads and
imports (see `bench/bench_store_partitioning.py`) and costs little on one-day reads.

Durability and concurrency: a write stages the new version of every period file it touches
(temp file in the same directory, fsync), then renames them all in (`os.replace`, fsync of the
directory): readers see the old or the new file, never a half-written one, and a write that
fails (disk full, read-only directory, a failed rename) changes nothing, in any month. Only a
crash between two renames can leave some months new and others old; writes are idempotent, so
re-running the write completes it. Writers serialize on `bars/` (`fcntl.flock` of the directory,
across processes too, and released by the kernel if the holder dies) around read-merge-write; a writer
waits up to `LOCK_TIMEOUT_SECS`, then raises LockedError. Readers need no lock.

Damage: files are written with page checksums and read with their verification. A file that
cannot be read (truncated, empty, flipped bits, foreign schema) raises `DamagedFileError` naming
its path, symbol, interval and period, only for reads that need it; `series()` skips it and
`series_report()` / `verify()` name it. A write into a damaged period treats it as empty (logged
as a warning), keeps its bytes as `<period>.parquet.damaged` and replaces it.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import structlog

from mismarterad.core.durable_files import fsync_dir
from mismarterad.core.bar_store import (
    SeriesInfo,
    WriteResult,
    check_range,
    check_series_key,
    unique_bars,
)
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.services.bar_columns import BarSeries
from mismarterad.repositories.parquet_files import (
    EPOCH,
    DamagedFileError,
    StagedFile,
    commit_staged,
    discard_staged,
    from_us,
    keep_damaged_copy,
    month_bounds,
    read_parquet,
    read_row_count,
    stage_write,
    subdirs,
    to_us,
    writer_lock,
)

__all__ = ["BAR_SCHEMA", "DamagedFileError", "FileProblem", "ParquetBarStore"]

log = structlog.get_logger(component="parquet_bar_store")

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


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One bad file of the store: where, what it holds, why."""

    path: Path
    symbol: str
    interval: str
    period: str  # the file name without .parquet: 2011-01, or 2011 for daily
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.symbol} {self.interval} {self.period}: {self.reason}"


class ParquetBarStore:
    """A `BarStore` on the local filesystem; see the module docstring for layout and guarantees."""

    def __init__(self, root: Path) -> None:
        self._bars_dir = Path(root) / "bars"
        self._lock_path = f"{self._bars_dir}/"  # flock on the bars/ directory itself
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
        if not 1 <= year <= 9998:  # year 9999's end is not a datetime; never written (imports stop at tomorrow)
            return None
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
        with self._write_lock, writer_lock(self._lock_path):
            staged: list[StagedFile] = []
            damaged: list[Path] = []
            try:
                for name in sorted(groups):
                    path = directory / name
                    written, table, was_damaged = self._merge_partition(path, groups[name], symbol, interval)
                    result += written
                    if table is not None:
                        staged.append(stage_write(path, table))
                        if was_damaged:
                            damaged.append(path)
                for path in damaged:
                    log.warning("damaged_file_replaced", path=str(path), copy=str(keep_damaged_copy(path)))
            except BaseException:
                discard_staged(staged)
                raise
            commit_staged(staged)  # all months or none
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

    def read_columns(self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime) -> BarSeries:
        """Like `read_bars` as columns (`BarSeries`): no object per bar, for the session threads."""
        table = self.read_table(symbol, interval, start_utc, end_utc)
        return BarSeries(symbol, interval, *(_numpy(table.column(name), kind) for name, kind in (
            ("start_utc", np.int64), ("open", np.float64), ("high", np.float64), ("low", np.float64),
            ("close", np.float64), ("volume", np.int64))))

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
            return _empty_table()
        lo_us, hi_us = to_us(start_utc), to_us(end_utc)
        tables: list[pa.Table] = []
        for path, (first, end) in self._partitions(self._series_dir(symbol, interval)):
            if end <= start_utc or first >= end_utc:
                continue
            table = read_parquet(path, BAR_SCHEMA, self._what(symbol, interval, path))
            if first < start_utc or end > end_utc:  # rows are sorted: cut by position
                starts = _numpy(table.column("start_utc"), np.int64)
                lo, hi = np.searchsorted(starts, [lo_us, hi_us], side="left").tolist()
                table = table.slice(lo, hi - lo)
            tables.append(table)
        if not tables:
            return _empty_table()
        return pa.concat_tables(tables)

    def series(self) -> list[SeriesInfo]:
        """Every non-empty series; damaged files are left out (`series_report` names them)."""
        return self.series_report()[0]

    def series_report(self) -> tuple[list[SeriesInfo], list[FileProblem]]:
        """The series from their readable files, and the files found damaged on the way.

        Cheap: row counts from each file's footer, first and last bar from the edge files, so
        a file whose footer is fine but whose pages are damaged is found by `verify()` only.
        """
        out: list[SeriesInfo] = []
        problems: list[FileProblem] = []
        for symbol, interval, directory in self._series_dirs():
            rows = 0
            readable: list[Path] = []
            for path, _ in self._partitions(directory):
                try:
                    count = read_row_count(path, self._what(symbol, interval, path))
                except FileNotFoundError:
                    continue
                except DamagedFileError as exc:
                    problems.append(self._problem(symbol, interval, path, exc.reason))
                    continue
                if count:
                    rows += count
                    readable.append(path)
            first = self._edge(symbol, interval, readable, problems, last=False)
            last = self._edge(symbol, interval, readable[::-1], problems, last=True)
            if first is None or last is None:
                continue
            out.append(SeriesInfo(symbol, interval, first, last, rows))
        return sorted(out, key=lambda s: (s.symbol, s.interval)), problems

    def verify(self) -> list[FileProblem]:
        """Read every period file in full: readable (checksums verified), the bar schema, rows
        sorted and unique, inside the file's period, on the interval's minute grid, prices
        finite and positive with low <= open, close <= high, volume >= 0. Period-like file names
        that no write can produce are reported too."""
        problems: list[FileProblem] = []
        for symbol, interval, directory in self._series_dirs():
            try:
                names = sorted(os.listdir(directory))
            except FileNotFoundError:
                continue
            bounds = dict(self._partitions(directory))
            for name in names:
                path = directory / name
                if path not in bounds:
                    if _PERIOD.match(name):
                        problems.append(self._problem(symbol, interval, path, "not a valid period file name"))
                    continue
                try:
                    table = read_parquet(path, BAR_SCHEMA, self._what(symbol, interval, path))
                except FileNotFoundError:
                    continue
                except DamagedFileError as exc:
                    problems.append(self._problem(symbol, interval, path, exc.reason))
                    continue
                reason = _check_table(table, interval, bounds[path])
                if reason is not None:
                    problems.append(self._problem(symbol, interval, path, reason))
        return problems

    def delete_series(self, symbol: str, interval: str) -> int:
        """Remove the series; rename-then-delete, so readers see all of it or none of it.

        A read of the same series running at that moment may fail with FileNotFoundError.
        """
        check_series_key(symbol, interval)
        directory = self._series_dir(symbol, interval)
        with self._write_lock, writer_lock(self._lock_path):
            if not directory.is_dir():
                return 0
            rows = 0
            for path, _ in self._partitions(directory):
                with contextlib.suppress(DamagedFileError):  # deleted all the same, rows uncounted
                    rows += read_row_count(path, self._what(symbol, interval, path))
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

    def _what(self, symbol: str, interval: str, path: Path) -> str:
        return f"{symbol} {interval} {path.name.removesuffix('.parquet')}"

    def _problem(self, symbol: str, interval: str, path: Path, reason: str) -> FileProblem:
        return FileProblem(path, symbol, interval, path.name.removesuffix(".parquet"), reason)

    def _edge(self, symbol: str, interval: str, paths: list[Path], problems: list[FileProblem],
              last: bool) -> datetime | None:
        """First (or last) bar start of the first readable file of `paths`."""
        for path in paths:
            try:
                column = read_parquet(path, BAR_SCHEMA, self._what(symbol, interval, path), ["start_utc"]).column(0)
            except FileNotFoundError:
                continue
            except DamagedFileError as exc:
                if all(p.path != path for p in problems):
                    problems.append(self._problem(symbol, interval, path, exc.reason))
                continue
            if len(column):
                return from_us(column[-1] if last else column[0])
        return None

    def _merge_partition(self, path: Path, bars: list[Bar], symbol: str,
                         interval: str) -> tuple[WriteResult, pa.Table | None, bool]:
        """Merge `bars` into the period file: what changed, the new table (None if nothing
        did) and whether the existing file was damaged (then it counts as empty)."""
        rows: dict[int, _Row] = {}
        damaged = False
        try:
            old = read_parquet(path, BAR_SCHEMA, self._what(symbol, interval, path))
        except FileNotFoundError:
            old = None
        except DamagedFileError as exc:
            log.warning("damaged_file_ignored", path=str(path), reason=exc.reason,
                        action="merged as empty; a copy is kept as .damaged")
            old, damaged = None, True
        if old is not None:
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
        table = None
        if inserted or replaced or damaged:  # an identical re-write leaves a sound file untouched
            keys = sorted(rows)
            values = [rows[k] for k in keys]
            arrays = [pa.array(keys, _TS_TYPE)] + [
                pa.array([v[i] for v in values], BAR_SCHEMA.field(i + 1).type) for i in range(5)
            ]
            table = pa.Table.from_arrays(arrays, schema=BAR_SCHEMA)
        return WriteResult(inserted, replaced, unchanged), table, damaged


def _check_table(table: pa.Table, interval: str, bounds: tuple[datetime, datetime]) -> str | None:
    """Why a readable period table is wrong, or None."""
    if table.num_rows == 0:
        return "no rows"
    starts = table.column("start_utc").cast(pa.int64()).to_pylist()
    for i in range(1, len(starts)):
        if starts[i] <= starts[i - 1]:
            what = "repeated" if starts[i] == starts[i - 1] else "out of order"
            return f"row {i}: start {from_us(pa.scalar(starts[i]))} is {what}"
    lo, hi = to_us(bounds[0]), to_us(bounds[1])
    if starts[0] < lo or starts[-1] >= hi:
        return "rows outside the file's period"
    parsed = parse_interval(interval)
    step_us = 60_000_000 * (parsed.minutes if not parsed.daily and 60 % parsed.minutes == 0 else 1)
    # NY's UTC offsets are whole hours, so an N-minute grid (N dividing 60) is the same in UTC
    for i, us in enumerate(starts):
        if us % step_us:
            return f"row {i}: start {from_us(pa.scalar(us))} is not on the {interval} grid"
    o, h, lo_, c = (table.column(n).to_pylist() for n in ("open", "high", "low", "close"))
    volume = table.column("volume").to_pylist()
    for i in range(len(starts)):
        prices = (o[i], h[i], lo_[i], c[i])
        if any(p is None or not math.isfinite(p) or p <= 0 for p in prices) or volume[i] is None:
            return f"row {i}: a price is missing, not finite or not positive"
        if not (lo_[i] <= o[i] <= h[i] and lo_[i] <= c[i] <= h[i]) or volume[i] < 0:
            return f"row {i}: prices outside [low, high] or negative volume"
    return None


def _empty_table() -> pa.Table:
    """`BAR_SCHEMA.empty_table()`, which imports pandas, made from empty buffers instead."""
    return pa.Table.from_arrays([pa.Array.from_buffers(f.type, 0, [None, pa.py_buffer(b"")]) for f in BAR_SCHEMA],
                                schema=BAR_SCHEMA)


def _numpy(column: pa.ChunkedArray, kind: type[np.generic]) -> np.ndarray:
    """A column of the bar schema (fixed width, never null) as a numpy array, straight from its
    buffers: pyarrow's own `to_numpy` (and scalars made from Python values) import pandas, a
    second of start-up that a backtest does not need."""
    width = np.dtype(kind).itemsize
    parts = [np.frombuffer(chunk.buffers()[1], dtype=kind, count=len(chunk), offset=chunk.offset * width)
             for chunk in column.chunks]
    if not parts:
        return np.empty(0, dtype=kind)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
