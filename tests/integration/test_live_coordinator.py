"""The live SessionCoordinator on a bar feed: catch-up from the store joined to the feed with no
hole and no duplicate, steps as the backtest groups them, drain, hard stop, heartbeats."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mismarterad.config.session_config import SessionConfig
from mismarterad.core.clock import ReplayClock
from mismarterad.core.market_data import Bar
from mismarterad.core.read_model import ReadModel
from mismarterad.db.engine import DbSessionFactory
from mismarterad.integrations.exchange_calendar import ExchangeCalendarSource
from mismarterad.integrations.store_replay_feed import StoreReplayFeed
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.session_loader import SessionLoader
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.calendar_repository import CalendarRepository
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from mismarterad.repositories.memory_event_store import MemoryEventStore
from mismarterad.services.bar_columns import MinuteBlock, to_datetime
from mismarterad.threads.live_steps import group_steps
from mismarterad.threads.messages import STOP, SessionEnd, SessionStart
from mismarterad.threads.session_coordinator import SKIPPED_NO_BARS, SessionCoordinator
from mismarterad.threads.worker import PipelineFailure

NY = ZoneInfo("America/New_York")
DAY = date(2011, 1, 4)
OPEN = datetime(2011, 1, 4, 9, 30, tzinfo=NY).astimezone(UTC)
MINUTE = timedelta(minutes=1)
SPEED = 600.0  # a replayed minute every 0.1 s
# "released at once, not at the grace" can only be told apart while the machine answers within
# the grace's real part (STEP_GRACE_REAL_SECS): the tests that time a release run slower, so
# the budget a loaded CI machine gets is (grace - threshold) / speed of real time
TIMING_SPEED = 60.0
CONFIG = SessionConfig.model_validate({
    "session_name": "live", "exchange_group": "US_EQUITY", "asset_class": "EQUITY", "mode": "live",
    "session_data_config": {"symbols": ["SPY", "QQQ"], "streams": ["bars_1m"]},
    "strategies": [],
})


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2011, 1, 4, hh, mm, ss, tzinfo=NY).astimezone(UTC)


@pytest.fixture
def calendar(sqlite_sessions: DbSessionFactory) -> CalendarRepository:
    return CalendarRepository(sqlite_sessions)


def day_store(skip: Callable[[str, int], bool] = lambda s, i: False) -> MemoryBarStore:
    """SPY and QQQ for the whole regular session plus an hour either side (ext hours)."""
    store = MemoryBarStore()
    for symbol in ("SPY", "QQQ"):
        store.write_bars(symbol, "1m", [Bar(symbol, "1m", OPEN + i * MINUTE, 100 + i, 101 + i, 99 + i, 100.5 + i, 10)
                                        for i in range(-60, 390 + 60) if not skip(symbol, i)])
    return store


class RecordingFeed:
    """Wraps a feed: remembers its subscriptions; `late_minutes` drops the first minutes the feed
    would deliver, as a feed thread that read the clock after a minute boundary would."""

    def __init__(self, inner: StoreReplayFeed, clock: ReplayClock, late_minutes: int = 0) -> None:
        self.inner, self.clock, self.late = inner, clock, late_minutes
        self.subscriptions: list[Any] = []

    @property
    def name(self) -> str:
        return "recording"

    def subscribe(self, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> Any:
        first = self.clock.now().replace(second=0, microsecond=0) + self.late * MINUTE

        def forward(bar: Bar) -> None:
            if bar.start_utc >= first:
                on_bar(bar)

        sub = self.inner.subscribe(symbols, forward)
        self.subscriptions.append(sub)
        return sub


class StampedQueue(queue.Queue[Any]):
    """The processor's inbox, noting the replayed time each item was put: at 600x the test
    thread reading the queue 50 ms late is 30 s, so "when was it released" is asked here."""

    def __init__(self, clock: ReplayClock) -> None:
        super().__init__()
        self.clock = clock
        self.put_at: dict[int, datetime] = {}

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.put_at[id(item)] = self.clock.now()
        super().put(item, block, timeout)


class Run:
    def __init__(self, calendar: CalendarRepository, store: MemoryBarStore, start: datetime,
                 late_minutes: int = 0, speed: float = SPEED) -> None:
        self.clock = ReplayClock(start, speed=speed)
        tm = TimeManager(self.clock, calendar, ExchangeCalendarSource())
        dm = DataManager(store, tm, MemoryEventStore())
        self.feed = RecordingFeed(StoreReplayFeed(store, self.clock), self.clock, late_minutes)
        self.processor = StampedQueue(self.clock)
        self.quality: queue.Queue[Any] = queue.Queue()
        self.failure = PipelineFailure()
        self.loader = SessionLoader(dm, tm, CONFIG)
        self.board = ReadModel()
        self.board.register_thread("SessionCoordinator")
        self.coordinator = SessionCoordinator(
            time_manager=tm, loader=self.loader, days=[DAY], speed_multiplier=0.0, prefetch_days=1,
            processor_inbox=self.processor, quality_inbox=self.quality, failure=self.failure, board=self.board,
            live=True, feed=self.feed, observe_loop=lambda thread, secs: self.observed.append((thread, secs)))
        self.observed: list[tuple[str, float]] = []  # what the daemon's loop-duration histogram would see
        self.items: list[Any] = []
        self.coordinator.start()

    def until(self, predicate: Callable[[Any], bool], timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.processor.get(timeout=0.05)
            except queue.Empty:
                continue
            self.items.append(item)
            if predicate(item):
                return item
        raise AssertionError(f"timed out; got {[type(i).__name__ for i in self.items]}")

    def steps(self) -> list[tuple[datetime, tuple[Bar, ...]]]:
        return [(to_datetime(int(i.start_us[row])), i.step_bars(row)) for i in self.items if isinstance(i, MinuteBlock)
                for row in range(i.steps)]

    def finish(self) -> None:
        self.coordinator.drain()
        self.until(lambda i: i is STOP)
        self.coordinator.join(5)
        assert not self.coordinator.is_alive()
        assert all(not s.active for s in self.feed.subscriptions), "the subscription is stopped on every path"
        assert self.failure.message is None


def expected(store: MemoryBarStore, calendar: CalendarRepository) -> list[tuple[datetime, tuple[Bar, ...]]]:
    """The backtest's steps of the day: what the live session must reproduce."""
    tm = TimeManager(ReplayClock(OPEN, 1.0), calendar, ExchangeCalendarSource())
    bars = SessionLoader(DataManager(store, tm, MemoryEventStore()), tm, CONFIG).session_bars(DAY)
    return [(s.start_utc, s.bars) for s in group_steps(bars)]


