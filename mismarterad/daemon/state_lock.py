"""One daemon per state directory: an exclusive `flock` on `<state>/mismarterad.lock`.

`mismarterad run` takes the lock before it touches the database, the reports or the socket,
and holds it for the life of the process (the kernel drops it when the process ends, however
it ends, so a `kill -9` never leaves a stale lock behind). The holder's pid is written into the
file, so a second daemon can say who is in the way. The file is never removed: removing it
would let a third process lock a new file while the second still holds the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from mismarterad.core.errors import LockedError, StorageError

__all__ = ["LOCK_FILE", "StateLock", "acquire_state_lock"]

LOCK_FILE = "mismarterad.lock"


class StateLock:
    """A held lock on a state directory; `release()` (or the process ending) lets it go."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def intact(self) -> bool:
        """Whether the lock file is still the one locked (the state directory was not removed or
        replaced under the running daemon: then nothing stops a second daemon from starting)."""
        if self._fd is None:
            return False
        try:
            return os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
        except OSError:
            return False

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StateLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def acquire_state_lock(state_dir: Path) -> StateLock:
    """Lock `state_dir` for this process, or raise LockedError naming the holder's pid
    (StorageError if the directory or the lock file cannot be created)."""
    path = state_dir / LOCK_FILE
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StorageError(f"{path}: cannot create the state directory lock: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise LockedError(f"state directory {state_dir} is in use by another mismarterad run "
                          f"({holder}, lock file {path}); stop it or give this one another state directory") from None
    except OSError as exc:
        os.close(fd)
        raise StorageError(f"{path}: cannot lock the state directory: {exc.strerror or exc}") from None
    with contextlib.suppress(OSError):  # disk full: the lock is held all the same, only the pid note is missing
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return StateLock(path, fd)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "pid unknown"
