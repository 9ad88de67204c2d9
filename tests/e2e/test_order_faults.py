"""The emulator's order faults against the daemon's journal: each fault, armed just before one
order of the daemon, ends in the journal outcome it must have, with the positions of the
database equal to the emulator's and no client_order_id POSTed twice.

One replayed morning (120x, 09:20 to about 10:40) through the real daemon and the real
emulator, with tests/support/churn_strategy.py deciding every 6 minutes (10 shares, buy while
flat, sell otherwise). Before a decision's POST (the decision bar ends on the minute; the fault
is armed half a minute before) one fault is armed; the order it hit is the first POST after it:

* lost_response: the order was created but the daemon never got the answer: journaled once,
  filled, its one fill booked once (found by its client_order_id, never POSTed again);
* http_500 after the order was created: the same;
* duplicate_updates: every trade update twice (the same execution_id): each fill booked once;
* out_of_order_updates: the order's updates newest first (fill before new): filled, not
  moved back to accepted;
* partial_fill: half the shares, then the rest on the next bar: filled in full, two fills
  (distinct executions) that add up to the order.

The end is a SIGTERM (on_shutdown = flatten): the account is flat, every order at the emulator
is in the journal with the same filled quantity, and every journaled order is final.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import pytest
from support.crash_harness import FINAL, CrashRig, churn_session_config, duplicates, ny, rest_requests

SPEED = 120.0
DAY = "2011-01-04"
EVERY = 6  # minutes between decisions, the first at the 09:31 bar (its POST at 09:32)
QUANTITY = 10
pytestmark = pytest.mark.slow


@pytest.fixture
def rig(tmp_path: Path, emulator_data: Path) -> Iterator[CrashRig]:
    config = churn_session_config(tmp_path / "session", every_minutes=EVERY, quantity=QUANTITY, first_minute=1)
    running = CrashRig(tmp_path / "rig", emulator_data, config, SPEED)
    yield running
    running.close()


def next_decision_post(rig: CrashRig) -> datetime:
    """The emulator time of the next decision's POST: the end of a decision bar (09:32 + 6k)."""
    now = rig.emulator_now()
    t = ny(DAY, 9, 32)
    while t - timedelta(seconds=30) <= now:
        t += timedelta(minutes=EVERY)
    return t



def arm_before_next_post(rig: CrashRig, kind: str, params: dict[str, Any], *, first_request: bool,
                         tries: int = 5) -> str:
    """Arm `kind` half a minute (market time) before the next decision's POST; return the id of
    the order it hit (the first POST after arming). `first_request`: the fault hits the next
    REST request whatever it is, so it counts only if that request was the POST (else tried again
    at the next decision)."""
    assert rig.emulator is not None
    for _ in range(tries):
        post_at = next_decision_post(rig)
        rig.wait_until_emulator(post_at - timedelta(seconds=30))
        since = len(rig.emulator.requests())
        rig.emulator.fault(kind, **params)
        deadline = time.monotonic() + 30
        while True:
            fresh = rest_requests(rig, since)
            posts = [r for r in fresh if r["method"] == "POST" and r["path"] == "/v2/orders"]
            if posts:
                break
            assert time.monotonic() < deadline, f"no order was POSTed after arming {kind}"
            time.sleep(0.01)
        if not first_request or fresh[0] == posts[0]:
            return str(posts[0]["client_order_id"])
        print(f"{kind} hit {fresh[0]} before the POST; armed again at the next decision")
    raise AssertionError(f"{kind}: the next REST request was never the daemon's POST in {tries} tries")


def wait_final(rig: CrashRig, cid: str, timeout: float = 30.0) -> dict[str, Any]:
    """The journal row of `cid` once it is final at the emulator and in the database."""
    deadline = time.monotonic() + timeout
    row: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        theirs = rig.broker_orders().get(cid)
        row = rig.db.orders().get(cid)
        if theirs is not None and theirs.status.value in FINAL and row is not None and row["status"] in FINAL \
                and int(row["filled_quantity"] or 0) == int(float(theirs.filled_qty or 0)):
            return row
        time.sleep(0.2)
    raise AssertionError(f"{cid} did not end: emulator {rig.broker_orders().get(cid)}, database {row}\n"
                         f"{rig.daemon.log_text()[-3000:] if rig.daemon else ''}")


