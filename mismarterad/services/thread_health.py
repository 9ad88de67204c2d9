"""Whether a day-run's threads make progress: the systemd watchdog pings only while they do."""

from __future__ import annotations

from collections.abc import Sequence

from mismarterad.core.read_model import ThreadSnapshot

__all__ = ["first_stalled"]


def first_stalled(threads: Sequence[ThreadSnapshot], now_monotonic: float, started_monotonic: float,
                  stall_secs: float) -> ThreadSnapshot | None:
    """The first thread that has died or not beaten for `stall_secs` (a thread that has not beaten
    yet counts from the day-run's start), or None when all make progress."""
    for thread in threads:
        silent = thread.silent_secs(now_monotonic)
        age = silent if silent is not None else now_monotonic - started_monotonic
        if not thread.alive or age > stall_secs:
            return thread
    return None
