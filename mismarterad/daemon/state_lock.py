"""One daemon per state directory: an exclusive `flock` on `<state>/mismarterad.lock`.

`mismarterad run` takes the lock before it touches the database, the reports or the socket,
and holds it for the life of the process (the kernel drops it when the process ends, however
it ends, so a `kill -9` never leaves a stale lock behind). The holder's pid is written into the
file ("PID running"), so a second daemon can say who is in the way, and a daemon that stops in
order rewrites it as "PID stopped": the next one knows whether its predecessor was stopped
(a deploy, `systemctl restart`) or died (the watchdog's SIGABRT, `kill -9`, a crash, the host
going down). The file is never removed: removing it would let a third process lock a new file
while the second still holds the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from mismarterad.core.errors import LockedError, StorageError

__all__ = ["LOCK_FILE", "StateLock", "acquire_state_lock"]

LOCK_FILE = "mismarterad.lock"
RUNNING, STOPPED = "running", "stopped"


class StateLock:
    """A held lock on a state directory; `release()` (or the process ending) lets it go."""

    def __init__(self, path: Path, fd: int, previous_unclean: bool = False) -> None:
        self.path = path
        self._fd: int | None = fd
        self.previous_unclean = previous_unclean  # the daemon before this one died instead of stopping

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

    def mark_stopped(self) -> None:
        """This daemon stopped in order: its successor is a restart, not a recovery from a death."""
        if self._fd is not None:
            _note(self._fd, STOPPED)

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
    previous = _read(fd).split()
    _note(fd, RUNNING)
    # an older daemon's note is the pid alone: not known to have died, so not counted as such
    return StateLock(path, fd, previous_unclean=previous[1:] == [RUNNING])


def _note(fd: int, state: str) -> None:
    with contextlib.suppress(OSError):  # disk full: the lock is held all the same, only the note is missing
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {state}\n".encode(), 0)


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 64, 0).decode("ascii", "replace")
    except OSError:
        return ""


def _holder(fd: int) -> str:
    pid = (_read(fd).split() or [""])[0]
    return f"pid {pid}" if pid.isdigit() else "pid unknown"
