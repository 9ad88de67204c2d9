"""Reconciliation with the broker, end to end: someone changes the emulator's account by hand
while the daemon trades it, and the daemon's next check (every minute of session time here)
finds the difference, shows it in `mismarterctl --json status` and in the metrics, and ends
in the configured policy.

Three differences, made with alpaca-py's TradingClient in SPY (the session's symbol):

1. unknown_order: a limit order far below the market, with a client_order_id of our own;
2. position: a market order by hand that fills (7 shares the strategies do not know of);
3. missing_order: one of the daemon's resting limit orders canceled by hand.

reconcile_policy = "halt" (the default): each difference halts trading (one day-run per
difference): the daemon's open orders are canceled, no order is sent while halted, and
`mismarterctl resume` (after the owner undid the change) lifts it for good.
reconcile_policy = "adopt": no halt; the daemon trades on, tracks the hand order and books the
hand shares to "(account)", which the shutdown flatten closes with the rest.

A replayed morning per test (120x), the strategy tests/support/churn_strategy.py: an order
every 4 minutes and a resting buy limit (5 % below the market) at 09:40, 10:15 and 10:45.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from support.crash_harness import CrashRig, churn_session_config, duplicates, ny

SPEED = 120.0
DAY = "2011-01-04"
pytestmark = pytest.mark.slow


def make_rig(tmp_path: Path, emulator_data: Path, policy: str | None) -> CrashRig:
    config = churn_session_config(tmp_path / "session", every_minutes=4, quantity=10, resting_limit_pct=5.0,
                                  resting_at=["09:40", "10:15", "10:45"])
    daemon_config: dict[str, Any] = {"reconcile_every_minutes": 1}
    if policy is not None:
        daemon_config["reconcile_policy"] = policy
    return CrashRig(tmp_path / "rig", emulator_data, config, SPEED, daemon_config=daemon_config)


@pytest.fixture
def halt_rig(tmp_path: Path, emulator_data: Path) -> Iterator[CrashRig]:
    rig = make_rig(tmp_path, emulator_data, None)  # the default policy: halt
    yield rig
    rig.close()


@pytest.fixture
def adopt_rig(tmp_path: Path, emulator_data: Path) -> Iterator[CrashRig]:
    rig = make_rig(tmp_path, emulator_data, "adopt")
    yield rig
    rig.close()


# --- reading the daemon from outside ----------------------------------------------------------


def ctl_status(rig: CrashRig) -> dict[str, Any]:
    assert rig.daemon is not None
    done = rig.daemon.ctl("--json", "status")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def reconciliation(rig: CrashRig) -> dict[str, Any]:
    status = rig.status()
    assert status is not None and "reconciliation" in status, status
    return status["reconciliation"]


def metric(rig: CrashRig, name: str, labels: str = "") -> float:
    """A sample's value from the metrics endpoint (`labels` as written: 'kind="position"')."""
    assert rig.daemon is not None
    text = rig.daemon.metrics()
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else r"") + r" ([-+0-9.eE]+|NaN)$"
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"{name}{{{labels}}} not in the metrics:\n{text[-3000:]}"
    return float(found.group(1))


def wait(what: str, predicate: Callable[[], Any], timeout: float = 30.0,
         show: Callable[[], Any] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f"; now: {show()}" if show else ""))


def count(rig: CrashRig, kind: str) -> int:
    return int(reconciliation(rig)["counts"].get(kind, 0))


def daemon_open_orders(rig: CrashRig) -> list[dict[str, Any]]:
    """The emulator's open orders that the daemon sent (its ids start with the day)."""
    assert rig.emulator is not None
    return [o for o in rig.emulator.state()["open_orders"] if str(o["client_order_id"]).startswith("20110104-")]


def resting_order(rig: CrashRig, after: str) -> dict[str, Any]:
    """The daemon's resting limit order placed at `after` (New York HH:MM) or later, once open."""
    rig.wait_until_emulator(ny(DAY, *map(int, after.split(":"))))
    return wait(f"the daemon's resting order of {after}", lambda: next(
        (o for o in daemon_open_orders(rig) if o["type"] == "limit"), None))


def own_posts(rig: CrashRig) -> list[str]:
    return [cid for cid in rig.posted_ids() if cid.startswith("20110104-")]


def hand_limit(rig: CrashRig, cid: str) -> Any:
    return rig.client().submit_order(LimitOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, limit_price=50.0,
                                                       time_in_force=TimeInForce.DAY, client_order_id=cid))


def hand_market(rig: CrashRig, cid: str, qty: int, side: OrderSide) -> Any:
    rig.client().submit_order(MarketOrderRequest(symbol="SPY", qty=qty, side=side,
                              time_in_force=TimeInForce.DAY, client_order_id=cid))
    return wait(f"the hand order {cid} to fill", lambda: (
        o if (o := rig.client().get_order_by_client_id(cid)).status.value == "filled" else None))  # noqa: B023


# --- the halt policy --------------------------------------------------------------------------


def assert_halted_for(rig: CrashRig, kind: str, before: int, cid: str | None) -> dict[str, Any]:
    """The difference is counted and shown, trading is halted with our open orders canceled, and
    no order is sent for 10 minutes of the session while it holds."""
    rec = wait(f"a {kind} difference to halt trading",
               lambda: (r if (r := reconciliation(rig))["counts"].get(kind, 0) > before and r["halted"] else None),
               show=lambda: reconciliation(rig))
    assert rec["policy"] == "halt", rec
    assert any(m["kind"] == kind and (cid is None or m["client_order_id"] == cid) for m in rec["open"]), rec
    assert kind in str(rec["halted"]), rec
    via_ctl = ctl_status(rig)["reconciliation"]
    assert via_ctl["halted"] and via_ctl["counts"][kind] > before, via_ctl
    assert metric(rig, "mismarterad_reconciliation_mismatches_total", f'kind="{kind}"') > before
    assert metric(rig, "mismarterad_reconciliation_halted") == 1.0
    wait("the daemon's open orders to be canceled", lambda: not daemon_open_orders(rig), timeout=15)
    posted = own_posts(rig)
    halted_at = rig.emulator_now()
    rig.wait_until_emulator(halted_at + timedelta(minutes=10))
    assert own_posts(rig) == posted, f"orders sent while halted: {own_posts(rig)[len(posted):]}"
    assert reconciliation(rig)["halted"], "the halt holds until resume"
    return rec


