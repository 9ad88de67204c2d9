"""System-wide states and modes."""

from __future__ import annotations

import enum

__all__ = ["OperationMode", "SystemState"]


class SystemState(enum.StrEnum):
    """SystemManager lifecycle: STOPPED -> STARTING -> RUNNING -> STOPPING -> STOPPED, or ERROR."""

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    ERROR = "ERROR"


class OperationMode(enum.StrEnum):
    BACKTEST = "backtest"
    LIVE = "live"
