"""The read model: writers publish frozen parts, readers get a value no later step changes."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from mismarterad.core.read_model import QualitySnapshot, ReadModel, TradingSnapshot


def test_threads_are_listed_in_registration_order_and_report_their_beats() -> None:
    board = ReadModel()
    for name in ("A", "B"):
        board.register_thread(name)
    depth = iter(range(100))
    board.register_thread("B", lambda: next(depth))  # re-registering keeps the place
    board.thread_started("B")
    board.beat("B", items_processed=7)
    board.thread_extra("B", session_date="2011-01-04")
    a, b = board.snapshot().threads
    assert (a.name, a.alive, a.last_beat_monotonic) == ("A", False, None)
    assert (b.name, b.alive, b.items_processed, b.queue_depth) == ("B", True, 7, 0)
    assert dict(b.extra) == {"session_date": "2011-01-04"}
    assert b.silent_secs(b.last_beat_monotonic + 2.5) == pytest.approx(2.5)  # type: ignore[operator]
    board.thread_stopped("B")
    assert not board.snapshot().threads[1].alive


def test_a_taken_snapshot_never_changes_and_cannot_be_changed() -> None:
    board = ReadModel()
    board.publish_trading(TradingSnapshot(bars_processed=1))
    taken = board.snapshot()
    board.publish_trading(TradingSnapshot(bars_processed=2))
    board.publish_quality(QualitySnapshot((("SPY", 50.0),), (("SPY", 1),)))
    assert taken.trading.bars_processed == 1 and taken.quality.quality_pct == ()
    assert board.snapshot().trading.bars_processed == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        taken.trading.bars_processed = 3  # type: ignore[misc]


def test_readers_on_other_threads_see_whole_snapshots_only() -> None:
    board = ReadModel()
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            board.publish_trading(TradingSnapshot(bars_processed=n, sessions_done=n))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(20_000):
            t = board.snapshot().trading
            assert t.bars_processed == t.sessions_done
    finally:
        stop.set()
        thread.join()