def resume_and_trade_again(rig: CrashRig) -> None:
    assert rig.daemon is not None
    done = rig.daemon.ctl("resume")
    assert done.returncode == 0, done.stdout + done.stderr
    wait("resume to lift the halt", lambda: reconciliation(rig)["halted"] is None, timeout=10,
         show=lambda: reconciliation(rig))
    assert metric(rig, "mismarterad_reconciliation_halted") == 0.0
    posted = len(own_posts(rig))
    wait("an order after resume", lambda: len(own_posts(rig)) > posted, timeout=20)


@pytest.mark.parametrize("kind", ["unknown_order", "position", "missing_order"])
def test_halt_policy_a_difference_halts_until_resume(halt_rig: CrashRig, kind: str) -> None:
    """One day-run per difference, so that one failing case does not hide the others."""
    rig = halt_rig
    rig.start_emulator(DAY, dt_time(9, 20))
    rig.wait_resumed(rig.start_daemon(), timeout=60)
    client = rig.client()
    assert reconciliation(rig)["policy"] == "halt"
    ours = resting_order(rig, "09:40")
    wait("a first reconciliation", lambda: reconciliation(rig)["checks"] >= 1)
    assert not reconciliation(rig)["halted"] and reconciliation(rig)["open"] == []

    if kind == "unknown_order":  # an order placed by hand, unknown to the daemon
        hand = hand_limit(rig, "by-hand-unknown-1")
        assert_halted_for(rig, kind, 0, "by-hand-unknown-1")
        assert client.get_order_by_client_id("by-hand-unknown-1").status.value in ("new", "accepted"), \
            "a halt cancels our orders, not the account owner's"
        client.cancel_order_by_id(hand.id)  # the owner takes it back, then resumes
    elif kind == "position":  # shares bought by hand
        hand_market(rig, "by-hand-position-1", 7, OrderSide.BUY)
        assert_halted_for(rig, kind, 0, None)
        hand_market(rig, "by-hand-position-2", 7, OrderSide.SELL)  # the owner sells them again
    else:  # one of the daemon's orders canceled by hand
        client.cancel_order_by_id(ours["id"])
        assert_halted_for(rig, kind, 0, ours["client_order_id"])
        assert rig.db.orders()[ours["client_order_id"]]["status"] == "canceled"
    resume_and_trade_again(rig)
    rig.wait_until_emulator(rig.emulator_now() + timedelta(minutes=3))  # the next check after resume
    assert reconciliation(rig)["halted"] is None, f"halted again after resume: {reconciliation(rig)}"
    assert not duplicates(rig.posted_ids())
    assert reconciliation(rig)["counts"][kind] >= 1


# --- the adopt policy -------------------------------------------------------------------------


def test_adopt_policy_takes_the_brokers_word_and_trades_on(adopt_rig: CrashRig) -> None:
    rig = adopt_rig
    rig.start_emulator(DAY, dt_time(9, 20))
    rig.wait_resumed(rig.start_daemon(), timeout=60)
    client = rig.client()
    assert reconciliation(rig)["policy"] == "adopt"
    resting_order(rig, "09:40")
    wait("a first reconciliation", lambda: reconciliation(rig)["checks"] >= 1)

    # 1. an order placed by hand: tracked, no halt
    hand_limit(rig, "by-hand-unknown-1")
    wait("the unknown order to be counted", lambda: count(rig, "unknown_order") >= 1)
    assert metric(rig, "mismarterad_reconciliation_mismatches_total", 'kind="unknown_order"') >= 1

    # 2. shares bought by hand: booked to "(account)", no halt
    hand_market(rig, "by-hand-position-1", 7, OrderSide.BUY)
    wait("the position difference to be counted", lambda: count(rig, "position") >= 1)
    assert metric(rig, "mismarterad_reconciliation_mismatches_total", 'kind="position"') >= 1
    assert rig.daemon is not None
    wait('the hand shares booked to "(account)"', lambda: any(
        "(account)" in p.get("strategies", "") for p in rig.daemon.request("positions")["result"]), timeout=15)

    # 3. one of the daemon's orders canceled by hand: ended in the journal, no halt
    ours = resting_order(rig, "10:15")
    client.cancel_order_by_id(ours["id"])
    wait("the missing order to be counted", lambda: count(rig, "missing_order") >= 1)
    wait("the journal to end it", lambda: rig.db.orders()[ours["client_order_id"]]["status"] == "canceled")

    rec = reconciliation(rig)
    assert rec["halted"] is None and metric(rig, "mismarterad_reconciliation_halted") == 0.0, rec
    posted = len(own_posts(rig))
    wait("trading to go on", lambda: len(own_posts(rig)) > posted, timeout=20)
    assert all(ctl_status(rig)["reconciliation"]["counts"][k] >= 1
               for k in ("unknown_order", "missing_order", "position"))

    # the shutdown flatten closes everything in SPY, the adopted shares and the hand order too
    rig.stop_daemon()
    assert rig.emulator is not None
    state = rig.emulator.state()
    assert state["positions"] == [] and state["open_orders"] == [], state
    assert not duplicates(rig.posted_ids())
