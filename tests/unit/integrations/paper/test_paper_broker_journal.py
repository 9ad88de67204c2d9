"""The paper broker's side of crash-safe orders: fills named stably per order, lookups and the
venue's open orders answered from its own book (the whole venue is in-process), and a new
broker rebuilt from what the journal holds of a day."""

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


def test_a_new_broker_restores_the_journals_working_orders_and_books_its_fills_unreported() -> None:
    first = PaperBroker(initial_cash=1_000.0)
    first.on_bar(_bar(0, 10.0))
    bought, resting = first.submit(_req("a")), first.submit(_req("r", OrderType.LIMIT, 9.0))
    first.on_bar(_bar(1, 10.0))
    [fill] = first.drain_fills()
    journaled = {o.client_order_id: o for o in first.orders()}  # what the journal holds after a kill
    restarted = PaperBroker(initial_cash=1_000.0)
    assert restarted.lookup("r", journaled["r"]) == resting and restarted.open_orders() == [resting]
    assert restarted.lookup(bought.client_order_id, journaled["a"]).status is OrderStatus.FILLED
    assert restarted.open_orders() == [resting], "a filled order is not worked again"
    restarted.book_journaled([fill])
    assert (restarted.account(), restarted.positions()) == (first.account(), first.positions())
    assert restarted.drain_fills() == [], "the journal's fills were reported by the broker that made them"
    restarted.on_bar(_bar(2, 8.0))
    assert [f.client_order_id for f in restarted.drain_fills()] == ["r"], "the restored order works on"


def test_an_order_the_journal_never_saw_acknowledged_is_not_at_the_venue() -> None:
    for status in (OrderStatus.INTENT, OrderStatus.SUBMITTED):  # killed before the answer was journaled
        assert PaperBroker().lookup("i", Order(_req("i"), status)) is None
