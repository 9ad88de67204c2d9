"""The Schwab emulator's faults during a replayed day through the real daemon (600x): the
session goes on, and each test states what the account and the day's stored bars look like
afterwards. Two days: the streamer's faults, then the REST and order faults (an order whose
answer is lost is found by the matching rule, never sent again; executions listed twice or out
of order count once). The daemon is reached only through its socket, metrics and report files;
the emulator through its Schwab API, its request log and the daemon's order ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.daemon_process import DAY
from support.emulator_process import NY
from support.schwab_day import SchwabDay, start_schwab_day
from support.venue_day import market_time, regular_session_bars, report_rows, run_with_faults, venue_session_config

SPEED = 600.0
REST_SPEED = 300.0
pytestmark = pytest.mark.slow


@pytest.fixture
def day(tmp_path: Path, emulator_data: Path, alpaca_session: Path, venue_days: list[SchwabDay]) -> Iterator[SchwabDay]:
    running = start_schwab_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(9, 20), speed=SPEED)
    venue_days.append(running)
    yield running


@pytest.fixture
def rest_fault_day(tmp_path: Path, emulator_data: Path, venue_days: list[SchwabDay]) -> Iterator[SchwabDay]:
    """The REST faults' day: at 300x, flattening 30 minutes before the close (6 real seconds).
    These faults cost real time (an answer held 2 s, answers delayed 300 ms, fills polled until
    they show, the account reconciled), and Schwab has no order stream to spare the polling: at
    600x, where a real second is ten market minutes, a loaded machine left the pipeline 11-13
    minutes behind the emulator's minute, so the flatten at close - 10 reached the emulator after
    its close and the shares stayed held (the daemon's books said so too, and its log:
    orders_open_after_close). At 1x the same waits are seconds of a minute-long step."""
    session = venue_session_config(tmp_path / "session", flatten_minutes_before_close=30)
    running = start_schwab_day(tmp_path, emulator_data, session, day=DAY, start=time(9, 20), speed=REST_SPEED)
    venue_days.append(running)
    yield running


def at(hh: int, mm: int) -> datetime:
    return datetime(2011, 1, 4, hh, mm, tzinfo=NY).astimezone(UTC)


def orders_posted(day: SchwabDay, n: int) -> Callable[[], bool]:
    return lambda: len(day.posted()) >= n


def emulator_orders(day: SchwabDay) -> dict[str, dict[str, Any]]:
    """Every order of the day at the emulator, by the client id the daemon's ledger bound it to."""
    session = day.emulator.session(day.daemon.root / "state" / "schwab-token.json")
    try:
        now = day.emulator_now()
        listed = session.client.get_orders_for_account(day.emulator.account_hash(),
                                                       from_entered_datetime=now - timedelta(days=2),
                                                       to_entered_datetime=now + timedelta(days=1)).json()
    finally:
        session.close()
    bound = day.ledger()
    return {bound.get(str(o["orderId"]), f"unbound-{o['orderId']}"): o for o in listed}


def assert_books_agree_and_flat(day: SchwabDay, final: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The session went on to its end; every order at Schwab is one of ours, bound once; the
    daemon's orders equal the account's; flat after the close."""
    assert final["session_failures"] == 0, final
    state = day.emulator.state()
    assert state["positions"] == [] and state["open_orders"] == [], state
    ours = {row["client_order_id"]: row for row in report_rows(day, DAY, "orders.csv")}
    theirs = emulator_orders(day)
    assert set(theirs) <= set(ours), f"every order at the broker is one of ours: {sorted(set(theirs) - set(ours))}"
    for cid, order in theirs.items():
        assert int(ours[cid]["filled_quantity"] or 0) == int(order["filledQuantity"]), (cid, ours[cid], order)
        word = {"FILLED": "filled", "CANCELED": "canceled", "EXPIRED": "canceled", "REJECTED": "rejected"}
        assert ours[cid]["status"] == word.get(order["status"], ours[cid]["status"]), cid
    return theirs


def test_streamer_faults_reconnect_and_the_day_s_bars_are_complete(day: SchwabDay, emulator_data: Path) -> None:
    final = run_with_faults(day, [
        (market_time(day, at(10, 0)), "drop_stream", {"stream": "data"}),
        (market_time(day, at(12, 0)), "stall_stream", {"minutes": 6}),
        (market_time(day, at(13, 30)), "skip_bars", {"count": 3}),
        (market_time(day, at(14, 30)), "drop_stream", {"stream": "both"}),
    ])
    broker = final["broker"]
    assert broker["reconnects"]["data"] >= 3 and broker["reconnects"]["trading"] == 0, broker
    assert broker["stalls"] >= 1 and broker["gaps_filled"] >= 3 and broker["connected"] is True, broker
    assert 'mismarterad_stream_reconnects_total{stream="data"}' in day.daemon.metrics()
    assert_books_agree_and_flat(day, final)
    # every missing minute was fetched back: the stored day is the venue's whole session
    assert regular_session_bars(day.daemon_data, "SPY", DAY) == regular_session_bars(emulator_data, "SPY", DAY)


def test_rest_and_order_faults_never_place_an_order_twice_nor_count_a_fill_twice(rest_fault_day: SchwabDay) -> None:
    day = rest_fault_day
    final = run_with_faults(day, [
        (market_time(day, at(9, 25)), "reject_next_order", {}),
        (orders_posted(day, 1), "http_429", {"count": 2}),
        (orders_posted(day, 2), "http_500", {"count": 1}),
        (orders_posted(day, 3), "lost_response", {"count": 1, "hold_secs": 2}),
        (orders_posted(day, 4), "partial_fill", {"fraction": 0.5}),
        (orders_posted(day, 5), "duplicate_updates", {"count": 6}),
        (orders_posted(day, 6), "out_of_order_updates", {}),
        (orders_posted(day, 7), "delay", {"ms": 300, "count": 5}),
    ])
    theirs = assert_books_agree_and_flat(day, final)
    made = [p["order_id"] for p in day.posted() if p.get("order_id")]
    assert len(made) == len(set(made)) and len(theirs) == len(day.ledger()), "each order made once, bound once"
    retried = len(day.posted()) - len(theirs)
    assert retried <= 2, f"only the 429s (never made) may be sent again: {retried}"
    # a start-up slower than the venue refuses the decisions of bars that passed before it (never
    # sent late): the first order sent is the one the venue rejected
    ours = [row for row in report_rows(day, DAY, "orders.csv") if row["status"] != "refused"]
    assert ours[0]["status"] == "rejected" and ours[0]["filled_quantity"] in ("", "0"), ours[0]
    assert all(o["status"] in ("FILLED", "REJECTED", "CANCELED", "EXPIRED") for o in theirs.values())
