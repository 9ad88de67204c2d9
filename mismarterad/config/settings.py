"""Global settings: where the database, data and state live, and how to log.

Sources, strongest first: `MISMARTERAD_*` environment variables, then an optional TOML file
(`MISMARTERAD_SETTINGS`, else `$XDG_CONFIG_HOME/mismarterad/settings.toml` if it exists).
Directories default to XDG locations (systemd's `$STATE_DIRECTORY` wins for state), never the
current directory. Session configs (what to trade) are separate: see `session_config.py`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mismarterad.config.errors import format_validation_error
from mismarterad.core.errors import ConfigError

__all__ = ["Settings", "default_data_dir", "default_state_dir", "load_settings", "settings_file"]


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
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
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
