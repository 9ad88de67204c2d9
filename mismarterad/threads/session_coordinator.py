"""SessionCoordinator: runs each session's six phases and feeds the other three threads.

1 init (a fresh SessionData), 2 history and historical indicators, 3 queue loading (the next
`prefetch_days` sessions read ahead), 4 activation (SessionStart downstream), 5 streaming
(bars grouped into 1-minute steps, batched when data-driven, one step at a time and paced by
the clock when speed > 0), 6 end of session (SessionEnd) and on to the next trading day.
A day with no bars in the store is announced as skipped, not an error.

Live mode (the daemon) differs in pacing only: each step is released when the clock (system or
replay) passes the end of its bars, steps already due are released at once (catch-up after a
late start or a restart), and after the last day the thread holds the session open until the
stop request, so SystemManager stays RUNNING until the scheduled stop after the close.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from mismarterad.core.calendar import TradingSession
from mismarterad.core.market_data import Bar
from mismarterad.core.pipeline import STOP, BarStep, SessionEnd, SessionStart, StepBatch, ThreadStatus
from mismarterad.core.session_data import SessionData
from mismarterad.managers.session_loader import SessionLoader
from mismarterad.managers.time_manager import TimeManager
from mismarterad.threads.worker import PipelineFailure, put_or_stop

__all__ = ["SessionCoordinator"]

STEPS_PER_BATCH = 400
READ_AHEAD_SESSIONS = 5  # store reads are grouped this many sessions at a time (memory stays bounded)
ONE_MINUTE = timedelta(minutes=1)
_HEARTBEAT_SECS = 0.25


class SessionCoordinator(threading.Thread):
    """The producer thread of a backtest (and, later, of a live session)."""

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
        on_session: Callable[[date, int], None] | None = None,
        live: bool = False,
    ) -> None:
        super().__init__(name="SessionCoordinator", daemon=True)
        self._tm = time_manager
        self._loader = loader
        self._days = list(days)
        self._speed = speed_multiplier
        self._prefetch = prefetch_days
        self._outboxes = (processor_inbox, quality_inbox)
        self._failure = failure
        self._on_session = on_session
        self._live = live
        self._loaded: set[date] = set()
        self._draining = threading.Event()
        self.last_loop_monotonic: float | None = None
        self.items_processed = 0
        self.current_day: date | None = None
        self.log = structlog.get_logger(component="SessionCoordinator")

    def run(self) -> None:
        self.log.info("thread_started", days=len(self._days))
        try:
            for index, day in enumerate(self._days):
                if self._failure.stop_event.is_set():
                    break
                self.current_day = day
                if index % READ_AHEAD_SESSIONS == 0 or self._days[index] not in self._loaded:
                    ahead = max(self._prefetch, READ_AHEAD_SESSIONS)
                    self._loader.prefetch(self._days[index : index + ahead])
                    self._loaded = set(self._days[index : index + ahead])
                self._run_session(day)
                self._loader.evict_before(day)
                if self._on_session is not None:
                    self._on_session(day, index + 1)
            if self._live:
                self._hold_until_stopped()
            self._send(STOP)
        except BaseException as exc:  # noqa: BLE001 - any failure must stop the pipeline
            self.log.error("thread_failed", error=f"{type(exc).__name__}: {exc}")
            self._failure.report(self.name, exc)
        finally:
            self.log.info("thread_stopped", steps=self.items_processed)

    def _run_session(self, day: date) -> None:
        session = self._tm.get_trading_session(day)
        bars = self._loader.session_bars(day)
        data = SessionData()  # phase 1
        assert session.regular_open is not None
        data.mark_session_start(session.regular_open)
        if not any(bars.values()):
            self.log.warning("session_skipped", day=day.isoformat(), reason="no bars in the store")
            self._send(SessionStart(session, data))
            if self._live:
                assert session.regular_close is not None
                self._wait_until(session.regular_close)
            self._send(SessionEnd(session, skipped_reason="no 1m bars in the store for any symbol"))
            return
        if not self._live and self._tm.clock.now() < session.regular_open:
            self._tm.set_backtest_time(session.regular_open)  # overnight passes at once, even clock-driven
        self._loader.load_history(day, data)  # phase 2
        self.log.info("session_started", day=day.isoformat(), bars=sum(len(b) for b in bars.values()))
        self._send(SessionStart(session, data))  # phase 4
        self._stream(session, _steps(bars))  # phase 5
        self._send(SessionEnd(session))  # phase 6

    def _stream(self, session: TradingSession, steps: list[BarStep]) -> None:
        if self._live:
            self._stream_live(steps)
            return
        if self._speed > 0:
            for step in steps:
                if not self._advance_clock(step):
                    return
                if not self._send(StepBatch((step,))):
                    return
                self.items_processed += 1
            return
        for first in range(0, len(steps), STEPS_PER_BATCH):
            batch = tuple(steps[first : first + STEPS_PER_BATCH])
            self._tm.set_backtest_time(batch[-1].start_utc + ONE_MINUTE)
            if not self._send(StepBatch(batch)):
                return
            self.items_processed += len(batch)

    def _stream_live(self, steps: list[BarStep]) -> None:
        """Release each step when the clock passes its end; steps already due go out together."""
        index = 0
        while index < len(steps):
            self.last_loop_monotonic = time.monotonic()
            draining = self._draining.is_set()  # read before the clock: a drain never misses a due bar
            due_until = self._tm.clock.now()
            due = index
            while due < len(steps) and steps[due].start_utc + ONE_MINUTE <= due_until:
                due += 1
            if due == index:
                if draining:
                    return  # the session is being ended: bars not yet due are not part of it
                if not self._wait_until(steps[index].start_utc + ONE_MINUTE) and self._failure.stop_event.is_set():
                    return
                continue  # due now, or draining: release what the clock has reached, then end
            due = min(due, index + STEPS_PER_BATCH)  # a long catch-up goes in several batches
            released = time.monotonic()
            batch = tuple(replace(s, released_monotonic=released) for s in steps[index:due])
            if not self._send(StepBatch(batch)):
                return
            self.items_processed += len(batch)
            index = due

    def _wait_until(self, t_utc: datetime) -> bool:
        """Wait for the clock in short slices (a heartbeat for the watchdog); False when stopping."""
        stop = self._failure.stop_event
        while not stop.is_set() and not self._draining.is_set():
            self.last_loop_monotonic = time.monotonic()
            delay = self._tm.clock.real_delay(t_utc)
            if delay <= 0:
                return True
            stop.wait(min(delay, _HEARTBEAT_SECS))
        return False

    def drain(self) -> None:
        """End the live session in order: stream what is due, then SessionEnd and STOP flow
        through every thread (the engine flattens at the last bar), unlike a hard stop."""
        self._draining.set()

    def _hold_until_stopped(self) -> None:
        stop = self._failure.stop_event
        while not stop.is_set() and not self._draining.wait(_HEARTBEAT_SECS):
            self.last_loop_monotonic = time.monotonic()

    def _advance_clock(self, step: BarStep) -> bool:
        """Clock-driven pacing: wait (step gap / speed) real seconds, then move simulated time."""
        target = step.start_utc + ONE_MINUTE
        delay = (target - self._tm.clock.now()).total_seconds() / self._speed
        if delay > 0 and self._failure.stop_event.wait(delay):
            return False
        self._tm.set_backtest_time(max(target, self._tm.clock.now()))
        return True

    def _send(self, item: object) -> bool:
        stop = self._failure.stop_event
        return all(put_or_stop(box, item, stop, self._beat) for box in self._outboxes)

    def _beat(self) -> None:
        self.last_loop_monotonic = time.monotonic()

    def status(self) -> ThreadStatus:
        day = self.current_day.isoformat() if self.current_day else None
        age = None if self.last_loop_monotonic is None else time.monotonic() - self.last_loop_monotonic
        return ThreadStatus(self.name, self.is_alive(), age, 0, self.items_processed, {"session_date": day})


def _steps(bars_by_symbol: dict[str, list[Bar]]) -> list[BarStep]:
    """Group the day's bars into 1-minute steps, each step's bars sorted by symbol."""
    by_start: dict[Any, list[Bar]] = {}
    for symbol in sorted(bars_by_symbol):
        for bar in bars_by_symbol[symbol]:
            by_start.setdefault(bar.start_utc, []).append(bar)
    return [BarStep(start, tuple(by_start[start])) for start in sorted(by_start)]
