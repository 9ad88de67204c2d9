"""Watch a real backtest from outside the ExecutionManager: a check runs after every step the
engine walks in full (every step at which an order, a fill or a position can change; the steps
in between only move prices) and after each session's close."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.threads.analysis_engine import AnalysisEngine
from mismarterad.threads.engine_blocks import BlockWalkingMixin

__all__ = ["at_every_step"]


@contextmanager
def at_every_step(check: Callable[[ExecutionManager, datetime], None]) -> Iterator[list[int]]:
    """Run `check(execution, step_end_utc)` after each step walked in full and each session's
    close; yields [checks run]."""
    original_step, original_end = BlockWalkingMixin._full_step, AnalysisEngine._end
    checked = [0]

    def full_step(self: Any, *args: Any) -> int:
        out = original_step(self, *args)
        check(self.execution, self.step_end)
        checked[0] += 1
        return out

    def end(self: Any, *args: Any) -> None:
        original_end(self, *args)
        check(self.execution, self.step_end)
        checked[0] += 1

    BlockWalkingMixin._full_step = full_step  # type: ignore[method-assign]
    AnalysisEngine._end = end  # type: ignore[method-assign]
    try:
        yield checked
    finally:
        BlockWalkingMixin._full_step = original_step  # type: ignore[method-assign]
        AnalysisEngine._end = original_end  # type: ignore[method-assign]
