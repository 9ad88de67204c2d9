"""Orders that survive anything: the daemon SIGKILLed at 50+ moments of two replayed days.

The real daemon trades tests/support/churn_strategy.py (an order every 3 minutes, one resting
limit order all day, a position held into the close flatten) through a real venue emulator
(crash_harness.CrashVenue: Alpaca's or Schwab's), on one emulator account over two consecutive
days (2011-01-04 and 2011-01-05). The daemon is killed with SIGKILL again and again, and
restarted at once on a replay clock that starts at the emulator's time. The kills mix:

* armed failpoints (mismarterad/core/failpoints.py): a random point of the order flow and a
  random small hit number; the day's end always arms the close flatten and the report write;
* a kill mid-send: the emulator holds the daemon's next order POST (its request, or its answer) and the
  daemon is killed while it is held;
* plain SIGKILLs from outside at random times.

After each day's close and at the end: no order was POSTed twice (Alpaca: the request log's
client ids; Schwab: the orders the venue made, each bound once in the daemon's ledger), every
order at the emulator is in the daemon's database, every journaled order has a final status,
the database's positions equal the emulator's, the account is flat with no open orders, the
day's report folder is complete, and no burst of orders followed a restart.

Run the tests with -s to see the summary table (also written to <tmp_path>/crash_summary.json).
CRASH_SEED=<n> repeats a run's random choices (the timing of the processes still varies).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import pytest

from support import crash_harness as harness
from support.crash_harness import CrashRig, CrashVenue, Kill, ny

SPEED = 170.0
EVERY = 3  # minutes between the strategy's decisions (the first at the 09:31 bar)
DAYS = ("2011-01-04", "2011-01-05")
KILLS_PER_DAY = 25
FAILPOINT_WAIT_SECS = 5.0  # an order every ~1 s of real time: a flow point not passed by then is news
FLOW_POINTS = ("intent_journaled", "order_acked", "fill_received")
# the close flatten this long before the close: a restart after the kill in it has 20 market
# minutes (7 s at 170x) to flatten before the venue's close, even on a machine busy with other
# tests (both venues' crash tests may run at once on CI's two workers)
FLATTEN_MINUTES = 20


def crash_rig_fixture(venue: CrashVenue) -> Any:
    """A `rig` fixture of the crash test on `venue`: the churn strategy, reconciled every 5 minutes."""
    @pytest.fixture
    def rig(tmp_path: Path, emulator_data: Path) -> Iterator[CrashRig]:
        config = harness.churn_session_config(tmp_path / "session", flatten_minutes=FLATTEN_MINUTES,
                                              every_minutes=EVERY, quantity=10, resting_limit_pct=5.0,
                                              resting_at=["09:45"], quiet_minutes=FLATTEN_MINUTES + 2,
                                              end_long_minutes=6)
        running = CrashRig(tmp_path / "rig", emulator_data, config, SPEED,
                           daemon_config={"reconcile_every_minutes": 5}, venue=venue)
        yield running
        running.close()

    return rig


def kill_at_failpoint(rig: CrashRig, point: str, hit: int, *, until: datetime, note: str = "",
                      in_window: bool = True, wait_secs: float = 120.0) -> Kill:
    """Start with `point:hit` armed; the daemon kills itself there, or (not reached within
    `wait_secs` or before the emulator's clock reaches `until`) is killed from outside."""
    record = Kill(rig.day, len(rig.kills) + 1, "failpoint", point, hit, note=note)
    start = rig.start_daemon(f"{point}:{hit}")
    rig.wait_resumed(start, in_window=in_window and rig.emulator_now() < ny(rig.day, 16, 0))
    record.resume_secs = start.resume_secs
    record.fired = rig.wait_died(wait_secs, until)
    if not record.fired:
        record.note = (record.note + " not reached: killed from outside").strip()
    rig.kill(record)
    return record


def kill_at_random(rig: CrashRig, rng: random.Random) -> Kill:
    """SIGKILL from outside at a random instant 0.3-5 s after the start: during the start-up
    (the resume's catch-up and adoption) or in the order flow after it."""
    record = Kill(rig.day, len(rig.kills) + 1, "random", "random")
    record.planned_real_secs = round(rng.uniform(0.3, 5.0), 3)
    start = rig.start_daemon()
    deadline = time.monotonic() + record.planned_real_secs
    while time.monotonic() < deadline and start.resume_secs is None and rig.alive():
        rig.wait_resumed(start, timeout=max(0.05, deadline - time.monotonic()), must=False)
    time.sleep(max(0.0, deadline - time.monotonic()))
    record.resume_secs = start.resume_secs
    if start.resume_secs is None:
        record.note = "during the start-up"
    rig.kill(record)
    return record


def kill_mid_send(rig: CrashRig, until: datetime, tries: int = 3) -> Kill:
    """Hold the daemon's next order POST (the venue's `hold_post` fault, armed 20 s of market
    time before a decision's POST: Alpaca's `delay` holds its next REST requests, Schwab's
    `lost_response` its next order's answer) and SIGKILL it while the POST is held; delays it
    did not use are used up by our own requests (a lost answer it did not use is the next
    POST's, which the daemon then finds by the matching rule)."""
    record = Kill(rig.day, len(rig.kills) + 1, "mid_send", "mid_send")
    start = rig.start_daemon()
    rig.wait_resumed(start)
    record.resume_secs = start.resume_secs
    assert rig.emulator is not None
    hold = rig.venue.hold_post
    caught, armed, seen = None, int(hold.get("count", 1)), 0
    for _ in range(tries):
        post_at = next_decision_post(rig)
        if not rig.alive() or post_at > until:
            break
        rig.wait_until_emulator(post_at - timedelta(seconds=20))
        seen = len(rig.emulator.requests())
        rig.emulator.fault(**hold)
        deadline = time.monotonic() + 60 * EVERY / SPEED
        while time.monotonic() < deadline and rig.alive():
            fresh = harness.rest_requests(rig, seen)
            posts = [r for r in fresh if rig.venue.is_order_post(r)]
            if posts:
                caught = posts[0]
                break
            if len(fresh) >= armed and hold["kind"] == "delay":
                break
            time.sleep(0.005)
        if caught is not None:
            break
        _use_up_delays(rig, armed - len(harness.rest_requests(rig, seen)))
    record.fired = caught is not None
    record.note = f"held POST {caught.get('client_order_id') or caught.get('order')}" if caught \
        else "no POST came: killed mid-request"
    rig.kill(record)
    _use_up_delays(rig, armed - len(harness.rest_requests(rig, seen)))
    return record


def next_decision_post(rig: CrashRig) -> datetime:
    """The emulator time of the next decision's POST: the end of a decision bar (09:32 + 3k)."""
    now = rig.emulator_now()
    t = ny(rig.day, 9, 32)
    while t - timedelta(seconds=20) <= now:
        t += timedelta(minutes=EVERY)
    return t



def _use_up_delays(rig: CrashRig, count: int) -> None:
    """Spend `count` armed delays on our own requests (in parallel), so the restarted daemon's
    start is not slowed by them."""
    if count <= 0 or rig.venue.hold_post["kind"] != "delay":
        return
    threads = [threading.Thread(target=lambda: rig.venue.poke(rig), daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)


def run_day(rig: CrashRig, rng: random.Random, day: str) -> list[str]:
    """One replayed day with its kills; the problems the checks found after its close."""
    rig.start_emulator(day, dt_time(9, 20))
    first = rig.start_daemon()
    rig.wait_resumed(first, timeout=60)
    first_kill = Kill(day, len(rig.kills) + 1, "random", "random", resume_secs=first.resume_secs,
                      note="the day's first start")
    time.sleep(rng.uniform(0.3, 1.5))
    rig.kill(first_kill)
    end_phase = ny(day, 15, 20)
    while rig.emulator_now() < end_phase:
        kind = rng.choices(("failpoint", "mid_send", "random"), weights=(5, 2, 3))[0]
        if kind == "failpoint":
            kill_at_failpoint(rig, rng.choice(FLOW_POINTS), rng.randint(1, 2), until=end_phase,
                              wait_secs=FAILPOINT_WAIT_SECS)
        elif kind == "mid_send":
            kill_mid_send(rig, until=end_phase)
        else:
            kill_at_random(rig, rng)
    # the close: killed in the close flatten (FLATTEN_MINUTES before the close), then in the
    # report's write (at the window's end, close + 2 minutes); each restart must finish what the
    # killed one left (the flatten, the report)
    kill_at_failpoint(rig, "flatten_order", 1, until=ny(day, 16, 0) - timedelta(minutes=FLATTEN_MINUTES - 3),
                      note="the close flatten")
    kill_at_failpoint(rig, "report_writing", 1, until=ny(day, 16, 10), note="the report write",
                      in_window=False)
    last = rig.start_daemon()
    rig.wait_resumed(last, in_window=False)
    rig.wait_until_emulator(ny(day, 16, 10))
    deadline = time.monotonic() + 10
    while not (rig.report_dir(day) / "run.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # the report recovery and the last saves
    problems = harness.check_books(rig, day)
    rig.stop_daemon()
    rig.stop_emulator()
    return problems


def crash_two_days(rig: CrashRig, tmp_path: Path) -> None:
    """The crash test on `rig` (see the module docstring): two days, 25+ kills each, the books
    checked after each close; AssertionError listing every problem."""
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1, 10**9))
    print(f"\ncrash test seed: {seed} (CRASH_SEED={seed} repeats it)", flush=True)
    rng = random.Random(seed)
    problems: dict[str, list[str]] = {}
    try:
        for day in DAYS:
            problems[day] = run_day(rig, rng, day)
        problems["all"] = harness.burst_problems(rig) + [f"the daemon ended by itself: {e}"
                                                         for e in rig.unexpected_exits]
        if twice := harness.duplicates(rig.posted_ids()):
            problems["all"].append(f"client_order_ids POSTed more than once over both days: {twice}")
    finally:  # the figures, also of a run that failed on its way
        data = harness.summary(rig, seed)
        data["problems"] = problems
        (tmp_path / "crash_summary.json").write_text(json.dumps(data, indent=2, default=str))
        harness.print_summary(data)
        print(f"summary written to {tmp_path / 'crash_summary.json'}; daemon logs under {rig.root / 'daemon'}")
    found = {k: v for k, v in problems.items() if v}
    assert not found, "\n".join(f"{k}: {p}" for k, v in found.items() for p in v)
    per_day = data["kills_per_day"]
    assert all(per_day.get(d, 0) >= KILLS_PER_DAY for d in DAYS) and data["kills"] >= 50, per_day
    assert data["fired_by_point"].get("flatten_order") and data["fired_by_point"].get("report_writing"), \
        f"the close flatten and the report write were killed: {data['fired_by_point']}"
