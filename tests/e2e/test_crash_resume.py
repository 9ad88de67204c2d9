"""The crash test over the Alpaca emulator (support/crash_days.py says what it does and checks),
and the issue's own 600x acceptance scenario with dropped streams."""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta
from datetime import time as dt_time
from pathlib import Path

import pytest
from support.crash_days import DAYS, crash_rig_fixture, crash_two_days
from support.crash_harness import (
    ALPACA,
    CrashRig,
    Kill,
    burst_problems,
    check_books,
    churn_session_config,
    duplicates,
    ny,
    print_summary,
    summary,
)

pytestmark = pytest.mark.slow


rig = crash_rig_fixture(ALPACA)


@pytest.mark.timeout(600)
def test_sigkill_at_50_moments_of_two_days_loses_nothing_and_sends_nothing_twice(
        rig: CrashRig, tmp_path: Path) -> None:
    crash_two_days(rig, tmp_path)


@pytest.fixture
def rig600(tmp_path: Path, emulator_data: Path) -> CrashRig:
    config = churn_session_config(tmp_path / "session", every_minutes=5, quantity=10, resting_limit_pct=5.0,
                                  resting_at=["09:45"], quiet_minutes=15, end_long_minutes=10)
    running = CrashRig(tmp_path / "rig", emulator_data, config, 600.0, daemon_config={"reconcile_every_minutes": 5})
    yield running
    running.close()


@pytest.mark.timeout(600)
def test_two_days_at_600x_with_two_kills_a_day_and_a_dropped_stream_each_day(rig600: CrashRig) -> None:
    """The issue's own acceptance scenario: 2011-01-04 and 2011-01-05 on one emulator account at
    600x, SIGKILL twice a day at random moments of the trading day and a restart at once at
    the emulator's time, the data stream dropped once on day 1 and the trading stream once on
    day 2; then the same books as the crash test (ids POSTed once, every broker order in the
    database, no burst after a restart, flat after each close, both reports)."""
    rig = rig600
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1, 10**9))
    print(f"\n600x scenario seed: {seed}", flush=True)
    rng = random.Random(seed)
    problems: dict[str, list[str]] = {}
    for day, stream in zip(DAYS, ("data", "trading"), strict=True):
        rig.start_emulator(day, dt_time(9, 20))
        rig.wait_resumed(rig.start_daemon(), timeout=60)
        # kill moments and the drop, in emulator minutes after 09:35 (the trading day's orders)
        kills = sorted(rng.sample(range(0, 355), 2))
        drop = rng.choice([m for m in range(10, 350) if all(abs(m - k) > 10 for k in kills)])
        events = sorted([(k, "kill") for k in kills] + [(drop, "drop")])
        for minute, what in events:
            rig.wait_until_emulator(ny(day, 9, 35) + timedelta(minutes=minute))
            if what == "drop":
                rig.emulator.fault("drop_stream", stream=stream)
                continue
            rig.kill(Kill(day, len(rig.kills) + 1, "random", "random", note=f"at 09:35 + {minute} min"))
            rig.wait_resumed(rig.start_daemon(), timeout=60)
        rig.wait_until_emulator(ny(day, 16, 10))
        deadline = time.monotonic() + 10
        while not (rig.report_dir(day) / "run.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        problems[day] = check_books(rig, day)
        rig.stop_daemon()
        rig.stop_emulator()
    # 0.2 s = 2 market minutes either side: the normal flow sends at most 2 orders in 4 minutes
    problems["all"] = burst_problems(rig, window_secs=0.2, limit=2) + [
        f"the daemon ended by itself: {e}" for e in rig.unexpected_exits]
    if twice := duplicates(rig.posted_ids()):
        problems["all"].append(f"client_order_ids POSTed more than once over both days: {twice}")
    data = summary(rig, seed)
    print_summary(data)
    found = {k: v for k, v in problems.items() if v}
    assert not found, "\n".join(f"{k}: {p}" for k, v in found.items() for p in v)
    assert data["kills_per_day"] == {d: 2 for d in DAYS} and data["orders_posted"] > 40, data["kills_per_day"]