@pytest.mark.parametrize("late_minutes", [0, 1], ids=["feed-on-time", "feed-thread-a-minute-late"])
def test_a_late_start_catches_up_then_follows_the_feed_with_no_hole_and_no_duplicate(
        calendar: CalendarRepository, late_minutes: int) -> None:
    store = day_store(skip=lambda s, i: s == "QQQ" and i in (3, 385))  # two holes in the data itself
    run = Run(calendar, store, at(15, 52, 30), late_minutes, speed=TIMING_SPEED)
    assert isinstance(run.until(lambda i: isinstance(i, SessionStart)), SessionStart)
    first = run.until(lambda i: isinstance(i, MinuteBlock))
    assert to_datetime(int(first.start_us[0])) == OPEN and first.steps > 1, "the due steps go out at once"
    end = run.until(lambda i: isinstance(i, SessionEnd))
    ended_at = run.processor.put_at[id(end)]
    assert end.skipped_reason is None
    assert run.steps() == expected(store, calendar)
    flags = [(to_datetime(int(i.start_us[row])), bool(i.catch_up[row])) for i in run.items
             if isinstance(i, MinuteBlock) for row in range(i.steps)]
    passed = [start for start, catch_up in flags if catch_up]
    assert [c for _, c in flags] == [True] * len(passed) + [False] * (len(flags) - len(passed)), \
        "the store's steps (their minute passed before the start) come first, and only they are catch-up steps"
    assert passed[0] == OPEN and at(15, 51) <= passed[-1] < at(15, 52, 30) + late_minutes * MINUTE
    # at once: without waiting for the grace (2 s + 0.1 s real time = 8 s here) that an incomplete step gets
    assert ended_at < at(16, 0) + timedelta(seconds=6), "SessionEnd follows the last step at once"
    run.finish()
    quality = [run.quality.get_nowait() for _ in range(run.quality.qsize())]
    assert [type(i) for i in quality] == [type(i) for i in run.items]


