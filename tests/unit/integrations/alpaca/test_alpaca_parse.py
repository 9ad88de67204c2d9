"""The pure translations: our requests to alpaca-py's, Alpaca's answers and refusals to ours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alpaca.data.models import Bar as AlpacaBar
from alpaca.data.timeframe import TimeFrameUnit

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderRequest, OrderStatus, OrderType, RejectCategory, Side
from mismarterad.integrations.alpaca.parse import (
    is_duplicate_client_order_id,
    order_status,
    parse_bar,
    parse_order,
    parse_request,
    parse_trade_update,
    timeframe,
    to_alpaca_request,
)
from alpaca_updates import alpaca_order, execution, trade_update

from mismarterad.integrations.venue_orders import local_refusal, reject_category

T = datetime(2024, 3, 11, 13, 30, tzinfo=UTC)


def _req(type_: OrderType, qty: int = 10, limit: float | None = None, stop: float | None = None) -> OrderRequest:
    return OrderRequest("o000001", "AAPL", Side.SELL, qty, type_, limit, stop, T)


@pytest.mark.parametrize(("type_", "limit", "stop", "fields"), [
    (OrderType.MARKET, None, None, {"type": "market", "time_in_force": "day"}),
    (OrderType.MARKET_ON_CLOSE, None, None, {"type": "market", "time_in_force": "cls"}),
    (OrderType.LIMIT, 187.5, None, {"type": "limit", "time_in_force": "day", "limit_price": 187.5}),
    (OrderType.STOP, None, 180.0, {"type": "stop", "time_in_force": "day", "stop_price": 180.0}),
])
def test_requests_map_to_day_orders_or_market_on_close(type_: OrderType, limit: float | None, stop: float | None,
                                                        fields: dict[str, object]) -> None:
    body = to_alpaca_request(_req(type_, limit=limit, stop=stop)).to_request_fields()
    assert body["symbol"] == "AAPL" and body["qty"] == 10 and body["side"] == "sell"
    assert body["client_order_id"] == "o000001"
    assert {k: body[k] for k in fields} == fields


@pytest.mark.parametrize(("request_", "category"), [
    (_req(OrderType.MARKET, qty=0), RejectCategory.INVALID_QUANTITY),
    (_req(OrderType.MARKET, qty=1.5), RejectCategory.INVALID_QUANTITY),  # type: ignore[arg-type]
    (_req(OrderType.LIMIT), RejectCategory.INVALID_PRICE),
    (_req(OrderType.STOP, stop=float("nan")), RejectCategory.INVALID_PRICE),
    (_req(OrderType.MARKET), None),
])
def test_obviously_bad_requests_are_refused_before_the_wire(request_: OrderRequest,
                                                            category: RejectCategory | None) -> None:
    refusal = local_refusal(request_)
    assert (refusal[0] if refusal else None) is category


@pytest.mark.parametrize(("status", "message", "category"), [
    (403, "insufficient buying power", RejectCategory.INSUFFICIENT_FUNDS),
    (403, "insufficient qty available for order (requested: 10, available: 0)", RejectCategory.INSUFFICIENT_POSITION),
    (403, "account is not allowed to short", RejectCategory.INSUFFICIENT_POSITION),
    (422, "qty: must be a positive whole number of shares, got 0", RejectCategory.INVALID_QUANTITY),
    (422, "limit_price: must be > 0", RejectCategory.INVALID_PRICE),
    (422, "something else entirely", RejectCategory.OTHER),
])
def test_alpaca_refusals_have_categories(status: int, message: str, category: RejectCategory) -> None:
    assert reject_category(status, message) is category


def test_a_duplicate_client_order_id_is_recognized() -> None:
    assert is_duplicate_client_order_id(422, "client_order_id must be unique")
    assert not is_duplicate_client_order_id(403, "client_order_id must be unique")
    assert not is_duplicate_client_order_id(422, "qty: bad")


@pytest.mark.parametrize(("alpaca", "ours"), [
    ("new", OrderStatus.ACCEPTED), ("accepted", OrderStatus.ACCEPTED), ("pending_new", OrderStatus.ACCEPTED),
    ("accepted_for_bidding", OrderStatus.ACCEPTED), ("held", OrderStatus.ACCEPTED),
    ("pending_cancel", OrderStatus.ACCEPTED),  # not final: it may still fill
    ("partially_filled", OrderStatus.PARTIALLY_FILLED), ("filled", OrderStatus.FILLED),
    ("canceled", OrderStatus.CANCELED), ("replaced", OrderStatus.CANCELED),
    ("expired", OrderStatus.EXPIRED), ("done_for_day", OrderStatus.EXPIRED), ("rejected", OrderStatus.REJECTED),
])
def test_statuses_map_explicitly(alpaca: str, ours: OrderStatus) -> None:
    assert order_status(alpaca) is ours


def test_an_unknown_status_is_an_error() -> None:
    with pytest.raises(ValueError):
        order_status("teleported")


def test_a_working_order_with_shares_filled_is_partially_filled_whatever_alpaca_calls_it() -> None:
    assert parse_order(alpaca_order("pending_cancel", 4, 10.0)).status is OrderStatus.PARTIALLY_FILLED
    assert parse_order(alpaca_order("new")).status is OrderStatus.ACCEPTED
    canceled = parse_order(alpaca_order("canceled", 4, 10.0))
    assert (canceled.status, canceled.filled_quantity) == (OrderStatus.CANCELED, 4)


@pytest.mark.parametrize(("type_", "tif", "ours"), [
    ("market", "day", OrderType.MARKET), ("market", "cls", OrderType.MARKET_ON_CLOSE),
    ("limit", "day", OrderType.LIMIT), ("stop", "day", OrderType.STOP), ("stop_limit", "day", OrderType.STOP),
])
def test_an_order_at_alpaca_becomes_the_request_it_stands_for(type_: str, tif: str, ours: OrderType) -> None:
    raw = alpaca_order("new", type_=type_, cid="theirs-1").model_copy(
        update={"time_in_force": tif, "limit_price": "9.5" if "limit" in type_ else None,
                "stop_price": "9.0" if "stop" in type_ else None})
    request = parse_request(raw)
    assert (request.client_order_id, request.symbol, request.side, request.quantity, request.type) == (
        "theirs-1", "AAPL", Side.BUY, 10, ours)
    assert request.strategy == "" and request.submitted_utc == T and request.submitted_utc.tzinfo is UTC
    assert request.limit_price == (9.5 if "limit" in type_ else None)
    assert request.stop_price == (9.0 if "stop" in type_ else None)


def test_an_order_and_a_fill_update_become_ours_in_utc() -> None:
    venue = parse_order(alpaca_order("partially_filled", 4, 10.0))
    assert (venue.status, venue.filled_quantity, venue.avg_fill_price, venue.venue_status) == (
        OrderStatus.PARTIALLY_FILLED, 4, 10.0, "partially_filled")
    event = parse_trade_update(trade_update("partial_fill", alpaca_order("partially_filled", 4, 10.0),
                                            "2024-03-11T09:31:00-04:00", execution_id=execution(1), qty=4, price=10.0))
    assert event.execution is not None
    assert (event.execution.execution_id, event.execution.quantity, event.execution.price) == (execution(1), 4, 10.0)
    assert event.ts_utc == datetime(2024, 3, 11, 13, 31, tzinfo=UTC) and event.ts_utc.tzinfo is UTC


def test_a_stream_bar_becomes_our_1m_bar() -> None:
    raw = {"t": datetime(2024, 3, 1, 14, 30, tzinfo=UTC), "o": 1, "h": 2, "l": 0.5, "c": 1.5, "v": 100.0, "n": 3,
           "vw": 1.2}
    assert parse_bar(AlpacaBar("SPY", raw)) == Bar("SPY", "1m", datetime(2024, 3, 1, 14, 30, tzinfo=UTC), 1.0, 2.0,
                                                   0.5, 1.5, 100)


@pytest.mark.parametrize(("interval", "amount", "unit"), [("1m", 1, TimeFrameUnit.Minute),
                                                          ("15m", 15, TimeFrameUnit.Minute),
                                                          ("1h", 1, TimeFrameUnit.Hour), ("1d", 1, TimeFrameUnit.Day)])
def test_intervals_map_to_timeframes(interval: str, amount: int, unit: TimeFrameUnit) -> None:
    frame = timeframe(interval)
    assert (frame.amount_value, frame.unit_value) == (amount, unit)


@pytest.mark.parametrize("bad", ["60m", "2d", "m", "1w", ""])
def test_intervals_without_a_timeframe_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        timeframe(bad)
