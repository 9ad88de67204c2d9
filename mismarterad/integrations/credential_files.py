"""Secret files of the venue and service adapters: `NAME=value` lines, readable by their owner only.

Blank lines and `#` comments are allowed, spaces around `=` are syntax, a value may be quoted,
and a CRLF line end counts as a line end. Errors name the file and line, never a value: a line
that is not `NAME=...` may be a secret pasted without its name.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

from mismarterad.core.errors import ConfigError

__all__ = ["is_clean", "read_named_values", "require_private"]


def is_clean(value: str) -> bool:
    """No whitespace and nothing unprintable anywhere in `value` (a pasted trailing newline, say)."""
    return all(c.isprintable() and not c.isspace() for c in value)


def require_private(path: Path, service: str) -> None:
    """ConfigError unless `path` is readable and has no group or other permission bits."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"{service} credentials_file {path}: cannot read it ({exc.strerror or type(exc).__name__})")\
            from None
    if mode & 0o077:
        raise ConfigError(f"{service} credentials_file {path} has mode {mode:04o}, which lets other users read it: "
                          f"0600 is expected (chmod 600 {path})")


def read_named_values(path: Path, names: Sequence[str], service: str) -> tuple[dict[str, str], dict[str, int]]:
    """The values of `names` in the file, and the line each came from."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"{service} credentials file {path}: cannot read it ({reason})") from None
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")  # a CRLF line end
        if not raw.strip() or raw.strip().startswith("#"):
            continue
        name, sep, value = raw.partition("=")
        name = name.strip()
        if not sep or name not in names:
            expected = " or ".join(f"{n}=..." for n in names)
            raise ConfigError(f"{service} credentials file {path} line {number}: expected {expected}")
        value = value.lstrip(" ")  # `NAME = value`: the spaces after `=` are syntax
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name], lines[name] = value, number
    return values, lines
