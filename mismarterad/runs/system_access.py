"""The design's `get_system_manager()`: the process's one SystemManager, for the top layer only.

The composition roots (`mismarterad run`, `mismarterad backtest`) build the SystemManager and
register it here; everything below receives what it needs as arguments and never looks it up
(import-linter keeps managers, threads and services from importing this module).
"""

from __future__ import annotations

import threading

from mismarterad.core.enums import SystemState
from mismarterad.core.errors import StateError
from mismarterad.managers.system_manager import SystemManager

__all__ = ["get_system_manager", "register_system_manager"]

_FINISHED = (SystemState.STOPPED, SystemState.ERROR)
_lock = threading.Lock()
_current: SystemManager | None = None


def register_system_manager(system: SystemManager) -> None:
    """Called by the composition root. A process has one live SystemManager: a new one may take
    the place of one that has stopped (successive backtests in one test process), never of one
    that still runs."""
    global _current
    with _lock:
        if _current is not None and _current is not system and _current.state not in _FINISHED:
            raise StateError(f"a SystemManager is already {_current.state.value} in this process (one per process)")
        _current = system


def get_system_manager() -> SystemManager:
    with _lock:
        if _current is None:
            raise StateError("no SystemManager has been built in this process yet")
        return _current
