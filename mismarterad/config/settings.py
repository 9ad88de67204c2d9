"""Global settings: where the database, data and state live, and how to log.

Sources, strongest first: the caller's overrides (the daemon config's `database_url` and
`data_dir`), `MISMARTERAD_*` environment variables, systemd's credential
`$CREDENTIALS_DIRECTORY/database_url` (LoadCredential=, the database URL only, read as a
file), then an optional TOML file (`MISMARTERAD_SETTINGS`, else
`$XDG_CONFIG_HOME/mismarterad/settings.toml` if it exists). A value a person wrote for this
run wins over what the unit hands over, as for the Alpaca and Anthropic keys
(docs/decisions.md). Directories default to XDG locations (systemd's `$STATE_DIRECTORY` wins
for state), never the current directory. Session configs (what to trade) are separate: see
`session_config.py`; where `mismarterad run` finds the daemon's config: `daemon_config_path`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mismarterad.config.errors import format_validation_error
from mismarterad.core.errors import ConfigError

__all__ = [
    "DATABASE_URL_CREDENTIAL",
    "DEFAULT_DAEMON_CONFIG",
    "Settings",
    "credential_database_url",
    "daemon_config_path",
    "default_data_dir",
    "default_state_dir",
    "load_settings",
    "settings_file",
]

DATABASE_URL_CREDENTIAL = "database_url"  # LoadCredential=database_url:FILE
DEFAULT_DAEMON_CONFIG = "mismarterad.toml"  # in systemd's ConfigurationDirectory=


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/mismarterad`, else `~/.local/share/mismarterad`."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "mismarterad"


def default_state_dir() -> Path:
    """systemd's `$STATE_DIRECTORY`, else `$XDG_STATE_HOME/mismarterad`, else `~/.local/state/...`."""
    systemd_dir = os.environ.get("STATE_DIRECTORY")
    if systemd_dir:
        return Path(systemd_dir.split(":")[0])
    return _xdg("XDG_STATE_HOME", ".local/state") / "mismarterad"


def settings_file() -> Path | None:
    """The TOML settings file in force, if any."""
    explicit = os.environ.get("MISMARTERAD_SETTINGS")
    if explicit:
        return Path(explicit)
    candidate = _xdg("XDG_CONFIG_HOME", ".config") / "mismarterad" / "settings.toml"
    return candidate if candidate.is_file() else None


def _systemd_dir(var: str, environ: Mapping[str, str]) -> Path | None:
    """The first directory of a systemd directory variable (a colon-separated list), if set."""
    value = environ.get(var, "").split(":")[0]
    return Path(value) if value else None


def daemon_config_path(given: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The daemon config `mismarterad run` reads. An absolute `given` as it is; a relative one
    against systemd's `$CONFIGURATION_DIRECTORY` (ConfigurationDirectory=) when set, else the
    current directory; none given: `$CONFIGURATION_DIRECTORY/mismarterad.toml`, or None
    outside systemd (the caller asks for --config)."""
    config_dir = _systemd_dir("CONFIGURATION_DIRECTORY", os.environ if environ is None else environ)
    if given is None:
        return config_dir / DEFAULT_DAEMON_CONFIG if config_dir is not None else None
    given = given.expanduser()
    return config_dir / given if config_dir is not None and not given.is_absolute() else given


def credential_database_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The database URL systemd hands over as the credential `database_url`, or None when there is
    none. The file holds the URL alone (surrounding whitespace and the final newline are
    dropped); an unreadable, empty or multi-word file is a ConfigError naming the file, never
    its content."""
    directory = _systemd_dir("CREDENTIALS_DIRECTORY", os.environ if environ is None else environ)
    if directory is None:
        return None
    path = directory / DATABASE_URL_CREDENTIAL
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"database_url credential {path}: cannot read it ({reason})") from None
    url = text.strip()
    if not url:
        raise ConfigError(f"database_url credential {path}: the file is empty (expected the database URL)")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ConfigError(f"database_url credential {path}: expected one URL on one line, found whitespace or "
                          "control characters inside it")
    return url


class _CredentialSource(PydanticBaseSettingsSource):
    """`database_url` from systemd's credentials directory (LoadCredential=), read only when no
    stronger source (the daemon config, the environment) set it: a shadowed credential is never
    used, so a broken one must not stop the start."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if self.current_state.get("database_url") is not None:
            return {}
        url = credential_database_url()
        return {"database_url": url} if url is not None else {}


class Settings(BaseSettings):
    """Process-wide settings; frozen once loaded."""

    model_config = SettingsConfigDict(
        env_prefix="MISMARTERAD_", extra="forbid", frozen=True, env_ignore_empty=True
    )

    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the state directory"
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    state_dir: Path = Field(default_factory=default_state_dir)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("data_dir", "state_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        value = value.expanduser()
        if not value.is_absolute():
            raise ValueError(f"must be an absolute path, got {str(value)!r}")
        return value

    @property
    def database_url_value(self) -> str:
        """The URL to connect with (the default SQLite file if none was configured)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.state_dir / 'mismarterad.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, _CredentialSource(settings_cls)]
        path = settings_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Load and validate settings; raise ConfigError naming every bad key."""
    path = settings_file()
    if path is not None and not path.is_file():
        raise ConfigError(f"settings file {path} does not exist (MISMARTERAD_SETTINGS)")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc), source=str(path or "settings")) from exc
    except ValueError as exc:  # TOML syntax errors surface as ValueError subclasses
        raise ConfigError(str(exc), source=str(path)) from exc
