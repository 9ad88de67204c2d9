"""The daemon's configuration as one checked value: its TOML and the session config it names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mismarterad.config.daemon_config import DaemonConfig, load_daemon_config
from mismarterad.config.session_config import SessionConfig, load_session_config
from mismarterad.core.errors import ConfigError
from mismarterad.runs.strategy_loading import resolve_strategies

__all__ = ["LoadedConfig", "load_config"]


@dataclass(frozen=True)
class LoadedConfig:
    """A daemon config with its session config, both validated (strategies resolved)."""

    path: Path
    daemon: DaemonConfig
    session: SessionConfig


def load_config(path: Path) -> LoadedConfig:
    """Read and check everything a start or a reload needs; raise ConfigError naming each problem."""
    daemon = load_daemon_config(path)
    session = load_session_config(daemon.session_config)
    try:
        resolve_strategies(session, daemon.session_config.parent)  # unknown strategy/params: ConfigError now
    except ConfigError as exc:  # named by the file they are in (config check of a daemon TOML prints it)
        raise ConfigError(exc.problems, source=str(daemon.session_config)) from None
    if daemon.broker != "paper" and session.flatten_minutes_before_close == 0:
        raise ConfigError([f"flatten_minutes_before_close: must be at least 1 with broker = \"{daemon.broker}\" (a "
                           "venue rejects market-on-close orders after 15:50, so positions are closed by market "
                           "orders N minutes before the close; 10 is a usual value)"], source=str(daemon.session_config))
    return LoadedConfig(path, daemon, session)