def wait_positions_agree(rig: CrashRig, timeout: float = 10.0) -> dict[str, int]:
    """Until the database's positions (the newest run's rows) equal the emulator's, read twice
    around the database so a fill between the reads is not taken for an agreement."""
    assert rig.emulator is not None
    deadline = time.monotonic() + timeout
    while True:
        before = {p["symbol"]: int(float(p["qty"])) for p in rig.emulator.state()["positions"]}
        ours = rig.db.newest_positions()
        after = {p["symbol"]: int(float(p["qty"])) for p in rig.emulator.state()["positions"]}
        if before == after == ours:
            return ours
        assert time.monotonic() < deadline, f"positions: database {ours}, emulator {after}"
        time.sleep(0.1)


def fills_of(rig: CrashRig, cid: str) -> list[dict[str, Any]]:
    return [f for f in rig.db.fills() if f["client_order_id"] == cid]


def assert_filled_once(rig: CrashRig, cid: str, row: dict[str, Any], fills: int = 1) -> None:
    theirs = rig.broker_orders()[cid]
    quantity = int(row["quantity"])
    assert row["status"] == "filled" and int(row["filled_quantity"]) == quantity, row
    assert theirs.status.value == "filled" and int(float(theirs.filled_qty)) == quantity == int(float(theirs.qty)), \
        theirs
    booked = fills_of(rig, cid)
    assert len(booked) == fills, f"{cid}: {len(booked)} fills booked, {fills} expected: {booked}"
    assert sum(int(f["quantity"]) for f in booked) == quantity, booked
    assert len({f["execution_id"] for f in booked}) == fills, f"one row per execution: {booked}"
    assert rig.posted_ids().count(cid) == 1, f"{cid} was POSTed {rig.posted_ids().count(cid)} times"


def test_order_faults_end_in_their_journal_and_position_outcomes(rig: CrashRig) -> None:
    rig.start_emulator(DAY, dt_time(9, 20))
    start = rig.start_daemon()
    rig.wait_resumed(start, timeout=60)
    outcomes: dict[str, str] = {}

    cid = arm_before_next_post(rig, "lost_response", {"count": 1, "hold_secs": 2}, first_request=False)
    outcomes["lost_response"] = cid
    assert_filled_once(rig, cid, wait_final(rig, cid))
    wait_positions_agree(rig)

    cid = arm_before_next_post(rig, "http_500", {"count": 1}, first_request=True)
    outcomes["http_500"] = cid
    assert_filled_once(rig, cid, wait_final(rig, cid))
    wait_positions_agree(rig)

    cid = arm_before_next_post(rig, "duplicate_updates", {"count": 6}, first_request=False)
    outcomes["duplicate_updates"] = cid
    assert_filled_once(rig, cid, wait_final(rig, cid))
    wait_positions_agree(rig)

    cid = arm_before_next_post(rig, "out_of_order_updates", {}, first_request=False)
    outcomes["out_of_order_updates"] = cid
    assert_filled_once(rig, cid, wait_final(rig, cid))
    wait_positions_agree(rig)

    cid = arm_before_next_post(rig, "partial_fill", {"fraction": 0.5}, first_request=False)
    outcomes["partial_fill"] = cid
    row = wait_final(rig, cid)
    assert_filled_once(rig, cid, row, fills=2)
    half = int(row["quantity"]) // 2
    assert sorted(int(f["quantity"]) for f in fills_of(rig, cid)) == sorted([half, int(row["quantity"]) - half])
    wait_positions_agree(rig)
    print(f"\norders hit by each fault: {outcomes}")

    # the end: a shutdown flattens; the books agree and nothing was sent twice
    rig.stop_daemon()
    assert rig.daemon is not None and rig.daemon.proc is not None and rig.daemon.proc.returncode == 0
    assert rig.emulator is not None
    state = rig.emulator.state()
    assert state["positions"] == [] and state["open_orders"] == [], state
    assert rig.db.newest_positions() == {}
    assert not duplicates(rig.posted_ids()), f"POSTed twice: {duplicates(rig.posted_ids())}"
    journal, broker = rig.db.orders(), rig.broker_orders()
    assert set(broker) <= set(journal), f"unknown to the journal: {sorted(set(broker) - set(journal))}"
    for cid, order in broker.items():
        assert int(journal[cid]["filled_quantity"]) == int(float(order.filled_qty or 0)), (journal[cid], order)
    assert {c: r["status"] for c, r in journal.items() if r["status"] not in FINAL} == {}
    executions = Counter((f["client_order_id"], f["execution_id"]) for f in rig.db.fills())
    assert all(n == 1 for n in executions.values()), executions
