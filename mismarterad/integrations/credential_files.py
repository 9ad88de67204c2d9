"""Secret files of the venue and service adapters: `NAME=value` lines, readable by their owner only.

Blank lines and `#` comments are allowed, spaces around `=` are syntax, a value may be quoted,
and a CRLF line end counts as a line end. Errors name the file and line, never a value: a line
that is not `NAME=...` may be a secret pasted without its name.

A venue's key pair (`load_key_pair`) comes from two environment variables (read by us, once);
else the `credentials_file` its config table names, which must be private (mode 0600: no group
or other bits); else systemd's `$CREDENTIALS_DIRECTORY/<name>` (LoadCredential=), which systemd
makes private itself, so its mode is not checked. A value holding whitespace or a control
character (a trailing `\r` or space pasted with it) is refused, never stripped silently: an
HTTP library would otherwise fail with an error quoting the header value.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mismarterad.core.errors import ConfigError

__all__ = ["KeyPairSource", "is_clean", "load_key_pair", "read_named_values", "require_private"]


@dataclass(frozen=True, slots=True)
class KeyPairSource:
    """Where one venue's key pair is looked for: `service` and `table` name it in messages."""

    service: str  # "Alpaca"
    table: str  # the daemon config's table: "alpaca"
    names: tuple[str, str]  # the two variables / file keys, public one first
    systemd_name: str  # $CREDENTIALS_DIRECTORY/<systemd_name>


def load_key_pair(source: KeyPairSource, environ: Mapping[str, str], credentials_file: Path | None) -> tuple[str, str]:
    """The pair from the environment, `credentials_file`, or systemd's credentials directory, in
    that order; ConfigError (the daemon exits 78) when none has a complete, clean pair."""
    first, second = source.names
    values = environ.get(first, ""), environ.get(second, "")
    if any(values):
        return _pair(source, values, "the environment")
    if credentials_file is not None:
        require_private(credentials_file, source.service)
        return _from_file(source, credentials_file)
    directory = environ.get("CREDENTIALS_DIRECTORY", "")
    if directory:
        path = Path(directory) / source.systemd_name
        if path.exists():
            return _from_file(source, path)
    raise ConfigError(f"no {source.service} credentials: set {first} and {second} in the environment, name a "
                      f"credentials_file (mode 0600) in [{source.table}], or give the service a systemd credential "
                      f"'{source.systemd_name}' (LoadCredential=)")


def _pair(source: KeyPairSource, values: tuple[str, str], where: str,
          lines: Mapping[str, int] | None = None) -> tuple[str, str]:
    first, second = source.names
    missing = [name for name, value in zip(source.names, values, strict=True) if not value]
    if missing:
        raise ConfigError(f"{source.service} credentials in {where}: {' and '.join(missing)} is missing or empty "
                          f"(both {first} and {second} are needed)")
    for name, value in zip(source.names, values, strict=True):
        if not is_clean(value):
            at = f" line {lines[name]}" if lines and name in lines else ""
            raise ConfigError(f"{source.service} credentials in {where}{at}: {name} contains whitespace or a "
                              f"control character (a trailing newline, carriage return or space?): remove it")
    return values


def _from_file(source: KeyPairSource, path: Path) -> tuple[str, str]:
    values, lines = read_named_values(path, source.names, source.service)
    return _pair(source, (values.get(source.names[0], ""), values.get(source.names[1], "")), f"file {path}", lines)


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
