"""The emulated account's state machine, minute by minute, without a server."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Side
from mismarterad.integrations.venue_emulator.account import STARTING_CASH, Account
from mismarterad.integrations.venue_emulator.state_store import StateStore
from mismarterad.integrations.venue_emulator.values import (
    EmulatedOrderType,
    MarketPhase,
    OrderError,
    OrderSpec,
    OrderStatus,
    TimeInForce,
)

DAY = date(2011, 1, 4)
OPEN = MarketPhase(is_open=True, session_day=DAY, cls_cutoff_passed=False)
CLOSED = MarketPhase(is_open=False, session_day=DAY, cls_cutoff_passed=False)
LATE = MarketPhase(is_open=True, session_day=DAY, cls_cutoff_passed=True)
T0 = datetime(2011, 1, 4, 16, 0, tzinfo=UTC)
CLOSE = datetime(2011, 1, 4, 21, 0, tzinfo=UTC)


def account() -> Account:
    ids = itertools.count(1)
    return Account(new_id=lambda: f"id-{next(ids)}")


def spec(cid: str, qty: int = 10, side: Side = Side.BUY, kind: EmulatedOrderType = EmulatedOrderType.MARKET,
         tif: TimeInForce = TimeInForce.DAY, limit: float | None = None, stop: float | None = None,
         extended: bool = False) -> OrderSpec:
    return OrderSpec("SPY", qty, side, kind, tif, cid, limit, stop, extended)


def bar(minute: int, o: float, h: float, low: float, c: float) -> Bar:
    return Bar("SPY", "1m", T0 + timedelta(minutes=minute), o, h, low, c, 100)


def test_market_order_fills_once_at_the_next_regular_bar_open() -> None:
    a = account()
    order, updates = a.submit(spec("m1"), T0, OPEN, 100.0)
    assert order.status is OrderStatus.NEW and [u.event for u in updates] == ["new"]
    assert a.on_bars([bar(1, 101, 102, 100, 101.5)], regular=False) == []  # pre-market bar: not eligible
    fills = a.on_bars([bar(2, 101, 102, 100, 101.5)], regular=True)
    assert [(u.event, u.price, u.qty, u.position_qty) for u in fills] == [("fill", 101, 10, 10)]
    assert fills[0].timestamp_utc == bar(2, 1, 1, 1, 1).start_utc
    assert a.on_bars([bar(3, 90, 90, 90, 90)], regular=True) == []  # never twice
    assert a.cash == STARTING_CASH - 1010 and a.positions["SPY"].qty == 10
    assert a.equity() == pytest.approx(STARTING_CASH - 1010 + 900)


def test_extended_hours_orders_fill_on_extended_bars() -> None:
    a = account()
    a.submit(spec("x1", kind=EmulatedOrderType.LIMIT, limit=101, extended=True), T0, OPEN, None)
    assert [u.event for u in a.on_bars([bar(1, 100, 101, 99, 100)], regular=False)] == ["fill"]


def test_orders_taken_outside_hours_are_accepted_then_routed_at_the_open() -> None:
    a = account()
    order, updates = a.submit(spec("q1"), T0, CLOSED, 100.0)
    assert order.status is OrderStatus.ACCEPTED and updates[0].event == "accepted"
    assert a.on_bars([bar(1, 100, 100, 100, 100)], regular=True) == []
    assert [u.event for u in a.open_session(DAY, T0)] == ["new"]
    assert a.open_session(DAY, T0) == []  # once per session
    assert [u.event for u in a.on_bars([bar(2, 100, 100, 100, 100)], regular=True)] == ["fill"]


def test_duplicate_client_order_id_and_cancel_of_a_done_order_are_422() -> None:
    a = account()
    order, _ = a.submit(spec("d1"), T0, OPEN, 100.0)
    with pytest.raises(OrderError) as caught:
        a.submit(spec("d1"), T0, OPEN, 100.0)
    assert (caught.value.http_status, caught.value.code) == (422, 40010001)
    a.on_bars([bar(1, 100, 100, 100, 100)], regular=True)
    with pytest.raises(OrderError) as caught:
        a.cancel(order.id, T0)
    assert caught.value.http_status == 422 and "filled" in caught.value.message
    with pytest.raises(OrderError) as caught:
        a.cancel("nope", T0)
    assert caught.value.http_status == 404


def test_buying_power_is_cash_less_open_buys() -> None:
    a = account()
    a.submit(spec("b1", qty=900, kind=EmulatedOrderType.LIMIT, limit=100), T0, OPEN, None)
    assert a.buying_power() == STARTING_CASH - 90_000
    with pytest.raises(OrderError) as caught:
        a.submit(spec("b2", qty=101), T0, OPEN, 100.0)
    assert (caught.value.http_status, caught.value.code) == (403, 40310000)
    a.submit(spec("s1", qty=5000, side=Side.SELL), T0, OPEN, 100.0)  # selling short needs no cash here


def test_cls_orders_fill_at_the_close_day_orders_expire_gtc_stays() -> None:
    a = account()
    moc, _ = a.submit(spec("c1", tif=TimeInForce.CLS), T0, OPEN, 100.0)
    day, _ = a.submit(spec("c2", kind=EmulatedOrderType.LIMIT, limit=50), T0, OPEN, None)
    gtc, _ = a.submit(spec("c3", kind=EmulatedOrderType.LIMIT, limit=50, tif=TimeInForce.GTC), T0, OPEN, None)
    assert a.on_bars([bar(1, 100, 100, 100, 100)], regular=True) == []  # cls waits for the close
    updates = a.close_session(DAY, [bar(299, 101, 101, 101, 101.25)], CLOSE)
    assert [(u.order.id, u.event) for u in updates] == [(moc.id, "fill"), (day.id, "expired")]
    assert updates[0].price == 101.25 and updates[0].timestamp_utc == CLOSE
    assert a.order(gtc.id).status is OrderStatus.NEW
    assert a.close_session(DAY, [], CLOSE) == []  # once per session
    with pytest.raises(OrderError) as caught:
        a.submit(spec("c4", tif=TimeInForce.CLS), T0, LATE, 100.0)
    assert caught.value.http_status == 422 and "15:50" in caught.value.message


def test_ioc_is_canceled_and_opg_expires_after_their_one_bar() -> None:
    a = account()
    ioc, _ = a.submit(spec("i1", kind=EmulatedOrderType.LIMIT, limit=50, tif=TimeInForce.IOC), T0, OPEN, None)
    opg, _ = a.submit(spec("o1", kind=EmulatedOrderType.LIMIT, limit=50, tif=TimeInForce.OPG), T0, CLOSED, None)
    with pytest.raises(OrderError):
        a.submit(spec("o2", tif=TimeInForce.OPG), T0, OPEN, 100.0)
    a.open_session(DAY, T0)
    events = {(u.order.id, u.event) for u in a.on_bars([bar(1, 100, 100, 100, 100)], regular=True)}
    assert {(ioc.id, "canceled"), (opg.id, "expired")} <= events


def test_stop_limit_triggers_then_works_as_a_limit() -> None:
    a = account()
    order, _ = a.submit(spec("sl", kind=EmulatedOrderType.STOP_LIMIT, stop=105, limit=105.5), T0, OPEN, None)
    assert a.on_bars([bar(1, 100, 104, 99, 103)], regular=True) == []
    assert a.on_bars([bar(2, 107, 108, 106, 107)], regular=True) == []  # gapped over the limit: triggered only
    assert a.order(order.id).triggered
    fills = a.on_bars([bar(3, 106, 106, 105, 105.2)], regular=True)
    assert [(u.event, u.price) for u in fills] == [("fill", 105.5)]


def test_planned_partial_fill_takes_a_share_then_the_rest() -> None:
    a = account()
    order, _ = a.submit(spec("p1", qty=10), T0, OPEN, 100.0)
    a.plan_partial(order.id, 0.25)
    first = a.on_bars([bar(1, 100, 100, 100, 100)], regular=True)
    second = a.on_bars([bar(2, 104, 104, 104, 104)], regular=True)
    assert [(u.event, u.qty) for u in first + second] == [("partial_fill", 2), ("fill", 8)]
    assert a.order(order.id).filled_avg_price == pytest.approx((2 * 100 + 8 * 104) / 10)
    assert first[0].execution_id != second[0].execution_id


def test_positions_go_short_and_flip_through_zero() -> None:
    a = account()
    a.submit(spec("f1", qty=10, side=Side.SELL), T0, OPEN, 100.0)
    a.on_bars([bar(1, 100, 100, 100, 100)], regular=True)
    assert (a.positions["SPY"].qty, a.positions["SPY"].avg_entry_price) == (-10, 100)
    assert a.short_market_value() == -1000
    a.submit(spec("f2", qty=15), T0, OPEN, 90.0)
    a.on_bars([bar(2, 90, 90, 90, 90)], regular=True)
    assert (a.positions["SPY"].qty, a.positions["SPY"].avg_entry_price) == (5, 90)
    assert a.cash == STARTING_CASH + 1000 - 1350


def test_rejected_order_never_fills() -> None:
    a = account()
    order, _ = a.submit(spec("r1"), T0, OPEN, 100.0)
    assert [u.event for u in a.reject(order.id, T0)] == ["rejected"]
    assert a.on_bars([bar(1, 100, 100, 100, 100)], regular=True) == []
    assert a.cash == STARTING_CASH


orders_and_prices = st.lists(
    st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 50), st.integers(5_000, 15_000)),
    min_size=1, max_size=25,
)


@given(orders_and_prices)
def test_every_order_fills_exactly_once_and_cash_and_shares_balance(trades: list[tuple[Side, int, int]]) -> None:
    a = account()
    expected_cash, expected_qty, fills = STARTING_CASH, 0, []
    for minute, (side, qty, cents) in enumerate(trades):
        price = cents / 100
        a.submit(spec(f"h{minute}", qty=qty, side=side), T0, OPEN, price)
        fills += a.on_bars([bar(minute, price, price, price, price)], regular=True)
        fills += a.on_bars([bar(minute, price, price, price, price)], regular=True)  # the same bar again
        expected_cash -= side.sign * qty * price
        expected_qty += side.sign * qty
    assert [u.order.spec.client_order_id for u in fills] == [f"h{i}" for i in range(len(trades))]
    assert len({u.execution_id for u in fills}) == len(trades)
    assert a.cash == pytest.approx(expected_cash)
    held = a.positions.get("SPY")
    assert (held.qty if held is not None else 0) == expected_qty
    assert all(o.status is OrderStatus.FILLED and o.filled_qty == o.spec.qty for o in a.orders.values())


def test_the_state_file_round_trips_the_account(tmp_path: Path) -> None:
    a = account()
    a.submit(spec("s1"), T0, OPEN, 100.0)
    a.submit(spec("s2", kind=EmulatedOrderType.STOP_LIMIT, stop=1, limit=1, side=Side.SELL, tif=TimeInForce.GTC),
             T0, OPEN, None)
    a.on_bars([bar(1, 100, 100, 100, 100.5)], regular=True)
    a.close_session(DAY, [], CLOSE)
    store = StateStore(tmp_path)
    store.save(a)
    back = store.load()
    assert back.cash == a.cash and back.positions == a.positions and back.orders == a.orders
    assert (back.opened_through, back.closed_through, back.last_price) == (a.opened_through, DAY, a.last_price)
    assert back.order_by_client_id("s1").status is OrderStatus.FILLED
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_damaged_state_file_is_a_storage_error_naming_it(tmp_path: Path) -> None:
    from mismarterad.core.errors import StorageError

    (tmp_path / "account.json").write_text("{not json")
    with pytest.raises(StorageError, match="account.json"):
        StateStore(tmp_path).load()
