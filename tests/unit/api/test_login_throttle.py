"""The login window slides; attempts count when they begin; a success takes back its own attempt
and clears the user's count, never the address's; a regular address is not held to the user's
limit; IPv6 counts by /64; a throttled key is announced once; the tables stay bounded."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mismarterad.api import login_throttle
from mismarterad.api.login_throttle import LoginThrottle, Throttled, address_key


Clock = SimpleNamespace  # .now: the monotonic seconds the throttle reads


@pytest.fixture
def clock() -> Clock:
    return Clock(now=0.0)


def test_the_window_slides_and_success_takes_back_only_its_own_attempt(clock: Clock) -> None:
    throttle = LoginThrottle(per_user=2, per_address=3, window_secs=10.0, monotonic=lambda: clock.now)
    throttle.begin("alice", "a1")
    clock.now = 4.0
    throttle.begin("alice", "a1")
    assert throttle.begin("alice", "a2") == Throttled(6.0, True)  # the oldest attempt leaves the window at 10
    clock.now = 10.0
    ticket = throttle.begin("alice", "a2")
    assert isinstance(ticket, float)
    throttle.begin("bob", "a1")
    throttle.begin("dave", "a1")  # a1: 4, 10, 10
    assert throttle.begin("carol", "a1") == Throttled(4.0, True)
    good = throttle.begin("erin", "a3")
    throttle.succeeded("erin", "a3", good)  # a3 keeps nothing of a good login
    for name in ("f", "g"):
        throttle.begin(name, "a3")
    assert not isinstance(throttle.begin("h", "a3"), Throttled), "the good login is not held against a3"
    clock.now = 14.0
    assert not isinstance(throttle.begin("carol", "a1"), Throttled)


def test_attempts_count_before_their_passwords_are_checked(clock: Clock) -> None:
    throttle = LoginThrottle(per_user=3, per_address=100, window_secs=60.0, monotonic=lambda: clock.now)
    begun = [throttle.begin("alice", f"10.0.0.{n}") for n in range(5)]  # five sent at once, none checked yet
    assert [isinstance(t, Throttled) for t in begun] == [False, False, False, True, True]


def test_an_address_the_user_signed_in_from_is_not_locked_by_the_users_limit(clock: Clock) -> None:
    throttle = LoginThrottle(per_user=2, per_address=4, window_secs=60.0, monotonic=lambda: clock.now)
    for n in range(2):
        throttle.begin("alice", f"198.51.100.{n}")  # someone elsewhere guesses alice's password
    assert throttle.user_limited("alice")
    assert isinstance(throttle.begin("alice", "10.0.0.5"), Throttled)
    assert not isinstance(throttle.begin("alice", "10.0.0.5", regular=True), Throttled)
    for _ in range(3):  # four attempts from 10.0.0.5 in all
        throttle.begin("alice", "10.0.0.5", regular=True)
    assert isinstance(throttle.begin("alice", "10.0.0.5", regular=True), Throttled), "the address's own limit holds"


@pytest.mark.parametrize("address, key", [
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"), ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"), ("192.0.2.7", "192.0.2.7"), ("testclient", "testclient"),
])
def test_ipv6_addresses_count_by_their_64_network(address: str, key: str) -> None:
    assert address_key(address) == key


def test_one_host_cannot_slip_the_address_limit_by_changing_its_ipv6_suffix(clock: Clock) -> None:
    throttle = LoginThrottle(per_user=100, per_address=3, window_secs=60.0, monotonic=lambda: clock.now)
    for n in range(3):
        throttle.begin(f"u{n}", f"2001:db8:0:1::{n + 1}")
    assert isinstance(throttle.begin("u9", "2001:db8:0:1:dead:beef::9"), Throttled)
    assert not isinstance(throttle.begin("u9", "2001:db8:0:2::1"), Throttled)


def test_a_throttled_key_is_announced_once_per_window(clock: Clock) -> None:
    throttle = LoginThrottle(per_user=1, per_address=100, window_secs=60.0, monotonic=lambda: clock.now)
    throttle.begin("alice", "a1")
    refusals = [throttle.begin("alice", "a1") for _ in range(5)]
    assert [r.first for r in refusals if isinstance(r, Throttled)] == [True, False, False, False, False]
    clock.now = 61.0
    throttle.begin("alice", "a1")
    refused = throttle.begin("alice", "a1")
    assert isinstance(refused, Throttled) and refused.first, "a new window is announced again"


def test_the_tables_stay_bounded_keeping_the_recent_keys(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_throttle, "_MAX_KEYS", 10)
    throttle = LoginThrottle(per_user=1, per_address=100, window_secs=60.0, monotonic=lambda: clock.now)
    for n in range(4):
        throttle.begin(f"old{n}", "a1")  # 5 keys: old0-3 and a1
    clock.now = 61.0  # those have left the window
    throttle.begin("recent", "a2")
    for n in range(20):
        throttle.begin(f"new{n}", f"b{n}")
    assert len(throttle._attempts) <= 10 + 2  # the limit, and the keys of the attempt that found it full
    assert isinstance(throttle.begin("new19", "c1"), Throttled), "the newest keys are kept"
