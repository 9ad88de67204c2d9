"""The clock contract (`core/clock.py`): every Clock implementation must pass these.

`SystemClock` and `ReplayClock` run by themselves; `SimClock` only moves when set, so its rig
moves it from another thread where a test waits for an instant. Timing bounds are generous
(a loaded CI machine must never fail them); each test takes well under a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from mismarterad.core.clock import Clock, ReplayClock, SimClock, SystemClock

T0 = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)


@dataclass
class Rig:
    clock: Clock
    # real seconds this clock takes to cover `delta` of its own time (None: only when set)
    real_secs: Callable[[timedelta], float] | None
    reach: Callable[[datetime], None]  # make sure the clock will reach an instant


def _sim() -> Rig:
    clock = SimClock(T0)

    def reach(t: datetime) -> None:
        threading.Timer(0.05, clock.set, (t,)).start()

    return Rig(clock, None, reach)


def _replay() -> Rig:
    return Rig(ReplayClock(T0, speed=60.0), lambda d: d.total_seconds() / 60.0, lambda _t: None)


def _system() -> Rig:
    return Rig(SystemClock(), lambda d: d.total_seconds(), lambda _t: None)


RIGS: dict[str, Callable[[], Rig]] = {"system": _system, "replay": _replay, "sim": _sim}


@pytest.fixture(params=sorted(RIGS))
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    yield RIGS[request.param]()


def test_is_a_clock(rig: Rig) -> None:
    assert isinstance(rig.clock, Clock)


def test_now_is_aware_utc_and_never_goes_backwards(rig: Rig) -> None:
    previous = rig.clock.now()
    for i in range(2000):
        if isinstance(rig.clock, SimClock) and i % 100 == 0:
            rig.clock.set(previous + timedelta(seconds=1))
        now = rig.clock.now()
        assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
        assert now >= previous
        previous = now


def test_sleep_until_returns_true_once_the_instant_is_reached(rig: Rig) -> None:
    ahead = timedelta(milliseconds=60) if isinstance(rig.clock, SystemClock) else timedelta(seconds=3)
    target = rig.clock.now() + ahead  # 60 ms, or 50 ms at 60x, or set by the rig after 50 ms
    rig.reach(target)
    assert rig.clock.sleep_until(target, threading.Event()) is True
    assert rig.clock.now() >= target


def test_sleep_until_an_instant_already_past_returns_true_at_once(rig: Rig) -> None:
    started = time.monotonic()
    assert rig.clock.sleep_until(rig.clock.now() - timedelta(hours=1), threading.Event()) is True
    assert time.monotonic() - started < 0.5


def test_sleep_until_returns_false_promptly_when_stopped(rig: Rig) -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    assert rig.clock.sleep_until(rig.clock.now() + timedelta(days=1), stop) is False
    assert time.monotonic() - started < 1.0, "a stop is seen within a wait slice"
    assert rig.clock.sleep_until(rig.clock.now() - timedelta(hours=1), stop) is False, "stop set first: False"


def test_real_delay_is_positive_ahead_and_not_positive_behind(rig: Rig) -> None:
    now = rig.clock.now()
    assert rig.clock.real_delay(now + timedelta(hours=1)) > 0
    assert rig.clock.real_delay(now - timedelta(hours=1)) <= 0
    if rig.real_secs is not None:
        assert rig.clock.real_delay(now + timedelta(hours=1)) == pytest.approx(rig.real_secs(timedelta(hours=1)),
                                                                                 rel=0.01)


def test_replay_sleep_until_waits_the_clock_gap_divided_by_the_speed() -> None:
    clock = ReplayClock(T0, speed=120.0)
    target = clock.now() + timedelta(minutes=1)  # 0.5 real seconds at 120x
    started = time.monotonic()
    assert clock.sleep_until(target, threading.Event())
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 2.0, elapsed
    assert clock.real_delay(target) <= 0


def test_replay_clocks_with_one_anchor_read_the_same_time_whenever_each_was_made() -> None:
    """The anchor is a wall instant: a clock made 3 real seconds after it (a slow start-up)
    reads start + 3 s x speed, the time an earlier-made twin reads, not `start`."""
    monotonic = [100.0]
    wall = [1_000_000.0]
    early = ReplayClock(T0, 600.0, anchor=1_000_000.0, monotonic=lambda: monotonic[0], wall=lambda: wall[0])
    monotonic[0] += 3.0
    wall[0] += 3.0
    late = ReplayClock(T0, 600.0, anchor=1_000_000.0, monotonic=lambda: monotonic[0], wall=lambda: wall[0])
    unanchored = ReplayClock(T0, 600.0, monotonic=lambda: monotonic[0], wall=lambda: wall[0])
    assert late.now() == early.now() == T0 + timedelta(minutes=30)
    assert unanchored.now() == T0
    monotonic[0] += 1.0  # both run on from there
    assert late.now() == early.now() == T0 + timedelta(minutes=40)
    future = ReplayClock(T0, 600.0, anchor=wall[0] + 2.0, monotonic=lambda: monotonic[0], wall=lambda: wall[0])
    assert future.now() == T0 - timedelta(minutes=20)  # before its anchor it reads before its start


def test_replay_and_sim_refuse_naive_instants() -> None:
    naive = datetime(2011, 1, 4, 9, 30)
    with pytest.raises(ValueError, match="aware"):
        ReplayClock(naive, speed=1.0)
    with pytest.raises(ValueError, match="aware"):
        SimClock(naive)
    with pytest.raises(ValueError, match="speed"):
        ReplayClock(T0, speed=0)
    sim = SimClock(T0)
    with pytest.raises(ValueError, match="cannot go back"):
        sim.set(T0 - timedelta(seconds=1))
