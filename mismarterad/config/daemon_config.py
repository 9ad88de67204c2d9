"""The daemon's own TOML config (`mismarterad run --config FILE`).

It names the session config to run every trading day, the broker (its `[alpaca]`, `[schwab]` or
`[paper]` table), where the control socket and metrics listen, the `[claude]` review, the `[api]` REST API
and web console, and how long before the open / after the close a session runs. Every bad key is
reported with its name; `database_url` and `data_dir` override the global settings.
"""

from __future__ import annotations

import grp
import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from mismarterad.config.alpaca_config import AlpacaConfig
from mismarterad.config.api_config import ApiConfig, api_problems, check_host_port, split_host_port
from mismarterad.config.bounds import FiniteFloat
from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.config.errors import format_validation_error
from mismarterad.config.paper_config import PaperConfig
from mismarterad.config.risk_config import RiskConfig
from mismarterad.config.schwab_config import SchwabConfig
from mismarterad.core.errors import ConfigError

__all__ = ["DaemonConfig", "load_daemon_config"]


class DaemonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session_config: Path = Field(description="session config (JSON) run every trading day; relative to this file")
    broker: Literal["paper", "alpaca", "schwab"] = Field(default="paper", description='"paper", "alpaca" or "schwab"')
    alpaca: AlpacaConfig = Field(default_factory=AlpacaConfig, description="the Alpaca account (broker = alpaca)")
    schwab: SchwabConfig | None = Field(default=None, description="the Schwab account (broker = schwab)")
    paper: PaperConfig = Field(default_factory=PaperConfig, description="the paper account (broker = paper)")
    socket_path: Path | None = Field(default=None, description="default: $RUNTIME_DIRECTORY or $XDG_RUNTIME_DIR")
    socket_group: str | None = Field(default=None, description="group whose members may use the socket")
    metrics_address: str = "127.0.0.1:9108"
    lead_minutes: int = Field(default=30, ge=0, le=600)
    lag_minutes: int = Field(default=5, ge=0, le=600)
    max_session_restarts: int = Field(default=3, ge=0, le=20)
    restart_backoff_seconds: FiniteFloat = Field(default=5.0, gt=0, le=3600,
                                                 description="seconds, more than 0 and at most 3600")
    on_shutdown: Literal["flatten", "cancel", "leave"] = Field(
        default="flatten", description="open orders and positions when the daemon stops mid-session")
    risk: RiskConfig = Field(default_factory=RiskConfig, description="the account's pre-trade limits")
    reconcile_policy: Literal["adopt", "halt"] = Field(
        default="halt", description='what a difference with the broker does: "halt" (wait for an operator) or "adopt"')
    reconcile_every_minutes: int = Field(default=5, ge=1, le=390,
                                         description="minutes of session time between reconciliations")
    claude: ClaudeConfig | None = Field(default=None, description="the session review and ask (integrations/claude)")
    api: ApiConfig | None = Field(default=None, description="the REST API and web console (none without the table)")
    database_url: SecretStr | None = None
    data_dir: Path | None = None

    @field_validator("metrics_address")
    @classmethod
    def _address(cls, value: str) -> str:
        return check_host_port(value, "127.0.0.1:9108")

    @field_validator("socket_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                grp.getgrnam(value)
            except KeyError:
                raise ValueError(f"no such group {value!r}") from None
        return value

    @property
    def metrics_host_port(self) -> tuple[str, int]:
        return split_host_port(self.metrics_address)


def _usable_path(value: Path) -> bool:
    try:
        encoded = os.fsencode(value)
    except UnicodeEncodeError:
        return False
    return b"\0" not in encoded and len(encoded) <= 4096 and all(len(p) <= 255 for p in encoded.split(b"/"))


def load_daemon_config(path: Path) -> DaemonConfig:
    """Read and validate the daemon's TOML; raise ConfigError naming every bad key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: byte at offset {exc.start} (expected a UTF-8 TOML file)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    if "daily_loss_limit" in raw:
        raise ConfigError(["daily_loss_limit: moved to the [risk] table (write it under [risk])"], source=str(path))
    try:
        config = DaemonConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc), source=str(path)) from exc
    problems = [f"{name}: invalid path {str(value)[:80]!r} (a NUL byte or an over-long name)"
                for name in ("session_config", "socket_path", "data_dir")
                if (value := getattr(config, name)) is not None and not _usable_path(value)]
    if config.broker == "schwab" and config.schwab is None:
        problems.append('schwab: broker = "schwab" needs a [schwab] table with account_number')
    if problems:
        raise ConfigError(problems, source=str(path))
    session_config = config.session_config
    if not session_config.is_absolute():
        session_config = (path.parent / session_config).resolve()
    data_dir = config.data_dir
    if data_dir is not None and not data_dir.is_absolute():
        raise ConfigError(["data_dir: must be an absolute path"], source=str(path))
    return config.model_copy(update={"session_config": session_config, "api": _check_api(config.api, path)})


def _check_api(api: ApiConfig | None, path: Path) -> ApiConfig | None:
    """The table's cross-key rules; the TLS files resolved against the config's folder and
    checked readable now, not at the first request."""
    if api is None:
        return None
    if problems := api_problems(api):
        raise ConfigError(problems, source=str(path))
    if api.tls_cert is None or api.tls_key is None:
        return api
    files = {name: (f if f.is_absolute() else (path.parent / f).resolve())
             for name, f in (("tls_cert", api.tls_cert), ("tls_key", api.tls_key))}
    problems = []
    for name, file in files.items():
        try:
            with file.open("rb"):
                pass
        except OSError as exc:
            problems.append(f"api.{name}: cannot read {file}: {exc.strerror or exc}")
    if problems:
        raise ConfigError(problems, source=str(path))
    return api.model_copy(update=files)
