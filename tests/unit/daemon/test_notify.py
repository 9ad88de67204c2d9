"""sd_notify through a real datagram socket standing in for systemd's: the watchdog interval is
systemd's ($WATCHDOG_USEC, for our pid only), pinged at half of it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismarterad.daemon.notify import Notifier, watchdog_ping_secs


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    for name in ("WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_pings_at_half_of_watchdog_usec(systemd: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")  # WatchdogSec=30
    clock = FakeMonotonic()
    notifier = Notifier(monotonic=clock)
    assert notifier.watchdog_secs == 15.0
    notifier.watchdog()
    assert received(systemd) == ["WATCHDOG=1"]
    for _ in range(29):  # the main loop calls it every half second while healthy
        clock.now += 0.5
        notifier.watchdog()
    assert received(systemd) == [], "the second ping is due 15 s after the first"
    clock.now += 0.5
    notifier.watchdog()
    assert received(systemd) == ["WATCHDOG=1"]
    assert notifier.poll_secs(0.5) == 0.5


def test_a_short_watchdog_makes_the_loop_poll_faster(systemd: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # WatchdogSec=1: a ping every 0.5 s, a check every 0.25 s
    notifier = Notifier(monotonic=FakeMonotonic())
    assert notifier.watchdog_secs == 0.5 and notifier.poll_secs(0.5) == 0.25


@pytest.mark.parametrize("owner", ["own", "other"])
def test_watchdog_pid_must_be_ours(systemd: socket.socket, monkeypatch: pytest.MonkeyPatch, owner: str) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() if owner == "own" else os.getpid() + 1))
    notifier = Notifier(monotonic=FakeMonotonic())
    notifier.watchdog()
    notifier.ready()
    expected = ["WATCHDOG=1", "READY=1"] if owner == "own" else ["READY=1"]
    assert received(systemd) == expected


def test_without_watchdog_usec_nothing_is_pinged(systemd: socket.socket) -> None:
    notifier = Notifier(monotonic=FakeMonotonic())
    assert notifier.watchdog_secs is None and notifier.poll_secs(0.5) == 0.5
    notifier.watchdog()
    notifier.status("RUNNING")
    assert received(systemd) == ["STATUS=RUNNING"]


def test_a_bad_watchdog_usec_turns_the_pings_off(systemd: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30s")
    notifier = Notifier(monotonic=FakeMonotonic())
    notifier.watchdog()
    assert notifier.watchdog_secs is None and received(systemd) == []


def test_without_notify_socket_every_call_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    notifier = Notifier()
    assert not notifier.enabled and notifier.watchdog_secs is None
    notifier.watchdog()
    notifier.ready()


@given(usec=st.integers(min_value=1, max_value=10**12), pid=st.integers(min_value=1, max_value=2**22))
def test_the_interval_is_half_of_systemds(usec: int, pid: int) -> None:
    assert watchdog_ping_secs({"WATCHDOG_USEC": str(usec)}, pid) == usec / 2_000_000
    assert watchdog_ping_secs({"WATCHDOG_USEC": str(usec), "WATCHDOG_PID": str(pid)}, pid) == usec / 2_000_000
    assert watchdog_ping_secs({"WATCHDOG_USEC": str(usec), "WATCHDOG_PID": str(pid + 1)}, pid) is None


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "abc", "30s"])
def test_a_value_that_is_not_a_positive_count_is_named(value: str) -> None:
    with pytest.raises(ValueError, match="WATCHDOG_USEC"):
        watchdog_ping_secs({"WATCHDOG_USEC": value}, 1)
