"""SystemManager: one per process, built by the composition root and passed down.

It owns the system state (STOPPED → STARTING → RUNNING → STOPPING → STOPPED, or ERROR with
the reason), the managers, and the running pipeline. `start(config, build)` validates the
config, calls `build` (the composition root's wiring of the four threads, run here under the
STARTING state), starts the pipeline and hands it back to the caller, who reads its results
and its read model; this module never imports the threads. Nothing below the top layer looks
a SystemManager up globally.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import structlog

from mismarterad.config.session_config import SessionConfig, load_session_config
from mismarterad.core.enums import OperationMode, SystemState
from mismarterad.core.errors import ConfigError, StateError
from mismarterad.core.pipeline import Pipeline
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.time_manager import TimeManager

__all__ = ["SystemManager"]

log = structlog.get_logger(component="system_manager")

P = TypeVar("P", bound=Pipeline)

_STOP_TIMEOUT_SECS = 10.0


class SystemManager:
    """Lifecycle and state of the trading system."""

    def __init__(self, time_manager: TimeManager, data_manager: DataManager) -> None:
        self._time = time_manager
        self._data = data_manager
        self._lock = threading.RLock()
        self._state = SystemState.STOPPED
        self._error: str | None = None
        self._config: SessionConfig | None = None
        self._pipeline: Pipeline | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def state(self) -> SystemState:
        with self._lock:
            self._observe_pipeline()
            return self._state

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def mode(self) -> OperationMode:
        return OperationMode.BACKTEST if self._time.mode == "backtest" else OperationMode.LIVE

    @property
    def session_config(self) -> SessionConfig | None:
        return self._config

    def get_time_manager(self) -> TimeManager:
        return self._time

    def get_data_manager(self) -> DataManager:
        return self._data

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, config: SessionConfig | Path | str, build: Callable[[SessionConfig, Path], P]) -> P:
        """Validate the config, build the pipeline (`build(config, config_dir)`), start its
        threads and return it. A ConfigError leaves the system STOPPED; any other failure ERROR."""
        with self._lock:
            self._observe_pipeline()
            if self._state in (SystemState.STARTING, SystemState.RUNNING, SystemState.STOPPING):
                raise StateError(f"cannot start: the system is {self._state.value}; stop it first")
            self._transition(SystemState.STARTING)
            try:
                if isinstance(config, SessionConfig):
                    cfg, config_dir = config, Path.cwd()
                else:
                    cfg, config_dir = load_session_config(config), Path(config).resolve().parent
                pipeline = build(cfg, config_dir)
                pipeline.start()
            except BaseException as exc:
                self._error = str(exc)
                self._transition(SystemState.STOPPED if isinstance(exc, ConfigError) else SystemState.ERROR)
                raise
            self._config, self._pipeline, self._error = cfg, pipeline, None
            self._transition(SystemState.RUNNING)
            return pipeline

    def stop(self, timeout_secs: float = _STOP_TIMEOUT_SECS) -> None:
        """Ask the threads to stop and wait for them (at most `timeout_secs`)."""
        with self._lock:
            if self._state is SystemState.STOPPED:
                raise StateError("cannot stop: the system is already STOPPED")
            pipeline = self._pipeline
            self._transition(SystemState.STOPPING)
        if pipeline is not None:
            pipeline.request_stop()
            if not pipeline.join(timeout_secs):
                with self._lock:
                    self._error = f"threads still running {timeout_secs:.0f} s after the stop request"
                    self._transition(SystemState.ERROR)
                return
        with self._lock:
            failed = pipeline.error() if pipeline is not None else None
            self._error = failed
            self._transition(SystemState.ERROR if failed else SystemState.STOPPED)

    def wait(self, timeout_secs: float | None = None) -> SystemState:
        """Block until the running pipeline finishes by itself (a backtest), then settle the state."""
        pipeline = self._pipeline
        if pipeline is None:
            return self.state
        pipeline.join(timeout_secs if timeout_secs is not None else 1e9)
        return self.state

    # -- internals -------------------------------------------------------------------------

    def _observe_pipeline(self) -> None:
        """A pipeline that finished or failed by itself moves RUNNING to STOPPED or ERROR."""
        if self._state is SystemState.RUNNING and self._pipeline is not None and self._pipeline.finished():
            failed = self._pipeline.error()
            self._error = failed
            self._transition(SystemState.ERROR if failed else SystemState.STOPPED)

    def _transition(self, new: SystemState) -> None:
        if new is not self._state:
            log.info("system_state_changed", old=self._state.value, new=new.value, error=self._error)
            self._state = new
