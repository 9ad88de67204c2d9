"""File helpers shared by the Parquet stores: atomic replacement, durable directories, UTC
microsecond timestamps and month partitions."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["EPOCH", "atomic_write", "from_us", "fsync_dir", "month_bounds", "month_name", "subdirs", "to_us"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(ts: datetime) -> int:
    return (ts - EPOCH) // _ONE_US


def from_us(value: pa.Scalar) -> datetime:
    return EPOCH + timedelta(microseconds=value.cast(pa.int64()).as_py())


def month_name(ts: datetime) -> str:
    """The partition file of the UTC month holding `ts`."""
    return f"{ts.year:04d}-{ts.month:02d}.parquet"


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return datetime(year, month, 1, tzinfo=UTC), end


def subdirs(directory: Path, prefix: str) -> list[Path]:
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    return [Path(e.path) for e in entries if e.name.startswith(prefix) and e.is_dir()]


def atomic_write(path: Path, table: pa.Table) -> None:
    """Replace `path` with `table`: readers see the old or the new file, never a part of one."""
    _make_dirs(path.parent)
    # Hidden and not *.parquet: readers and pyarrow.dataset never pick up a temp file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _make_dirs(directory: Path) -> None:
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        fsync_dir(d.parent)  # make the new entry durable before files appear in it


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
