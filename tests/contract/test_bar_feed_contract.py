"""The bar feed contract (`core/bar_feed.py`): every BarFeed implementation must pass these.

That is the store replay feed over each bar store, driven by a fast replay clock, and the
Alpaca and Schwab feeds on their emulators (`venue_feed_rig.py`); other venue feeds join `FEEDS`
with a local emulator of their stream. Each test drives the feed through the
interface alone: subscribe, receive bars on the feed's thread, stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mismarterad.core.bar_feed import BarFeed, FeedSubscription
from mismarterad.core.bar_store import BarStore
from mismarterad.core.clock import ReplayClock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.store_replay_feed import StoreReplayFeed
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from mismarterad.repositories.parquet_bar_store import ParquetBarStore
from contract.venue_feed_rig import start_alpaca_feed, start_schwab_feed

T0 = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)  # 09:30 New York
MINUTE = timedelta(minutes=1)
SPEED = 3000.0  # a minute every 20 ms of real time
SYMBOLS = ("SPY", "QQQ", "IWM")
MINUTES = 20  # bars stored per symbol from T0
LAST = T0 + (MINUTES - 1) * MINUTE


def _bars(symbol: str) -> list[Bar]:
    return [Bar(symbol, "1m", T0 + i * MINUTE, 10 + i, 11 + i, 9 + i, 10.5 + i, 100) for i in range(MINUTES)]


def _stored(store: BarStore) -> BarStore:
    for symbol in SYMBOLS:
        store.write_bars(symbol, "1m", _bars(symbol))
    return store


STORES: dict[str, Callable[[Path], BarStore]] = {
    "parquet": lambda root: ParquetBarStore(root / "data"),
    "memory": lambda _root: MemoryBarStore(),
}


class Rig:
    """A feed under test plus what a test needs to reason about its clock."""

    def __init__(self, feed: BarFeed, clock: ReplayClock) -> None:
        self.feed, self.clock = feed, clock
        self.subscriptions: list[FeedSubscription] = []

    def subscribe(self, symbols: tuple[str, ...], on_bar: Callable[[Bar], None]) -> FeedSubscription:
        sub = self.feed.subscribe(symbols, on_bar)
        self.subscriptions.append(sub)
        return sub

    def minute_in_progress(self) -> datetime:
        return max(T0, self.clock.now().replace(second=0, microsecond=0))


def every_bar_from(first: datetime, symbols: tuple[str, ...]) -> list[tuple[datetime, str]]:
    """(start, symbol) of each stored bar from minute `first` on, in time then symbol order."""
    count = (LAST - first) // MINUTE + 1
    return [(first + i * MINUTE, s) for i in range(count) for s in sorted(symbols)]


def started_in(first: datetime, before: datetime, after: datetime) -> bool:
    """The clock runs fast and the machine may be loaded: the minute in progress at subscribe time
    is the one read just before the call or the one read just after it."""
    return before <= first <= after


VENUE_FEEDS = {"alpaca-emulator": start_alpaca_feed, "schwab-emulator": start_schwab_feed}
FEEDS = [*(f"store-replay-{name}" for name in sorted(STORES)), *VENUE_FEEDS]


@pytest.fixture(params=FEEDS)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    if request.param in VENUE_FEEDS:
        venue = VENUE_FEEDS[request.param]([b for s in SYMBOLS for b in _bars(s)], T0)
        r = Rig(venue.feed, venue.clock)
    else:
        venue = None
        store = _stored(STORES[request.param.removeprefix("store-replay-")](tmp_path))
        clock = ReplayClock(T0 + timedelta(seconds=30), speed=SPEED)  # inside the first minute
        r = Rig(StoreReplayFeed(store, clock), clock)
    yield r
    for sub in r.subscriptions:
        sub.stop()
    if venue is not None:
        venue.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_feed_has_a_name(rig: Rig) -> None:
    assert isinstance(rig.feed.name, str) and rig.feed.name


def test_bars_arrive_in_time_then_symbol_order_only_for_the_subscribed_symbols_and_after_their_end(
        rig: Rig) -> None:
    seen: list[tuple[Bar, datetime]] = []
    before = rig.minute_in_progress()
    sub = rig.subscribe(("SPY", "QQQ"), lambda bar: seen.append((bar, rig.clock.now())))
    after = rig.minute_in_progress()
    wait_for(lambda: sum(b.start_utc == LAST for b, _ in seen) == 2)
    keys = [(b.start_utc, b.symbol) for b, _ in seen]
    assert keys == sorted(keys)
    assert {b.symbol for b, _ in seen} == {"SPY", "QQQ"}
    assert started_in(keys[0][0], before, after), "from the minute in progress at subscribe time"
    assert keys == every_bar_from(keys[0][0], ("SPY", "QQQ")), "every bar once"
    for bar, at in seen:
        assert bar.interval == "1m"
        assert at >= bar.start_utc + MINUTE, "a bar may only arrive once it has ended"
    assert sub.active and sub.error is None


def test_stop_returns_and_nothing_is_delivered_afterwards(rig: Rig) -> None:
    seen: list[Bar] = []
    sub = rig.subscribe(SYMBOLS, seen.append)
    wait_for(lambda: len(seen) >= 3)
    started = time.monotonic()
    sub.stop()
    assert time.monotonic() - started < 2, "stop returns promptly"
    assert not sub.active and sub.error is None
    delivered = len(seen)
    time.sleep(0.2)  # ten replayed minutes: bars would be due
    assert len(seen) == delivered, "nothing is delivered after stop"
    sub.stop()  # stopping twice is harmless


def test_a_slow_consumer_still_gets_every_bar_in_order(rig: Rig) -> None:
    seen: list[Bar] = []

    def slow(bar: Bar) -> None:
        time.sleep(0.02)  # slower than the clock makes bars: the feed falls behind, drops nothing
        seen.append(bar)

    before = rig.minute_in_progress()
    rig.subscribe(("SPY", "IWM"), slow)
    after = rig.minute_in_progress()
    wait_for(lambda: sum(b.start_utc == LAST for b in seen) == 2)
    keys = [(b.start_utc, b.symbol) for b in seen]
    assert started_in(keys[0][0], before, after)
    assert keys == every_bar_from(keys[0][0], ("SPY", "IWM"))


def test_a_consumer_that_raises_ends_its_subscription_with_the_error(rig: Rig) -> None:
    calls: list[Bar] = []

    def explode(bar: Bar) -> None:
        calls.append(bar)
        raise RuntimeError("consumer bug")

    sub = rig.subscribe(("SPY",), explode)
    quiet: list[Bar] = []
    other = rig.subscribe(("QQQ",), quiet.append)  # subscriptions are independent
    wait_for(lambda: not sub.active)
    assert sub.error is not None and "consumer bug" in sub.error
    assert len(calls) == 1
    wait_for(lambda: len(quiet) >= 3)
    assert other.active and other.error is None
    sub.stop()  # stopping an ended subscription is harmless


def test_concurrent_subscriptions_each_get_their_own_symbols(rig: Rig) -> None:
    got: dict[str, list[Bar]] = {s: [] for s in SYMBOLS}
    lock = threading.Lock()

    def into(symbol: str) -> Callable[[Bar], None]:
        def on_bar(bar: Bar) -> None:
            with lock:
                got[symbol].append(bar)
        return on_bar

    window: dict[str, tuple[datetime, datetime]] = {}
    for symbol in SYMBOLS:
        before = rig.minute_in_progress()
        rig.subscribe((symbol,), into(symbol))
        window[symbol] = (before, rig.minute_in_progress())
    wait_for(lambda: all(v and v[-1].start_utc == LAST for v in got.values()))
    for symbol, bars in got.items():
        assert [b.symbol for b in bars] == [symbol] * len(bars)
        assert started_in(bars[0].start_utc, *window[symbol])
        assert [(b.start_utc, b.symbol) for b in bars] == every_bar_from(bars[0].start_utc, (symbol,))
