"""The watchdog's rule: every thread alive and beating within the stall limit."""

from __future__ import annotations

from mismarterad.core.read_model import ThreadSnapshot
from mismarterad.services.thread_health import first_stalled


def thread(name: str, alive: bool = True, beat: float | None = 100.0) -> ThreadSnapshot:
    return ThreadSnapshot(name, alive, beat, 0, 0)


def test_all_beating_is_healthy_and_the_limit_is_exclusive() -> None:
    assert first_stalled([thread("A"), thread("B", beat=90.0)], 100.0, 0.0, 10.0) is None


def test_a_dead_or_silent_thread_is_named() -> None:
    assert first_stalled([thread("A"), thread("B", alive=False)], 100.0, 0.0, 10.0).name == "B"  # type: ignore[union-attr]
    assert first_stalled([thread("A", beat=89.9), thread("B")], 100.0, 0.0, 10.0).name == "A"  # type: ignore[union-attr]


def test_a_thread_that_never_beat_counts_from_the_day_runs_start() -> None:
    assert first_stalled([thread("A", beat=None)], 100.0, 95.0, 10.0) is None
    assert first_stalled([thread("A", beat=None)], 100.0, 80.0, 10.0) is not None
