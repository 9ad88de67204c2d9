"""Watch a real backtest from outside the ExecutionManager: a check runs at every step's mark."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from mismarterad.managers.execution_manager import ExecutionManager

__all__ = ["at_every_step"]


@contextmanager
def at_every_step(check: Callable[[ExecutionManager, datetime], None]) -> Iterator[list[int]]:
    """Run `check(execution, step_end_utc)` before each step is marked; yields [steps checked]."""
    original = ExecutionManager.mark
    checked = [0]

    def mark(self: ExecutionManager, step_end_utc: datetime):  # type: ignore[no-untyped-def]
        check(self, step_end_utc)
        checked[0] += 1
        return original(self, step_end_utc)

    ExecutionManager.mark = mark  # type: ignore[method-assign]
    try:
        yield checked
    finally:
        ExecutionManager.mark = original  # type: ignore[method-assign]
