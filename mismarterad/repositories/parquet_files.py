"""File helpers shared by the Parquet stores: atomic replacement, staged multi-file writes,
the cross-process writer lock, damaged-file detection, durable directories, UTC microsecond
timestamps and month partitions.

Every file is written with Parquet page checksums (CRC32) and read with their verification, so
a flipped bit in a data page is found at read time instead of becoming a wrong price.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import structlog

from mismarterad.core.durable_files import fsync_dir
from mismarterad.core.errors import LockedError, StorageError

__all__ = [
    "EPOCH",
    "LOCK_TIMEOUT_SECS",
    "DamagedFileError",
    "StagedFile",
    "atomic_write",
    "commit_staged",
    "discard_staged",
    "from_us",
    "keep_damaged_copy",
    "month_bounds",
    "month_name",
    "StoreWriteError",
    "read_parquet",
    "read_row_count",
    "stage_write",
    "subdirs",
    "to_us",
    "writer_lock",
]

log = structlog.get_logger(component="parquet_files")

#: how long a writer waits for another process's write of the same store before giving up
LOCK_TIMEOUT_SECS = 120.0

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


class DamagedFileError(StorageError):
    """A store file cannot be read (truncated, empty, a checksum or schema mismatch). The
    message names the file and what it holds (e.g. `SPY 1m 2011-01`). Commands exit 74."""

    def __init__(self, path: Path, what: str, reason: str) -> None:
        super().__init__(f"damaged store file {path} ({what}): {reason}; re-import that period "
                         f"or run `mismarterad data verify`")
        self.path, self.what, self.reason = path, what, reason


class StoreWriteError(StorageError, OSError):
    """Writing the store failed (disk full, read-only, permissions); nothing was changed.

    Also an OSError, for callers that already handled those. Commands exit 74."""


def read_parquet(path: Path, schema: pa.Schema, what: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Read a store file with page checksum verification; DamagedFileError if it is damaged.

    A missing file raises FileNotFoundError (a concurrent delete), not DamagedFileError.
    """
    try:
        with pa.OSFile(str(path)) as handle:  # an open file skips pyarrow's filesystem lookup
            parquet = pq.ParquetFile(handle, page_checksum_verification=True)
            if not parquet.schema_arrow.equals(schema):
                raise DamagedFileError(path, what, f"schema {parquet.schema_arrow} is not {schema}")
            return parquet.read(columns=list(columns) if columns is not None else None)
    except (FileNotFoundError, DamagedFileError):
        raise
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
        # pyarrow raises ArrowInvalid, OSError (ArrowIOError) or worse for damaged bytes
        raise DamagedFileError(path, what, _reason(exc)) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_row_count(path: Path, what: str) -> int:
    try:
        return int(pq.read_metadata(path).num_rows)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
        raise DamagedFileError(path, what, _reason(exc)) from None


