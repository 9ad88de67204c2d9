"""The paper broker's side of crash-safe orders: fills named stably per order, and lookups and
the venue's open orders answered from its own book (the whole venue is in-process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from mismarterad.integrations.paper import PaperBroker

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)


def _req(cid: str, type_: OrderType = OrderType.MARKET, limit: float | None = None) -> OrderRequest:
    return OrderRequest(cid, "SPY", Side.BUY, 10, type_, limit, None, T0, "s1")


def _bar(minute: int, price: float) -> Bar:
    return Bar("SPY", "1m", T0 + timedelta(minutes=minute), price, price, price, price, 100)


def _day() -> list[tuple[str, str, int]]:
    broker = PaperBroker()
    broker.on_bar(_bar(0, 10.0))
    for cid in ("a", "b"):
        broker.submit(_req(cid))
    broker.on_bar(_bar(1, 10.0))
    return [(f.client_order_id, f.execution_id, f.quantity) for f in broker.drain_fills()]


def test_fills_are_named_per_order_and_the_same_in_every_replay() -> None:
    assert _day() == [("a", "p1", 10), ("b", "p1", 10)]
    assert _day() == _day()


def test_lookup_answers_from_the_book_and_counted_books_nothing_again() -> None:
    broker = PaperBroker()
    broker.on_bar(_bar(0, 10.0))
    order = broker.submit(_req("a"))
    assert order.status is OrderStatus.ACCEPTED
    assert broker.lookup("a") == order and broker.lookup("nope") is None
    broker.on_bar(_bar(1, 10.0))
    [fill] = broker.drain_fills()
    filled = broker.lookup("a", Order(order.request, OrderStatus.FILLED, 10, fill.price))
    assert filled is not None and filled.status is OrderStatus.FILLED and broker.drain_fills() == []


def test_the_venues_open_orders_are_its_own_and_it_never_reconnects() -> None:
    broker = PaperBroker()
    resting = broker.submit(_req("r", OrderType.LIMIT, 1.0))
    broker.submit(_req("c", OrderType.LIMIT, 1.0))
    broker.cancel("c")
    assert broker.venue_open_orders() == [resting] and broker.reconnects == 0
