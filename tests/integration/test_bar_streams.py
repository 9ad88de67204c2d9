"""DataManager bar streams: subscriptions on a feed by id (the feed's own behaviour, order,
stop, failing consumers, is `tests/contract/test_bar_feed_contract.py`)."""

from __future__ import annotations

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


def wait_for(predicate, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_streams_are_started_listed_and_stopped_by_id(time_manager: TimeManager) -> None:
    clock = ReplayClock(OPEN, speed=600)  # a minute every 0.1 s
    store = stored(10)
    dm = DataManager(store, time_manager, MemoryEventStore())
    seen: list[Bar] = []
    stream = dm.start_bar_stream(StoreReplayFeed(store, clock), ["SPY", "QQQ"], seen.append)
    assert stream.startswith("store-replay-") and dm.active_streams() == [stream]
    wait_for(lambda: len(seen) >= 4)
    dm.stop_stream(stream)
    assert dm.active_streams() == []
    with pytest.raises(DataError, match="no stream"):
        dm.stop_stream(stream)


def test_stop_all_streams_stops_every_subscription_even_one_that_ended_by_itself(
        time_manager: TimeManager) -> None:
    clock = ReplayClock(OPEN, speed=600)
    store = stored(30)
    dm = DataManager(store, time_manager, MemoryEventStore())
    feed = StoreReplayFeed(store, clock)

    def explode(bar: Bar) -> None:
        raise RuntimeError("consumer bug")

    dm.start_bar_stream(feed, ["SPY"], explode)
    quiet: list[Bar] = []
    dm.start_bar_stream(feed, ["QQQ"], quiet.append)
    wait_for(lambda: len(quiet) >= 3)
    assert len(dm.active_streams()) == 2  # an ended subscription stays listed until stopped
    assert dm.stop_all_streams() == 2
    assert dm.active_streams() == []
    delivered = len(quiet)
    time.sleep(0.3)
    assert len(quiet) == delivered, "nothing is delivered after stop"
