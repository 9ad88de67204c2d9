"""DataManager bar streams on the store replay feed: bars arrive as the clock passes their end."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mismarterad.core.clock import ReplayClock
from mismarterad.core.errors import DataError
from mismarterad.core.market_data import Bar
from mismarterad.integrations.store_replay_feed import StoreReplayFeed
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from mismarterad.repositories.memory_event_store import MemoryEventStore

OPEN = datetime(2011, 1, 4, 9, 30, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def stored(minutes: int) -> MemoryBarStore:
    store = MemoryBarStore()
    for symbol in ("SPY", "QQQ"):
        store.write_bars(symbol, "1m", [Bar(symbol, "1m", OPEN + timedelta(minutes=i), 1, 2, 0.5, 1.5, 10)
                                        for i in range(minutes)])
    return store


def collect(dm: DataManager, feed: StoreReplayFeed, clock: ReplayClock, count: int,
            seen: list[tuple[Bar, datetime]]) -> str:
    done = threading.Event()

    def on_bar(bar: Bar) -> None:
        seen.append((bar, clock.now()))
        if len(seen) >= count:
            done.set()

    stream = dm.start_bar_stream(feed, ["SPY", "QQQ"], on_bar)
    assert done.wait(20), f"only {len(seen)} bars arrived"
    return stream


def test_bars_arrive_in_order_once_the_clock_passes_their_end(time_manager: TimeManager) -> None:
    clock = ReplayClock(OPEN, speed=600)  # a minute every 0.1 s
    store = stored(10)
    dm = DataManager(store, time_manager, MemoryEventStore())
    seen: list[tuple[Bar, datetime]] = []
    stream = collect(dm, StoreReplayFeed(store, clock), clock, 20, seen)
    assert dm.active_streams() == [stream]
    assert [(b.start_utc, b.symbol) for b, _ in seen] == sorted((b.start_utc, b.symbol) for b, _ in seen)
    for bar, at in seen:
        assert at >= bar.start_utc + timedelta(minutes=1), "a bar may only arrive after it has ended"
        assert at - (bar.start_utc + timedelta(minutes=1)) < timedelta(seconds=60)
    dm.stop_stream(stream)
    assert dm.active_streams() == []
    with pytest.raises(DataError, match="no stream"):
        dm.stop_stream(stream)


def test_stop_all_streams_and_a_failing_consumer(time_manager: TimeManager) -> None:
    clock = ReplayClock(OPEN, speed=600)
    store = stored(30)
    dm = DataManager(store, time_manager, MemoryEventStore())
    feed = StoreReplayFeed(store, clock)
    calls: list[Bar] = []

    def explode(bar: Bar) -> None:
        calls.append(bar)
        raise RuntimeError("consumer bug")

    dm.start_bar_stream(feed, ["SPY"], explode)
    quiet: list[Bar] = []
    dm.start_bar_stream(feed, ["QQQ"], quiet.append)
    deadline = time.monotonic() + 10
    while len(quiet) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(calls) == 1  # the failing subscription ended after its first bar
    assert dm.stop_all_streams() == 2
    delivered = len(quiet)
    time.sleep(0.3)
    assert len(quiet) == delivered, "nothing is delivered after stop"
