"""Schwab's JSON in and out: order specs as schwab-py builds them, orders with their executions
(each once, oldest first, whatever the list's order), statuses mapped or refused, the account,
positions, candles and streamed bars."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mismarterad.core.orders import OrderRequest, OrderStatus, OrderType, Side
from mismarterad.integrations.schwab.parse import (
    order_status,
    parse_account,
    parse_candles,
    parse_chart_bar,
    parse_order,
    parse_positions,
    parse_request,
    price_refusal,
    reject_message,
    to_schwab_order,
    utc,
)

T = datetime(2024, 3, 11, 13, 31, tzinfo=UTC)


def _req(type_: OrderType, limit: float | None = None, stop: float | None = None, side: Side = Side.BUY
         ) -> OrderRequest:
    return OrderRequest("c1", "AAPL", side, 10, type_, limit, stop, T)


@pytest.mark.parametrize(("type_", "limit", "stop", "fields"), [
    (OrderType.MARKET, None, None, {"orderType": "MARKET"}),
    (OrderType.MARKET_ON_CLOSE, None, None, {"orderType": "MARKET_ON_CLOSE"}),
    (OrderType.LIMIT, 187.5, None, {"orderType": "LIMIT", "price": "187.50"}),
    (OrderType.LIMIT, 0.5123, None, {"orderType": "LIMIT", "price": "0.5123"}),
    (OrderType.STOP, None, 99.0, {"orderType": "STOP", "stopPrice": "99.00"}),
])
def test_requests_are_single_leg_day_orders_in_the_normal_session(type_: OrderType, limit: float | None,
                                                                   stop: float | None, fields: dict[str, Any]) -> None:
    spec = to_schwab_order(_req(type_, limit, stop, Side.SELL))
    assert (spec["session"], spec["duration"], spec["orderStrategyType"]) == ("NORMAL", "DAY", "SINGLE")
    assert spec["orderLegCollection"] == [{"instruction": "SELL", "instrument": {"assetType": "EQUITY",
                                                                                 "symbol": "AAPL"}, "quantity": 10}]
    assert {k: spec[k] for k in fields} == fields


def test_a_price_schwab_cannot_take_is_refused_before_the_wire() -> None:
    assert price_refusal(_req(OrderType.LIMIT, 187.123)) is not None
    assert price_refusal(_req(OrderType.STOP, stop=12.345)) is not None
    assert price_refusal(_req(OrderType.LIMIT, 187.12)) is None and price_refusal(_req(OrderType.LIMIT, 0.1234)) is None


def _order(status: str = "WORKING", filled: float = 0, activities: list[dict[str, Any]] | None = None,
           **extra: Any) -> dict[str, Any]:
    return {"orderId": 1001, "status": status, "orderType": "MARKET", "duration": "DAY", "quantity": 10.0,
            "filledQuantity": filled, "enteredTime": "2024-03-11T13:31:00+0000",
            "orderLegCollection": [{"instruction": "BUY", "instrument": {"assetType": "EQUITY", "symbol": "AAPL"},
                                    "quantity": 10.0}],
            **({"orderActivityCollection": activities} if activities else {}), **extra}


def _fill(activity_id: int, qty: float, price: float, at: str) -> dict[str, Any]:
    return {"activityType": "EXECUTION", "activityId": activity_id, "executionType": "FILL", "quantity": qty,
            "executionLegs": [{"legId": 1, "quantity": qty, "price": price, "time": at}]}


def test_executions_are_read_once_each_oldest_first_whatever_the_list_says() -> None:
    late, early = _fill(7, 6, 11.0, "2024-03-11T13:33:00+0000"), _fill(5, 4, 10.0, "2024-03-11T13:32:00+0000")
    placed = parse_order(_order("FILLED", 10, [late, early, late]))
    assert [(e.execution_id, e.quantity, e.price) for e in placed.executions] == [("5.1", 4, 10.0), ("7.1", 6, 11.0)]
    report = placed.report("c1")
    assert (report.status, report.filled_quantity, report.avg_fill_price) == (OrderStatus.FILLED, 10, 10.6)
    assert report.filled_utc == datetime(2024, 3, 11, 13, 33, tzinfo=UTC) == report.updated_utc


def test_a_filled_quantity_ahead_of_the_executions_listed_has_no_average_price_yet() -> None:
    """Priced only once the executions cover every filled share: 5 @ 10 listed of 8 filled must
    not book the other 3 at 10 (the order book waits for their executions)."""
    ahead = parse_order(_order("WORKING", 8, [_fill(5, 5, 10.0, "2024-03-11T13:32:00+0000")])).report("c1")
    assert (ahead.filled_quantity, ahead.avg_fill_price) == (8, None)
    caught_up = parse_order(_order("WORKING", 8, [_fill(5, 5, 10.0, "2024-03-11T13:32:00+0000"),
                                                 _fill(6, 3, 11.0, "2024-03-11T13:33:00+0000")])).report("c1")
    assert caught_up.avg_fill_price == pytest.approx(83.0 / 8)


def test_a_working_order_with_shares_filled_is_partially_filled_and_the_request_is_what_it_stands_for() -> None:
    placed = parse_order(_order("WORKING", 4, [_fill(5, 4, 10.0, "2024-03-11T13:32:00+0000")]))
    assert placed.status is OrderStatus.PARTIALLY_FILLED
    assert parse_request(placed, "schwab-1001") == OrderRequest("schwab-1001", "AAPL", Side.BUY, 10, OrderType.MARKET,
                                                                None, None, T)


@pytest.mark.parametrize(("schwab", "ours"), [
    ("QUEUED", OrderStatus.ACCEPTED), ("WORKING", OrderStatus.ACCEPTED), ("PENDING_CANCEL", OrderStatus.ACCEPTED),
    ("AWAITING_MANUAL_REVIEW", OrderStatus.ACCEPTED), ("UNKNOWN", OrderStatus.ACCEPTED),
    ("FILLED", OrderStatus.FILLED), ("CANCELED", OrderStatus.CANCELED), ("REPLACED", OrderStatus.CANCELED),
    ("EXPIRED", OrderStatus.EXPIRED), ("REJECTED", OrderStatus.REJECTED),
])
def test_statuses_map_explicitly(schwab: str, ours: OrderStatus) -> None:
    assert order_status(schwab) is ours


def test_an_unknown_status_type_or_leg_count_is_an_error_never_a_default() -> None:
    with pytest.raises(ValueError, match="status"):
        order_status("TELEPORTED")
    with pytest.raises(ValueError, match="order type"):
        parse_order(_order(orderType="NET_DEBIT"))
    with pytest.raises(ValueError, match="legs"):
        parse_order(_order(orderLegCollection=[]))


def test_account_positions_candles_and_streamed_bars() -> None:
    raw = {"securitiesAccount": {"roundTrips": 2, "currentBalances": {"cashBalance": 900.0, "liquidationValue": 1500.0},
                                 "positions": [{"longQuantity": 10.0, "shortQuantity": 0.0, "averagePrice": 60.0,
                                                "instrument": {"symbol": "SPY"}},
                                               {"longQuantity": 0.0, "shortQuantity": 3.0, "averagePrice": 5.0,
                                                "instrument": {"symbol": "QQQ"}}]}}
    account = parse_account(raw)
    assert (account.cash, account.equity, account.positions_value, account.day_trade_count) == (900, 1500, 600, 2)
    assert [(p.symbol, p.quantity) for p in parse_positions(raw)] == [("QQQ", -3), ("SPY", 10)]
    [bar] = parse_candles({"symbol": "SPY", "candles": [{"open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume": 7,
                                                         "datetime": 1710163860000}]}, "SPY", "1m")
    assert (bar.start_utc, bar.volume) == (T, 7)
    with pytest.raises(ValueError, match="QQQ"):
        parse_candles({"symbol": "QQQ", "candles": []}, "SPY", "1m")
    streamed = parse_chart_bar({"key": "SPY", "OPEN_PRICE": 1.0, "HIGH_PRICE": 2.0, "LOW_PRICE": 0.5,
                                "CLOSE_PRICE": 1.5, "VOLUME": 7.0, "CHART_TIME_MILLIS": 1710163860000})
    assert streamed == bar


def test_times_and_error_messages() -> None:
    assert utc("2024-03-11T13:31:00+0000") == T == utc("2024-03-11T13:31:00Z")
    assert reject_message({"message": "Invalid order", "errors": ["quantity: too big"]}) == "Invalid order: quantity: too big"
    assert reject_message("<html>") == "(no message)"
