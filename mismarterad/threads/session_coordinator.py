"""SessionCoordinator: runs each session's six phases and feeds the other three threads.

1 init (a fresh SessionData), 2 history and historical indicators, 3 queue loading (the next
`prefetch_days` sessions read ahead), 4 activation (SessionStart downstream), 5 streaming
(the session's 1-minute steps as one column block when data-driven, one step per block paced by
the clock when speed > 0), 6 end of session (SessionEnd) and on to the next trading day.
A day with no bars in the store is announced as skipped, not an error.

Live mode (the daemon) takes its bars from a `BarFeed` instead of pacing stored bars itself:
the bars already due when the session starts come from the store (catch-up after a late start
or a restart), the rest from the feed as the market (or the replay clock) makes them; see
`LiveSteps` for how the two are joined and when a step is released. After the last day the
thread holds the session open until the stop request, so SystemManager stays RUNNING until the
scheduled stop after the close.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import structlog

from mismarterad.core.bar_feed import BarFeed, FeedSubscription
from mismarterad.core.market_data_source import MarketDataSource
from mismarterad.core.market_data import Bar
from mismarterad.core.read_model import ReadModel
from mismarterad.managers.session_data import SessionData
from mismarterad.managers.session_loader import SessionLoader
from mismarterad.managers.time_manager import TimeManager
from mismarterad.services.bar_columns import US_PER_MINUTE, MinuteBlock, to_datetime
from mismarterad.threads.live_steps import BarStep, LiveSteps
from mismarterad.threads.messages import STOP, SessionEnd, SessionStart
from mismarterad.threads.worker import PipelineFailure, put_or_stop

__all__ = ["SessionCoordinator"]

STEPS_PER_BATCH = 400  # live: a long catch-up goes out in blocks of at most this many steps
READ_AHEAD_SESSIONS = 5  # store reads are grouped this many sessions at a time (memory stays bounded)
_HEARTBEAT_SECS = 0.25
DRAIN_WAIT_REAL_SECS = 0.5  # a drain waits at most this long for the feed's bars already due
SKIPPED_NO_BARS = "no 1m bars in the store for any symbol"


class SessionCoordinator(threading.Thread):
    """The producer thread of a backtest or a live day-run."""

    def __init__(
        self,
        *,
        time_manager: TimeManager,
        loader: SessionLoader,
        days: Sequence[date],
        speed_multiplier: float,
        prefetch_days: int,
        processor_inbox: queue.Queue[Any],
        quality_inbox: queue.Queue[Any],
        failure: PipelineFailure,
        board: ReadModel,
        live: bool = False,
        feed: BarFeed | None = None,
        history: MarketDataSource | None = None,
        observe_loop: Callable[[str, float], None] | None = None,
    ) -> None:
        """`observe_loop(thread name, seconds)` sees the time of each live pass that released
        steps, from the feed's bars received to the steps handed downstream (metrics)."""
        super().__init__(name="SessionCoordinator", daemon=True)
        if live and feed is None:
            raise ValueError("a live SessionCoordinator needs a bar feed")
        self._tm = time_manager
        self._loader = loader
        self._days = list(days)
        self._speed = speed_multiplier
        self._prefetch = prefetch_days
        self._outboxes = (processor_inbox, quality_inbox)
        self._failure = failure
        self._board = board
        board.register_thread(self.name)
        self._columns = tuple(sorted(loader.symbols))
        self._live = live
        self._feed = feed
        self._history = history  # live: where the minutes and days the store lacks come from
        self._loaded: set[date] = set()
        self._draining = threading.Event()
        self._observe_loop = observe_loop
        self.items_processed = 0
        self.log = structlog.get_logger(component="SessionCoordinator")

    def start(self) -> None:
        self._board.thread_started(self.name)  # alive from here: the watchdog never sees a started thread as dead
        super().start()

    def run(self) -> None:
        self.log.info("thread_started", days=len(self._days))
        try:
            for index, day in enumerate(self._days):
                if self._failure.stop_event.is_set():
                    break
                self._board.thread_extra(self.name, session_date=day.isoformat())
                if self._live:
                    self._run_live_session(day)  # reads the store itself, after subscribing to the feed
                else:
                    if index % READ_AHEAD_SESSIONS == 0 or self._days[index] not in self._loaded:
                        ahead = max(self._prefetch, READ_AHEAD_SESSIONS)
                        self._loader.prefetch(self._days[index : index + ahead])
                        self._loaded = set(self._days[index : index + ahead])
                    self._run_session(day)
                self._loader.evict_before(day)
            if self._live:
                self._hold_until_stopped()
            self._send(STOP)
        except BaseException as exc:  # noqa: BLE001 - any failure must stop the pipeline
            self.log.error("thread_failed", error=f"{type(exc).__name__}: {exc}")
            self._failure.report(self.name, exc)
        finally:
            self._board.thread_stopped(self.name)
            self.log.info("thread_stopped", steps=self.items_processed)

    def _run_session(self, day: date) -> None:
        session = self._tm.get_trading_session(day)
        block = self._loader.session_block(day)
        data = SessionData()  # phase 1
        assert session.regular_open is not None
        data.mark_session_start(session.regular_open)
        if not block.steps:
            self.log.warning("session_skipped", day=day.isoformat(), reason="no bars in the store")
            self._send(SessionStart(session, data))
            self._send(SessionEnd(session, skipped_reason=SKIPPED_NO_BARS))
            return
        if self._tm.clock.now() < session.regular_open:
            self._tm.set_backtest_time(session.regular_open)  # overnight passes at once, even clock-driven
        self._loader.load_history(day, data)  # phase 2
        self.log.info("session_started", day=day.isoformat(), bars=int(block.present.sum()))
        self._send(SessionStart(session, data))  # phase 4
        self._stream(block)  # phase 5
        self._send(SessionEnd(session))  # phase 6

    def _stream(self, block: MinuteBlock) -> None:
        if self._speed > 0:
            for row in range(block.steps):
                if not self._advance_clock(int(block.start_us[row])):
                    return
                if not self._send(block.rows(row, row + 1)):
                    return
                self.items_processed += 1
            return
        self._tm.set_backtest_time(to_datetime(int(block.start_us[-1]) + US_PER_MINUTE))
        if self._send(block):
            self.items_processed += block.steps

    # -- live ------------------------------------------------------------------------------

    def _run_live_session(self, day: date) -> None:
        """One live session: subscribe, catch up from the store, then stream the feed's bars."""
        assert self._feed is not None
        session = self._tm.get_trading_session(day)
        assert session.regular_open is not None and session.regular_close is not None
        data = SessionData()  # phase 1
        data.mark_session_start(session.regular_open)
        inbox: queue.SimpleQueue[Bar] = queue.SimpleQueue()  # unbounded: the feed thread never waits on us
        subscription = self._feed.subscribe(self._loader.symbols, inbox.put)  # first: no bar can slip by
        try:
            steps = LiveSteps(session, self._loader.symbols, self._tm.clock)  # the cut: now, after subscribing
            if self._history is not None:  # after the cut: the store then has every minute before the feed's
                self._loader.fetch_missing(self._history, day, self._beat)
            steps.set_stored(self._loader.session_bars(day))  # the store, read after subscribing
            self._loader.load_history(day, data)  # phase 2
            catch_up = steps.catch_up()
            self.log.info("session_started", day=day.isoformat(), live=True, feed=self._feed.name,
                          catch_up_steps=len(catch_up), cut=steps.cut.isoformat())
            if not self._send(SessionStart(session, data)):  # phase 4
                return
            if not self._release(catch_up, timed=False) or not self._stream_feed(steps, inbox, subscription):  # phase 5
                return
        finally:
            subscription.stop()  # every exit path: normal end, drain, hard stop, failure
        if steps.released_any:
            self._send(SessionEnd(session))  # phase 6
        else:
            self.log.warning("session_skipped", day=day.isoformat(), reason="no bars by the close")
            self._send(SessionEnd(session, skipped_reason=SKIPPED_NO_BARS))

    def _stream_feed(self, steps: LiveSteps, inbox: queue.SimpleQueue[Bar], subscription: FeedSubscription) -> bool:
        """Release the feed's steps until the session's last one; False on a hard stop.

        The thread never blocks longer than a heartbeat (the watchdog reads its heartbeat).
        A drain (the scheduled stop) waits at most DRAIN_WAIT_REAL_SECS for the feed's bars that
        were already due when it was asked, releases the due steps and drops the rest."""
        stop = self._failure.stop_event
        drain_at: datetime | None = None
        drain_deadline = 0.0
        while not steps.ended:
            self._beat()
            if stop.is_set():
                return False
            if drain_at is None and self._draining.is_set():
                drain_at = self._tm.clock.now()  # read after the flag: a drain never misses a due bar
                drain_deadline = time.monotonic() + DRAIN_WAIT_REAL_SECS
            wait = min(_HEARTBEAT_SECS, steps.seconds_to_next_deadline())
            if drain_at is not None:
                wait = min(wait, 0.02)
            woke: float | None = None
            try:
                bar = inbox.get(timeout=wait)
                woke = time.monotonic()
                steps.add(bar)
                while True:
                    steps.add(inbox.get_nowait())
            except queue.Empty:
                pass
            if woke is None:  # woken by a step's deadline, not by a bar
                woke = time.monotonic()
            if subscription.error is not None:
                raise RuntimeError(f"the bar feed ended: {subscription.error}")
            if drain_at is not None and (steps.due_complete(drain_at) or time.monotonic() >= drain_deadline):
                return self._release(steps.finish_due(drain_at))
            releasable = steps.releasable()
            if not self._release(releasable):
                return False
            if releasable and self._observe_loop is not None:
                self._observe_loop(self.name, time.monotonic() - woke)
        return True

    def _release(self, steps: list[BarStep], *, timed: bool = True) -> bool:
        """Send steps downstream as blocks, several for a long catch-up. `timed` blocks carry their
        release time for the bar-to-decision histogram; the catch-up's do not (they waited in the
        store, not in the pipeline, and would only measure queueing)."""
        for first in range(0, len(steps), STEPS_PER_BATCH):
            chunk = steps[first : first + STEPS_PER_BATCH]
            block = MinuteBlock.from_steps(self._columns, [(s.start_utc, s.bars) for s in chunk],
                                           [s.catch_up for s in chunk], time.monotonic() if timed else 0.0)
            if not self._send(block):
                return False
            self.items_processed += len(chunk)
        return True

    def drain(self) -> None:
        """End the live session in order: stream what is due, then SessionEnd and STOP flow
        through every thread (the engine flattens at the last bar), unlike a hard stop."""
        self._draining.set()

    def _hold_until_stopped(self) -> None:
        stop = self._failure.stop_event
        while not stop.is_set() and not self._draining.wait(_HEARTBEAT_SECS):
            self._beat()

    def _advance_clock(self, start_us: int) -> bool:
        """Clock-driven pacing: wait (step gap / speed) real seconds, then move simulated time."""
        target = to_datetime(start_us + US_PER_MINUTE)
        delay = (target - self._tm.clock.now()).total_seconds() / self._speed
        if delay > 0 and self._failure.stop_event.wait(delay):
            return False
        self._tm.set_backtest_time(max(target, self._tm.clock.now()))
        return True

    def _send(self, item: object) -> bool:
        stop = self._failure.stop_event
        return all(put_or_stop(box, item, stop, self._beat) for box in self._outboxes)

    def _beat(self) -> None:
        """The watchdog's heartbeat, published to the read model."""
        self._board.beat(self.name, self.items_processed)
