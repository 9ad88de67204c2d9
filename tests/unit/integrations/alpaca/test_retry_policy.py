"""The retry policy: transient errors only, bounded by attempts and clock time, waits on the Clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import requests

from mismarterad.core.clock import ReplayClock, SimClock
from mismarterad.integrations.retry_policy import RetryPolicy, is_transient

T0 = datetime(2024, 3, 11, 14, 30, tzinfo=UTC)


class _JumpingClock(SimClock):
    """A clock whose waits pass at once and exactly: the waits the policy asks for are what the
    calls' instants show, however busy the machine is."""

    def sleep_until(self, t_utc: datetime, stop: threading.Event) -> bool:
        if stop.is_set():
            return False
        self.set(max(t_utc, self.now()))
        return True

    def real_delay(self, t_utc: datetime) -> float:
        return 0.0


class _Status(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


def _failing(errors: list[BaseException], result: str = "ok") -> tuple[list[datetime], object]:
    calls: list[datetime] = []

    def fn(clock: SimClock) -> str:
        calls.append(clock.now())
        if errors:
            raise errors.pop(0)
        return result
    return calls, fn


@pytest.mark.parametrize(("exc", "transient"), [
    (requests.ConnectionError(), True), (requests.Timeout(), True), (ConnectionResetError(), True),
    (_Status(429), True), (_Status(503), True), (_Status(422), False), (_Status(401), False), (ValueError(), False),
])
def test_only_transient_errors_are_retried(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_transient_failures_are_retried_with_growing_waits_in_clock_time() -> None:
    clock = _JumpingClock(T0)
    calls, fn = _failing([_Status(503), requests.Timeout()])
    policy = RetryPolicy(max_attempts=4, initial_backoff_secs=1.0, max_backoff_secs=8.0, jitter_secs=0.0,
                         max_total_secs=60.0)
    assert policy.call(lambda: fn(clock), clock, what="test") == "ok"  # type: ignore[operator]
    gaps = [(b - a).total_seconds() for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps == [1.0, 2.0]  # 1 s, then 2 s of clock time


def test_a_permanent_error_is_raised_at_once() -> None:
    clock = _JumpingClock(T0)
    calls, fn = _failing([_Status(422)])
    with pytest.raises(_Status):
        RetryPolicy().call(lambda: fn(clock), clock, what="test")  # type: ignore[operator]
    assert len(calls) == 1


def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    clock = _JumpingClock(T0)
    calls, fn = _failing([_Status(500), _Status(502), _Status(503), _Status(504), _Status(500)])
    with pytest.raises(_Status, match="504"):
        RetryPolicy(max_attempts=4, jitter_secs=0.0).call(lambda: fn(clock), clock, what="test")  # type: ignore
    assert len(calls) == 4


def test_the_total_time_bounds_the_attempts() -> None:
    clock = _JumpingClock(T0)
    calls, fn = _failing([requests.Timeout()] * 10)
    policy = RetryPolicy(max_attempts=10, initial_backoff_secs=2.0, max_backoff_secs=2.0, jitter_secs=0.0,
                         max_total_secs=5.0)
    with pytest.raises(requests.Timeout):
        policy.call(lambda: fn(clock), clock, what="test")  # type: ignore[operator]
    assert len(calls) == 3 and (calls[-1] - calls[0]).total_seconds() <= 5.0


def test_a_stop_event_abandons_the_wait_with_the_last_error() -> None:
    clock = ReplayClock(T0, speed=1.0)  # a 30 s wait that must not happen
    stop = threading.Event()
    stop.set()
    calls, fn = _failing([_Status(503)] * 3)
    policy = RetryPolicy(initial_backoff_secs=30.0, max_backoff_secs=30.0, max_total_secs=300.0)
    with pytest.raises(_Status, match="503"):
        policy.call(lambda: fn(clock), clock, what="test", stop=stop)  # type: ignore[operator]
    assert len(calls) == 1
