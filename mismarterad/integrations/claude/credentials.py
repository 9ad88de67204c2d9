"""The Anthropic API key: where it comes from, and that it never shows.

Order: `ANTHROPIC_API_KEY` in the environment; else the `credentials_file` of `[claude]`
(an `ANTHROPIC_API_KEY=...` line, mode 0600); else systemd's `$CREDENTIALS_DIRECTORY/anthropic`
(LoadCredential=), whose file may hold the bare key or the same line. The key is passed to the
SDK explicitly, so it never goes looking for profiles or other files of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mismarterad.core.errors import ConfigError
from mismarterad.integrations.credential_files import is_clean, read_named_values, require_private

__all__ = ["KEY_VAR", "AnthropicKey", "load_anthropic_key"]

KEY_VAR = "ANTHROPIC_API_KEY"
SYSTEMD_CREDENTIAL_NAME = "anthropic"


@dataclass(frozen=True, slots=True)
class AnthropicKey:
    """`repr`/`str` never show the key."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "AnthropicKey(***)"

    __str__ = __repr__


def load_anthropic_key(environ: Mapping[str, str], credentials_file: Path | None) -> AnthropicKey:
    """ConfigError (exit 78) naming where it looked when no usable key is found."""
    if environ.get(KEY_VAR):
        return _checked(environ[KEY_VAR], "the environment")
    if credentials_file is not None:
        require_private(credentials_file, "Claude")
        return _from_file(credentials_file)
    directory = environ.get("CREDENTIALS_DIRECTORY", "")
    if directory and (path := Path(directory) / SYSTEMD_CREDENTIAL_NAME).exists():
        try:
            bare = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Claude credentials file {path}: cannot read it ({type(exc).__name__})") from None
        return _checked(bare, f"file {path}") if "=" not in bare else _from_file(path)
    raise ConfigError(f"no Anthropic API key: set {KEY_VAR}, name a credentials_file (mode 0600) in [claude], "
                      f"or give the service a systemd credential '{SYSTEMD_CREDENTIAL_NAME}' (LoadCredential=)")


def _from_file(path: Path) -> AnthropicKey:
    values, lines = read_named_values(path, (KEY_VAR,), "Claude")
    if not values.get(KEY_VAR):
        raise ConfigError(f"Claude credentials file {path}: {KEY_VAR} is missing or empty")
    return _checked(values[KEY_VAR], f"file {path} line {lines[KEY_VAR]}")


def _checked(value: str, where: str) -> AnthropicKey:
    if not is_clean(value):
        raise ConfigError(f"{KEY_VAR} in {where} contains whitespace or a control character "
                          f"(a trailing newline, carriage return or space?): remove it")
    return AnthropicKey(value)