def keep_damaged_copy(path: Path) -> Path:
    """Hard-link a damaged file to `<name>.damaged` (or `.damaged-N`) before it is replaced.

    The copy keeps the bytes for inspection; readers ignore it (not a period file name).
    """
    for n in range(1000):
        copy = path.with_name(f"{path.name}.damaged" + (f"-{n}" if n else ""))
        try:
            os.link(path, copy)
        except FileExistsError:
            continue
        except OSError as exc:
            raise StoreWriteError(f"cannot keep a copy of the damaged {path}: {exc.strerror or exc}; "
                                  "nothing was changed") from exc
        fsync_dir(path.parent)
        return copy
    raise StorageError(f"{path}: too many .damaged copies beside it; remove some")


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A new version of `path`, fully written and fsynced at `tmp`, not yet renamed in."""

    path: Path
    tmp: Path


def stage_write(path: Path, table: pa.Table) -> StagedFile:
    """Write `table` beside `path` as a hidden temp file; `commit_staged` renames it in."""
    try:
        _make_dirs(path.parent)
        # Hidden and not *.parquet: readers and pyarrow.dataset never pick up a temp file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as fh:
                pq.write_table(table, fh, write_page_checksum=True)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StoreWriteError(f"cannot write {path}: {exc.strerror or exc}; nothing was changed") from exc
    return StagedFile(path, tmp)


def discard_staged(staged: Sequence[StagedFile]) -> None:
    for item in staged:
        item.tmp.unlink(missing_ok=True)


def commit_staged(staged: Sequence[StagedFile]) -> None:
    """Rename every staged file into place, all or none (within this process).

    Old versions are hard-linked aside first; if a rename fails, the files already replaced
    get their old version back, the new ones are removed, and StorageError is raised. A crash
    (power loss, kill -9) between two renames can still leave some files new: writes are
    idempotent, so re-running the write completes it.
    """
    backups: list[tuple[Path, Path | None]] = []  # (path, its old version or None if new)
    done: list[Path] = []
    try:
        for item in staged:
            backup: Path | None = item.path.with_name(f".{item.path.name}.{uuid.uuid4().hex}.old")
            try:
                os.link(item.path, backup)  # type: ignore[arg-type]
            except FileNotFoundError:
                backup = None
            except OSError:  # a filesystem without hard links
                if item.path.exists():
                    shutil.copyfile(item.path, backup)  # type: ignore[arg-type]
                else:
                    backup = None
            backups.append((item.path, backup))
        for item in staged:
            os.replace(item.tmp, item.path)
            done.append(item.path)
    except OSError as exc:
        for path in done:
            old = dict(backups).get(path)
            if old is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(old, path)
        discard_staged(staged)
        for _, old in backups:
            if old is not None:
                old.unlink(missing_ok=True)
        failed = staged[len(done)].path if len(done) < len(staged) else staged[-1].path
        raise StoreWriteError(f"cannot write {failed}: {exc.strerror or exc}; nothing was changed") from exc
    for _, old in backups:
        if old is not None:
            old.unlink(missing_ok=True)
    for directory in dict.fromkeys(item.path.parent for item in staged):
        fsync_dir(directory)


def atomic_write(path: Path, table: pa.Table) -> None:
    """Replace `path` with `table`: readers see the old or the new file, never a part of one."""
    commit_staged([stage_write(path, table)])


_thread_locks: dict[Path, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextmanager
def writer_lock(lock_path: Path | str, timeout_secs: float | None = None) -> Iterator[None]:
    """Hold the store's writer lock: a thread lock in this process and `fcntl.flock` on
    `lock_path` across processes (released by the kernel if the holder dies). A path ending in
    `/` names a directory, locked itself (created if missing), so no lock file clutters it.

    Waits up to `timeout_secs` (default `LOCK_TIMEOUT_SECS`), then raises LockedError (exit 75).
    """
    is_dir = str(lock_path).endswith("/")
    lock_path = Path(lock_path)
    timeout = LOCK_TIMEOUT_SECS if timeout_secs is None else timeout_secs
    with _thread_locks_guard:
        local = _thread_locks.setdefault(lock_path, threading.Lock())
    deadline = time.monotonic() + timeout
    if not local.acquire(timeout=timeout):
        raise LockedError(f"{lock_path}: another writer of this store is still busy after {timeout:.0f} s")
    try:
        try:
            if is_dir:
                _make_dirs(lock_path)
                fd = os.open(lock_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            else:
                _make_dirs(lock_path.parent)
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open the store lock {lock_path}: {exc.strerror or exc}") from exc
        try:
            waited = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waited:
                        log.info("store_lock_wait", lock=str(lock_path))
                        waited = True
                    if time.monotonic() >= deadline:
                        raise LockedError(f"{lock_path}: another process is writing this store; still "
                                          f"locked after {timeout:.0f} s, try again") from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock
    finally:
        local.release()


def _make_dirs(directory: Path) -> None:
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        fsync_dir(d.parent)  # make the new entry durable before files appear in it
