"""Files written so that a crash leaves the old or the new content, never half: small state
files replaced whole or appended to, and directory entries made durable.

`replace_file` writes a temporary file in the same directory with the final mode, fsyncs it,
renames it over the old one and fsyncs the directory: a crash leaves the old or the new file,
never half of one. `append_line` adds one line and fsyncs it: a crash can leave at most a
torn last line, which readers skip.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

__all__ = ["append_line", "fsync_dir", "replace_file"]


def replace_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Atomically make `path` hold `data` with permission bits `mode`; OSError as raised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of this thread's own: two threads replacing one file never write the same temporary
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # the umask does not loosen or narrow it
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def append_line(path: Path, line: str, mode: int = 0o600) -> None:
    """Append `line` (a newline is added) and fsync it; OSError as raised.

    A line is whole or absent: a write that fails part-way (a full disk) is cut back off before
    the error is raised, and a torn last line left by a crash (no newline) is ended before this
    one, so the next line never fuses with a fragment into one unreadable line that a reader
    skips whole (for an order ledger: an order sent, read back as never sent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, mode)
    try:
        size = os.fstat(fd).st_size
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        rest = memoryview((("\n" if torn else "") + line + "\n").encode())
        try:
            while rest:  # a write may take part of the line (a full disk); the rest follows or raises
                rest = rest[os.write(fd, rest):]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make `directory`'s entries (a file renamed or created in it) survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
