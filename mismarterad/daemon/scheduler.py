"""Session start and stop jobs on APScheduler, at instants of the daemon's clock.

TimeManager's clock decides when a session starts and stops; APScheduler only waits. An instant
of the clock becomes a wall-clock run time through `Clock.real_delay`, so the same plan works
with the system clock and with the replay clock running N times faster. Jobs live in memory and
are recomputed at start-up, after every session and on reload (never resurrected from disk).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from mismarterad.core.clock import Clock, SystemClock
from mismarterad.services.session_plan import SessionWindow

__all__ = ["SessionScheduler"]

log = structlog.get_logger(component="scheduler")


class SessionScheduler:
    """Two jobs at most: the next session's start and its stop."""

    def __init__(self, clock: Clock, on_start: Callable[[date], None], on_stop: Callable[[date], None],
                 wall_clock: Clock | None = None) -> None:
        self._clock = clock
        self._wall = wall_clock or SystemClock()  # APScheduler's own time: the machine's
        self._on_start, self._on_stop = on_start, on_stop
        # one worker: a late start and its stop can never run at once or out of order
        self._scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})
        self._scheduler.add_listener(self._job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        self.planned: SessionWindow | None = None

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def has_jobs(self) -> bool:
        return bool(self._scheduler.get_jobs())

    @property
    def alive(self) -> bool:
        thread = getattr(self._scheduler, "_thread", None)
        return bool(self._scheduler.running and thread is not None and thread.is_alive())

    def plan(self, window: SessionWindow | None, *, start: bool = True) -> None:
        """Replace the jobs: start `window` at its start (at once if due), stop it at its stop.
        `start=False` keeps only the stop job (the session is already running)."""
        for job_id in ("session-start", "session-stop"):
            if self._scheduler.get_job(job_id) is not None:
                self._scheduler.remove_job(job_id)
        self.planned = window
        if window is None:
            log.warning("nothing_planned", reason="no trading day found in the calendar ahead")
            return
        if start:
            self._add("session-start", window.start_utc, self._on_start, window.day)
        self._add("session-stop", window.stop_utc, self._on_stop, window.day)
        log.info("session_planned", day=window.day.isoformat(), start_utc=window.start_utc.isoformat(),
                 stop_utc=window.stop_utc.isoformat(), start_job=start)

    def _add(self, job_id: str, at_utc: datetime, func: Callable[[date], None], day: date) -> None:
        wall = self._wall.now() + timedelta(seconds=max(0.0, self._clock.real_delay(at_utc)))
        self._scheduler.add_job(func, DateTrigger(run_date=wall), args=[day], id=job_id, replace_existing=True)

    def _job_event(self, event: JobExecutionEvent) -> None:
        if event.exception is not None:
            log.error("scheduled_job_failed", job=event.job_id, error=f"{type(event.exception).__name__}: "
                                                                       f"{event.exception}")
        else:
            log.error("scheduled_job_missed", job=event.job_id)
