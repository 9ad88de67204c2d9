"""The read model: writers publish frozen parts, readers get a value no later step changes."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest

from mismarterad.core.market_data import Bar
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


def test_the_last_price_is_the_close_of_the_bar_that_ended_last() -> None:
    t = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)

    def bar(symbol: str, interval: str, minutes: int, close: float) -> Bar:
        return Bar(symbol, interval, t + timedelta(minutes=minutes), close, close, close, close, 1)

    trading = TradingSnapshot(last_bars=(
        bar("AAPL", "1d", 0, 300.0),  # only a daily bar: its close
        bar("SPY", "1m", 9, 127.1), bar("SPY", "5m", 5, 127.2),  # both end at 09:40: the finer one
        bar("SPY", "15m", 0, 127.3),  # ended at 09:45, the newest
        bar("TSLA", "1d", 0, 20.0), bar("TSLA", "1m", 0, 21.0)))  # an intraday bar beats the day's
    assert trading.last_closes() == {"AAPL": 300.0, "SPY": 127.3, "TSLA": 21.0}
    assert dataclasses.replace(trading, last_bars=trading.last_bars[1:3]).last_closes() == {"SPY": 127.1}
