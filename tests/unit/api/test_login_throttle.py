"""The failed-login window slides; a success clears the user's count, never the address's."""

from __future__ import annotations

from mismarterad.api.login_throttle import LoginThrottle


def test_the_window_slides_and_success_clears_only_the_user() -> None:
    now = [0.0]
    throttle = LoginThrottle(per_user=2, per_address=3, window_secs=10.0, monotonic=lambda: now[0])
    throttle.failed("alice", "a1")
    now[0] = 4.0
    throttle.failed("alice", "a1")
    assert throttle.retry_after("alice", "a2") == 6.0  # the oldest failure leaves the window at 10
    now[0] = 10.0
    assert throttle.retry_after("alice", "a2") is None
    throttle.failed("bob", "a1")
    throttle.failed("dave", "a1")
    assert throttle.retry_after("carol", "a1") == 4.0  # a1 has 3 failures in the window (4, 10, 10)
    throttle.succeeded("bob")
    assert throttle.retry_after("carol", "a1") == 4.0
    now[0] = 14.0
    assert throttle.retry_after("carol", "a1") is None
