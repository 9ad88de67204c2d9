"""The live feeds' gap filler and stop (integrations/bar_delivery.py), with a fake source: an
answer without the minute is final, a failing fetch is retried only inside the real-time hold,
and stopping never hangs."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mismarterad.core.clock import ReplayClock
from mismarterad.core.errors import DataError
from mismarterad.core.market_data import Bar
from mismarterad.integrations.bar_delivery import BarDelivery, FeedCounters, GapPolicy
from mismarterad.integrations.stream_watch import StreamWatch

T = datetime(2024, 3, 11, 14, 30, tzinfo=UTC)
GAP = T + timedelta(minutes=1)


class FakeSource:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[str, float]] = []

    def fetch_bars(self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime, *,
                   stop: threading.Event | None = None) -> Sequence[Bar]:
        self.calls.append((symbol, time.monotonic()))
        return self.answer(symbol, stop)


def _delivery(source: FakeSource, **policy: Any) -> tuple[BarDelivery, FeedCounters]:
    """A delivery whose thread is not started (the parts `_fill` and `stop` use)."""
    counters = FeedCounters()
    clock = ReplayClock(T + timedelta(minutes=3), 1.0)
    delivery = BarDelivery(("SPY",), lambda _bar: None, clock=clock, source=source, policy=GapPolicy(**policy),
                           counters=counters, watch=StreamWatch("data"), venue="Venue", auth_hint="check the keys")
    return delivery, counters


def _nothing(symbol: str, stop: Any) -> list[Bar]:
    return []


def _fail(symbol: str, stop: Any) -> list[Bar]:
    raise DataError("the venue at h did not answer (ReadTimeout)")


def test_an_answer_without_the_minute_is_final_and_adds_no_retry_wait() -> None:
    source = FakeSource(_nothing)
    delivery, counters = _delivery(source, max_retries=3, retry_interval_secs=1.0)
    started = time.monotonic()
    assert delivery._fill({"SPY": [GAP], "QQQ": [GAP]}) == []
    assert time.monotonic() - started < 0.5
    assert sorted(s for s, _ in source.calls) == ["QQQ", "SPY"]  # each asked once
    assert counters.stats().gaps_unfilled == 2


def test_a_found_minute_is_delivered() -> None:
    bar = Bar("SPY", "1m", GAP, 1, 1, 1, 1, 10)
    delivery, counters = _delivery(FakeSource(lambda symbol, stop: [bar]))
    assert delivery._fill({"SPY": [GAP]}) == [bar]
    assert counters.stats().gaps_filled == 1


def test_a_failing_fetch_is_retried_but_never_held_past_the_real_time_cap() -> None:
    source = FakeSource(_fail)
    delivery, counters = _delivery(source, max_retries=20, retry_interval_secs=0.2, max_hold_real_secs=0.6)
    started = time.monotonic()
    assert delivery._fill({"SPY": [GAP]}) == []
    assert time.monotonic() - started < 0.8
    assert len(source.calls) >= 2  # retried
    assert counters.stats().gaps_unfilled == 1


def test_a_stop_ends_the_symbol_loop_at_once() -> None:
    def stop_now(symbol: str, stop: Any) -> list[Bar]:
        assert stop is not None
        stop.set()
        raise DataError("interrupted")

    source = FakeSource(stop_now)
    delivery, _ = _delivery(source)
    delivery._fill({"AAA": [GAP], "BBB": [GAP], "CCC": [GAP]})
    assert len(source.calls) == 1


class _Stream:
    alive = True

    def drop_connection(self) -> None:
        pass

    def stop(self) -> None:
        pass


def test_stop_returns_even_if_the_delivery_thread_is_stuck() -> None:
    delivery, _ = _delivery(FakeSource(_nothing))
    stuck = threading.Event()
    delivery._thread = threading.Thread(target=lambda: stuck.wait(30), daemon=True)
    delivery._thread.start()
    delivery._stream = _Stream()
    stopper = threading.Thread(target=delivery.stop, daemon=True)
    stopper.start()
    stopper.join(8.0)
    stuck.set()
    assert not stopper.is_alive()
