"""The emulator's faults during a replayed day through the real daemon (600x): the session goes
on, and each test states what the account and the day's stored bars look like afterwards.

Three days, one per family of fault, each armed through the emulator's `/_emulator/faults` at
a market time of the emulator's clock (or after the daemon's next order, for the faults that
hit "the next order"). The daemon is reached only through its socket, its metrics and its
report files; the emulator through its Alpaca API and its own request log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from support.alpaca_day import (
    AlpacaDay,
    regular_session_bars,
    start_alpaca_day,
)
from support.alpaca_emulator import NY
from support.venue_day import market_time, report_rows
from support.venue_day import run_with_faults as run_day
from support.daemon_process import DAY

SPEED = 600.0
pytestmark = pytest.mark.slow


@pytest.fixture
def day(tmp_path: Path, emulator_data: Path, alpaca_session: Path) -> Iterator[AlpacaDay]:
    running = start_alpaca_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(9, 20), speed=SPEED)
    yield running
    running.daemon.kill()
    running.daemon.notify.close()
    running.emulator.stop()


def at(hh: int, mm: int) -> datetime:
    return datetime(2011, 1, 4, hh, mm, tzinfo=NY).astimezone(UTC)


def orders_posted(day: AlpacaDay, n: int) -> Callable[[], bool]:
    return lambda: len(day.posted_ids()) >= n


def emulator_orders(day: AlpacaDay) -> dict[str, Any]:
    return {o.client_order_id: o for o in day.client().get_orders(_all_orders())}


def _all_orders() -> Any:
    from alpaca.trading.enums import QueryOrderStatus
    from alpaca.trading.requests import GetOrdersRequest
    return GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500)


def assert_books_agree_and_flat(day: AlpacaDay, final: dict[str, Any]) -> None:
    """The session went on to its end; the daemon's orders equal the account's; flat after the close."""
    assert final["session_failures"] == 0, final
    state = day.emulator.state()
    assert state["positions"] == [] and state["open_orders"] == [], state
    ours = {row["client_order_id"]: row for row in report_rows(day, DAY, "orders.csv")}
    theirs = emulator_orders(day)
    assert set(theirs) <= set(ours), "every order at the broker is one of ours"
    for cid, order in theirs.items():
        assert int(ours[cid]["filled_quantity"] or 0) == int(float(order.filled_qty or 0)), (cid, ours[cid], order)
        assert ours[cid]["status"] == {"filled": "filled", "canceled": "canceled", "expired": "canceled",
                                       "rejected": "rejected"}.get(order.status.value, ours[cid]["status"]), cid


def test_stream_faults_reconnect_and_the_day_s_bars_are_complete(day: AlpacaDay, emulator_data: Path) -> None:
    final = run_day(day, [
        (market_time(day, at(10, 0)), "drop_stream", {"stream": "data"}),
        (market_time(day, at(11, 0)), "drop_stream", {"stream": "trading"}),
        (market_time(day, at(12, 0)), "stall_stream", {"minutes": 6}),
        (market_time(day, at(13, 30)), "skip_bars", {"count": 3}),
        (market_time(day, at(14, 30)), "drop_stream", {"stream": "both"}),
    ])
    broker = final["broker"]
    assert broker["reconnects"]["data"] >= 3 and broker["reconnects"]["trading"] >= 2, broker
    assert broker["stalls"] >= 1 and broker["gaps_filled"] >= 3, broker
    assert broker["connected"] is True
    metrics = day.daemon.metrics()
    assert 'mismarterad_stream_reconnects_total{stream="data"}' in metrics
    assert_books_agree_and_flat(day, final)
    # every missing minute was fetched back: the stored day is the venue's whole session
    assert regular_session_bars(day.daemon_data, "SPY", DAY) == regular_session_bars(emulator_data, "SPY", DAY)


def test_rest_faults_never_duplicate_an_order(day: AlpacaDay) -> None:
    final = run_day(day, [
        (market_time(day, at(9, 31)), "http_429", {"count": 2}),
        (orders_posted(day, 1), "http_500", {"count": 1}),
        (orders_posted(day, 2), "lost_response", {"count": 1, "hold_secs": 2}),
        (orders_posted(day, 3), "delay", {"ms": 300, "count": 5}),
    ])
    assert_books_agree_and_flat(day, final)
    theirs = emulator_orders(day)
    posted = day.posted_ids()
    assert len(theirs) == len(set(posted)), "each id became one order"
    twice = {cid for cid in posted if posted.count(cid) > 1}
    assert len(twice) <= 2, f"only the 429s (never created) may be sent again: {twice}"


def test_order_update_faults_never_count_a_fill_twice(day: AlpacaDay) -> None:
    final = run_day(day, [
        (market_time(day, at(9, 25)), "reject_next_order", {}),
        (orders_posted(day, 1), "partial_fill", {"fraction": 0.5}),
        (orders_posted(day, 2), "duplicate_updates", {"count": 6}),
        (orders_posted(day, 3), "out_of_order_updates", {}),
    ])
    assert_books_agree_and_flat(day, final)
    # a start-up slower than the venue refuses the decisions of bars that passed before it (never
    # sent late): the first order sent is the one the venue rejected
    ours = [row for row in report_rows(day, DAY, "orders.csv") if row["status"] != "refused"]
    first = ours[0]
    assert first["status"] == "rejected" and first["filled_quantity"] in ("", "0"), first
    partial = emulator_orders(day)[ours[1]["client_order_id"]]
    assert partial.status.value == "filled" and int(float(partial.filled_qty)) == int(ours[1]["quantity"])
