"""One real-time budget per broker operation, shared by everything the calling thread does in it.

`operation_budget(secs)` gives the calling thread a deadline for everything inside it (nested
budgets keep the earlier deadline): each request made in it times out after min(its own
timeout, what is left), retries and waits end with it, and `remaining_secs()` tells them what
is left. A broker's public operation must end inside the daemon's watchdog (10 s), whatever the
venue does; the adapters' HTTP sessions read the budget (alpaca/rest.py, schwab/transport.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["operation_budget", "operation_deadline", "remaining_secs"]

_budget = threading.local()


@contextmanager
def operation_budget(secs: float) -> Iterator[float]:
    """A real-time deadline of `secs` from now for this thread's requests (the earlier one if
    a budget is already running); yields the deadline (time.monotonic())."""
    outer: float | None = getattr(_budget, "deadline", None)
    deadline = time.monotonic() + secs
    if outer is not None:
        deadline = min(deadline, outer)
    _budget.deadline = deadline
    try:
        yield deadline
    finally:
        _budget.deadline = outer


def operation_deadline() -> float | None:
    """The running budget's deadline (time.monotonic()), None outside any."""
    return getattr(_budget, "deadline", None)


def remaining_secs() -> float:
    """Real seconds left of the running budget (inf outside any); never negative."""
    deadline = operation_deadline()
    return float("inf") if deadline is None else max(0.0, deadline - time.monotonic())