def test_steps_go_out_when_complete_and_the_session_waits_for_the_open(calendar: CalendarRepository) -> None:
    store = day_store()
    # before the open: nothing is due, ext-hours bars are not streamed
    run = Run(calendar, store, at(9, 29), speed=TIMING_SPEED)
    run.until(lambda i: isinstance(i, SessionStart))
    batch = run.until(lambda i: isinstance(i, MinuteBlock))
    assert to_datetime(int(batch.start_us[0])) == OPEN and [b.symbol for b in batch.step_bars(0)] == ["QQQ", "SPY"]
    released = run.processor.put_at[id(batch)]
    assert released - (OPEN + MINUTE) < timedelta(seconds=6), "released when complete, not at a grace (8 s)"
    run.until(lambda i: isinstance(i, MinuteBlock) and to_datetime(int(i.start_us[-1])) >= OPEN + 3 * MINUTE)
    run.coordinator.drain()
    run.until(lambda i: i is STOP)
    assert run.steps() == expected(store, calendar)[: len(run.steps())]
    # each pass that released live steps is observed once (the drain's last release is not a loop pass)
    batches = [i for i in run.items if isinstance(i, MinuteBlock)]
    assert 1 <= len(run.observed) <= len(batches)
    assert {thread for thread, _ in run.observed} == {"SessionCoordinator"}
    assert all(secs >= 0 for _, secs in run.observed)
    assert all(start + MINUTE <= run.clock.now() for start, _ in run.steps())


def test_a_missing_bar_holds_its_step_only_until_the_grace(calendar: CalendarRepository) -> None:
    store = MemoryBarStore()  # QQQ has no last bar and nothing after it: the step waits for the grace
    for symbol, count in (("SPY", 390), ("QQQ", 389)):
        store.write_bars(symbol, "1m", [Bar(symbol, "1m", OPEN + i * MINUTE, 1, 2, 0.5, 1.5, 10) for i in range(count)])
    run = Run(calendar, store, at(15, 58))
    end = run.until(lambda i: isinstance(i, SessionEnd))
    assert end.skipped_reason is None
    assert run.steps() == expected(store, calendar)
    run.finish()


def test_a_day_without_bars_ends_skipped_at_the_close(calendar: CalendarRepository) -> None:
    run = Run(calendar, MemoryBarStore(), at(15, 58))
    end = run.until(lambda i: isinstance(i, SessionEnd))
    assert end.skipped_reason == SKIPPED_NO_BARS and run.steps() == []
    assert run.clock.now() >= at(16, 0)
    run.finish()


def test_heartbeats_while_waiting_and_drain_before_the_close(calendar: CalendarRepository) -> None:
    store = MemoryBarStore()
    store.write_bars("SPY", "1m", [Bar("SPY", "1m", OPEN + i * MINUTE, 1, 2, 0.5, 1.5, 10) for i in range(10)])
    run = Run(calendar, store, at(11, 0))  # SPY's bars are all past, QQQ has none: hours of waiting
    run.until(lambda i: isinstance(i, MinuteBlock))
    ages = []
    for _ in range(8):
        time.sleep(0.1)
        [thread] = run.board.snapshot().threads  # what the watchdog reads
        beat = thread.last_beat_monotonic
        assert beat is not None and thread.alive
        ages.append(time.monotonic() - beat)
    assert max(ages) < 1.0, ages  # beats every 0.25 s at most (1.0: generous for a loaded machine)
    run.coordinator.drain()
    end = run.until(lambda i: isinstance(i, SessionEnd))
    assert end.skipped_reason is None and len(run.steps()) == 10
    run.until(lambda i: i is STOP)


def test_a_hard_stop_ends_at_once_and_stops_the_subscription(calendar: CalendarRepository) -> None:
    run = Run(calendar, day_store(), at(10, 0))
    run.until(lambda i: isinstance(i, MinuteBlock))
    stopping = time.monotonic()
    run.failure.stop_event.set()
    run.coordinator.join(5)
    assert not run.coordinator.is_alive() and time.monotonic() - stopping < 2
    assert run.feed.subscriptions and not run.feed.subscriptions[0].active


def test_live_needs_a_feed(calendar: CalendarRepository) -> None:
    tm = TimeManager(ReplayClock(OPEN, 1.0), calendar, ExchangeCalendarSource())
    with pytest.raises(ValueError, match="bar feed"):
        SessionCoordinator(time_manager=tm, loader=SessionLoader(DataManager(MemoryBarStore(), tm, MemoryEventStore()),
                                                                 tm, CONFIG),
                           days=[DAY], speed_multiplier=0.0, prefetch_days=1, processor_inbox=queue.Queue(),
                           quality_inbox=queue.Queue(), failure=PipelineFailure(), board=ReadModel(), live=True)

