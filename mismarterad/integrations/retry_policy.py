"""The project's retry policy for calls to a venue: exponential backoff with jitter, bounded by an
attempt count and a total time, waiting through the injected Clock (a replay clock waits in
market time) and abandoned at once when a stop Event is set.

Only transient failures are retried (connection errors, timeouts, HTTP 429 and 5xx): anything
else is an answer, and asking again would get the same one. Order submissions never go through
`call`: an order whose POST failed is looked up, not resent (see the Alpaca broker).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import requests
import structlog
import tenacity

from mismarterad.core.clock import Clock

__all__ = ["RetryPolicy", "is_transient"]

log = structlog.get_logger(component="retry_policy")

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Whether asking again may get a different answer: a connection error, a timeout, or an HTTP
    status of 429 (rate limited) or 5xx (the server's trouble). `status_code` is read from the
    error itself (alpaca-py's APIError carries it)."""
    if isinstance(exc, ConnectionError | TimeoutError | requests.ConnectionError | requests.Timeout):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


class _Interrupted(Exception):
    """The stop event was set while waiting between attempts."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try a transient failure again.

    Attempt n (n >= 1) that failed waits `min(max_backoff_secs, initial_backoff_secs * 2**(n-1))`
    plus up to `jitter_secs` of random jitter (tenacity's wait_exponential_jitter); no attempt
    starts after `max_total_secs` of clock time or `max_real_secs` of real time from the first,
    nor beyond `max_attempts`.
    """

    max_attempts: int = 4
    initial_backoff_secs: float = 0.25
    max_backoff_secs: float = 2.0
    jitter_secs: float = 0.25
    max_total_secs: float = 30.0  # clock time: a replay at 600x spends it in 50 ms of real time
    # real time, whatever the clock: a call on a session thread must end inside the watchdog's
    # budget (daemon STALL_SECS = 10 s), its last request's timeout included
    max_real_secs: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if min(self.initial_backoff_secs, self.max_backoff_secs, self.jitter_secs, self.max_total_secs) < 0:
            raise ValueError("retry times must be >= 0")

    def backoff_secs(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based): also the streams' reconnect delay."""
        return self._base_secs(attempt) + random.uniform(0, self.jitter_secs)

    def _base_secs(self, attempt: int) -> float:
        return min(self.max_backoff_secs, self.initial_backoff_secs * 2 ** max(0, attempt - 1))

    def call(self, fn: Callable[[], T], clock: Clock, *, what: str, stop: threading.Event | None = None,
             transient: Callable[[BaseException], bool] = is_transient, deadline: float | None = None) -> T:
        """`fn()`, tried again on a transient error until an attempt succeeds, an error is not
        transient, the budget is spent or `stop` is set; then the last error is raised as it was.
        `what` names the call in the retry log lines; `deadline` (time.monotonic()) ends the
        retries earlier than `max_real_secs` (a caller's whole-operation budget)."""
        stop = stop or threading.Event()
        real_deadline = time.monotonic() + self.max_real_secs
        if deadline is not None:
            real_deadline = min(real_deadline, deadline)
        started = clock.now()
        deadline = started + timedelta(seconds=self.max_total_secs)
        last: list[BaseException] = []

        def give_up(state: tenacity.RetryCallState) -> bool:
            wait = self._base_secs(state.attempt_number)
            return (state.attempt_number >= self.max_attempts or stop.is_set()
                    or clock.now() + timedelta(seconds=wait) > deadline
                    or time.monotonic() + _real_secs(clock, wait) > real_deadline)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            if exc is not None:
                last[:] = [exc]
            log.warning("venue_call_retrying", what=what, attempt=state.attempt_number,
                        error=type(exc).__name__ if exc else None, wait_secs=round(state.upcoming_sleep, 3))

        def sleep(secs: float) -> None:
            if not clock.sleep_until(_after(clock.now(), secs), stop):
                raise _Interrupted

        retrying = tenacity.Retrying(
            stop=give_up, wait=lambda state: self.backoff_secs(state.attempt_number),
            retry=tenacity.retry_if_exception(transient), sleep=sleep, before_sleep=before_sleep, reraise=True)
        try:
            return retrying(fn)
        except _Interrupted:
            raise last[0] from None


def _real_secs(clock: Clock, secs: float) -> float:
    """Real seconds a wait of `secs` clock seconds takes."""
    return max(0.0, clock.real_delay(_after(clock.now(), secs)))


def _after(now: datetime, secs: float) -> datetime:
    return now + timedelta(seconds=secs)
