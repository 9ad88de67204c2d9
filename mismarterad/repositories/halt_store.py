"""The operator's halt, kept in `<state_dir>/halt.json` so it survives restarts.

`HaltStore` writes a `HaltState` atomically (temp file in the same directory, fsync, rename,
fsync of the directory) and reads it back at start-up. Money safety decides every doubt: a file
that exists but cannot be read or parsed means HALTED (with the problem as the reason, logged as
an error), never "not halted"; only a missing file means trading may go on.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

import structlog

from mismarterad.core.durable_files import fsync_dir
from mismarterad.core.halt import MAX_REASON_CHARS, HaltState

__all__ = ["HALT_FILE", "HaltStore"]

log = structlog.get_logger(component="daemon")

HALT_FILE = "halt.json"
MAX_FILE_BYTES = 64 * 1024


class HaltStore:
    """`load()` at start-up, `save()` at each halt, `clear()` at resume. Writes raise OSError."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, now_utc: datetime) -> HaltState | None:
        """The saved halt; None if there is no file. Unreadable or corrupt: halted (logged)."""
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._unreadable(now_utc, f"cannot be read: {exc.strerror or exc}")
        if len(data) > MAX_FILE_BYTES:
            return self._unreadable(now_utc, f"is larger than {MAX_FILE_BYTES} bytes")
        try:
            state = HaltState.from_json(json.loads(data))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return self._unreadable(now_utc, f"is corrupt: {exc}")
        log.warning("halt_restored", since=state.since_utc.isoformat(), by=state.by, reason=state.reason,
                    flatten=state.flatten, path=str(self.path))
        return state

    def _unreadable(self, now_utc: datetime, problem: str) -> HaltState:
        reason = f"{self.path.name} {problem}; halted to be safe (resume after checking)"
        log.error("halt_file_unreadable", path=str(self.path), problem=problem, action="starting halted")
        return HaltState(now_utc, "daemon", reason[:MAX_REASON_CHARS], False)

    def save(self, state: HaltState) -> None:
        """Replace the file atomically: a crash leaves the old file or the new one, never half."""
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write((json.dumps(state.to_json(), indent=2) + "\n").encode())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_dir(directory)

    def clear(self) -> None:
        """Remove the file (resume); no file is fine."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(self.path.parent)
