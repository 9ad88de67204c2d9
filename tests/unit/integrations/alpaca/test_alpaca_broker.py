"""AlpacaBroker against a scripted client: close_session keeps the flatten orders, fills read
over REST are booked once, unknown outcomes stay open until resolved, every operation ends in
its budget, and the secret never shows."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from fake_trading import FakeTrading, api_error, push, venue
from mismarterad.core.clock import ReplayClock
from mismarterad.core.errors import BrokerError
from mismarterad.core.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from mismarterad.integrations.alpaca import (
    AlpacaBroker,
    AlpacaCredentials,
    AlpacaEndpoints,
    BrokerAuthError,
    RetryPolicy,
)
from mismarterad.integrations.alpaca.parse import parse_order
from alpaca_updates import execution

T = datetime(2024, 3, 11, 13, 30, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=3, initial_backoff_secs=0.01, max_backoff_secs=0.02, jitter_secs=0.0)


def _broker(fake: FakeTrading | None = None, endpoint: str | None = "http://127.0.0.1:9",
            **kwargs: Any) -> AlpacaBroker:
    endpoints = AlpacaEndpoints.derive(endpoint, paper=True, feed="iex")
    broker = AlpacaBroker(AlpacaCredentials("key-id-0001", "secret-0001"), endpoints, ReplayClock(T, 1.0),
                          retry=kwargs.pop("retry", FAST), **kwargs)
    if fake is not None:
        broker._rest.client = fake
    return broker


def _req(cid: str, type_: OrderType = OrderType.MARKET, qty: int = 10) -> OrderRequest:
    limit = 1.0 if type_ is OrderType.LIMIT else None
    return OrderRequest(cid, "AAPL", Side.BUY, qty, type_, limit, None, T, "s1")


def _order(broker: AlpacaBroker, cid: str) -> Order:
    [order] = [o for o in broker.orders() if o.client_order_id == cid]
    return order


# -- 1. close_session ------------------------------------------------------------------------

def test_close_session_waits_for_the_market_orders_and_cancels_only_the_limits() -> None:
    fake = FakeTrading()
    broker = _broker(fake, close_wait_secs=3.0)
    broker.submit(_req("m1"))
    broker.submit(_req("l1", OrderType.LIMIT))
    fake.by_id = lambda oid: venue("canceled", "l1", type_="limit")
    filled = venue("filled", "m1", 10, 10.0)
    threading.Timer(0.3, lambda: push(broker, "fill", filled, execution_id=execution(1), qty=10, price=10.0)).start()
    started = time.monotonic()
    broker.close_session({})
    assert time.monotonic() - started < 3.0  # the fill ended the wait
    market_id = str(venue("new", "m1").id)
    assert ("DELETE", market_id) not in fake.calls
    assert ("DELETE", str(venue("new", "l1").id)) in fake.calls
    assert [(f.client_order_id, f.quantity) for f in broker.drain_fills()] == [("m1", 10)]
    assert _order(broker, "m1").status is OrderStatus.FILLED
    assert _order(broker, "l1").status is OrderStatus.CANCELED


def test_close_session_books_a_market_fill_read_over_rest_when_no_update_came() -> None:
    fake = FakeTrading()
    broker = _broker(fake, close_wait_secs=0.2)
    broker.submit(_req("m1"))
    fake.by_id = lambda oid: venue("filled", "m1", 10, 10.5)
    broker.close_session({})
    assert fake.count("DELETE") == 0
    assert [(f.quantity, f.price) for f in broker.drain_fills()] == [(10, 10.5)]


# -- 2. fills learned over REST --------------------------------------------------------------

def test_a_cancel_that_finds_the_order_filled_books_the_fill_once() -> None:
    fake = FakeTrading()
    broker = _broker(fake)
    broker.submit(_req("c1"))
    fake.delete = lambda oid: (_ for _ in ()).throw(api_error(422, "order is already in \"filled\" state"))
    filled = venue("filled", "c1", 10, 10.0)
    fake.by_id = lambda oid: filled
    assert broker.cancel("c1").status is OrderStatus.FILLED
    assert [(f.quantity, f.price) for f in broker.drain_fills()] == [(10, 10.0)]
    push(broker, "fill", filled, execution_id=execution(7), qty=10, price=10.0)  # the update comes after all
    assert broker.drain_fills() == []


def test_a_lookup_after_a_lost_response_books_the_partial_fill() -> None:
    fake = FakeTrading()
    broker = _broker(fake)

    def lost(body: Any) -> Any:
        raise requests.ConnectionError("reset")

    fake.post = lost
    fake.by_client_id = lambda cid: venue("partially_filled", cid, 4, 10.0)
    assert broker.submit(_req("c2")).filled_quantity == 4
    assert [f.quantity for f in broker.drain_fills()] == [4]
    push(broker, "partial_fill", venue("partially_filled", "c2", 4, 10.0), execution_id=execution(1), qty=4,
         price=10.0)
    push(broker, "fill", venue("filled", "c2", 10, 10.3, updated="2024-03-11T13:32:00Z"), execution_id=execution(2),
         qty=6, price=10.5)
    assert [(f.quantity, f.price) for f in broker.drain_fills()] == [(6, 10.5)]


# -- 5. unknown outcomes ---------------------------------------------------------------------

def _lost(body: Any) -> Any:
    raise requests.ConnectionError("reset")


def test_two_unknown_outcomes_and_404s_leave_the_order_open_until_a_lookup_finds_it() -> None:
    fake = FakeTrading()
    fake.post = _lost
    broker = _broker(fake)
    order = broker.submit(_req("u1"))
    assert order.status is OrderStatus.SUBMITTED and fake.count("POST") == 2
    assert order.reason is not None and "unknown" in order.reason
    assert [o.client_order_id for o in broker.open_orders()] == ["u1"]
    fake.by_client_id = lambda cid: venue("filled", cid, 10, 10.0)
    time.sleep(1.05)  # lookups of an unresolved order: at most once a second
    assert [f.quantity for f in broker.drain_fills()] == [10]
    assert _order(broker, "u1").status is OrderStatus.FILLED and _order(broker, "u1").reason is None
    lookups = fake.count("LOOKUP")
    broker.drain_fills()
    broker.open_orders()
    assert fake.count("LOOKUP") == lookups  # resolved: no more lookups


def test_a_duplicate_on_the_resend_with_a_404_keeps_the_order_and_its_later_fills() -> None:
    fake = FakeTrading()
    answers = iter([requests.ConnectionError("reset"), api_error(422, "client_order_id must be unique")])

    def post(body: Any) -> Any:
        raise next(answers)

    fake.post = post
    broker = _broker(fake)
    order = broker.submit(_req("u2"))
    assert order.status is OrderStatus.SUBMITTED
    push(broker, "fill", venue("filled", "u2", 10, 10.0), execution_id=execution(3), qty=10, price=10.0)
    assert [f.quantity for f in broker.drain_fills()] == [10]
    assert _order(broker, "u2").status is OrderStatus.FILLED


def test_an_order_alpaca_never_has_is_settled_as_canceled_and_kept() -> None:
    fake = FakeTrading()
    fake.post = _lost
    broker = _broker(fake, unresolved_settle_secs=0.0)
    broker.submit(_req("u3"))
    time.sleep(1.05)
    assert broker.open_orders() == []
    assert _order(broker, "u3").status is OrderStatus.CANCELED  # never REJECTED, never forgotten


def test_alpacas_own_refusal_of_the_post_is_a_rejection() -> None:
    fake = FakeTrading()

    def refuse(body: Any) -> Any:
        raise api_error(403, "insufficient buying power")

    fake.post = refuse
    order = _broker(fake).submit(_req("r1"))
    assert order.status is OrderStatus.REJECTED and fake.count("LOOKUP") == 0


# -- 4. one budget per operation -------------------------------------------------------------

@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_every_operation_ends_inside_the_watchdog_budget_against_a_silent_server(silent_server: str) -> None:
    broker = _broker(None, silent_server, retry=RetryPolicy())  # the daemon's defaults
    started = time.monotonic()
    order = broker.submit(_req("d1"))
    assert time.monotonic() - started < 8.0
    assert order.status is OrderStatus.SUBMITTED  # outcome unknown: open, never REJECTED
    with broker._lock:  # an order whose id Alpaca gave: the cancel goes to DELETE
        broker._book.add(Order(_req("d2"), OrderStatus.NEW))
        broker._book.apply(parse_order(venue("new", "d2")))
    for operation in (lambda: broker.cancel("d2"), broker.account, broker.positions):
        started = time.monotonic()
        with pytest.raises(BrokerError):
            operation()
        assert time.monotonic() - started < 8.0


# -- 8. polling ------------------------------------------------------------------------------

def test_account_readings_are_reused_for_seconds_between_events() -> None:
    fake = FakeTrading()
    fake.account = lambda: SimpleNamespace(cash="100", equity="100", portfolio_value="100", daytrade_count=0,
                                           account_number="PA123")
    broker = _broker(fake)
    broker.account()
    time.sleep(1.2)
    broker.account()
    assert fake.count("ACCOUNT") == 1


# -- 9. the paper flag, whatever the endpoint -------------------------------------------------

@pytest.mark.parametrize(("number", "refused"), [("PA3XYZ", False), ("312345", True)])
@pytest.mark.parametrize("endpoint", [None, "https://alpaca-proxy.example", "http://127.0.0.1:9"])
def test_verify_refuses_a_live_account_when_paper_is_set(number: str, refused: bool, endpoint: str | None) -> None:
    """On Alpaca's hosts, and on any endpoint: a proxy in front of a live account must not
    trade it with paper = true and no live_trading_confirmed (the emulator's is PAEMULATOR)."""
    fake = FakeTrading()
    fake.account = lambda: SimpleNamespace(cash="100", equity="100", portfolio_value="100", daytrade_count=0,
                                           account_number=number)
    broker = _broker(fake, endpoint=endpoint)
    if refused:
        with pytest.raises(BrokerAuthError, match="paper"):
            broker.verify()
    else:
        broker.verify()


def test_an_unresolved_order_canceled_meanwhile_is_canceled_at_alpaca_once_found() -> None:
    fake = FakeTrading()
    fake.post = _lost
    broker = _broker(fake)
    broker.submit(_req("u4"))
    assert broker.cancel("u4").status is OrderStatus.SUBMITTED  # a 404 just after its POST proves nothing: kept open
    fake.by_client_id = lambda cid: venue("new", cid)
    fake.by_id = lambda oid: venue("canceled", "u4", updated="2024-03-11T13:35:00Z")
    time.sleep(1.05)
    broker.open_orders()
    assert ("DELETE", str(venue("new", "u4").id)) in fake.calls
    assert _order(broker, "u4").status is OrderStatus.CANCELED


# -- adoption: lookup and the venue's open orders ----------------------------------------------

def test_lookup_of_an_order_alpaca_does_not_have_is_none_and_tracks_nothing() -> None:
    fake = FakeTrading()
    broker = _broker(fake)
    assert broker.lookup("x1") is None
    assert broker.orders() == [] and fake.count("LOOKUP") == 1


def test_lookup_adopts_an_order_and_books_only_what_filled_beyond_counted() -> None:
    fake = FakeTrading()
    broker = _broker(fake)
    fake.by_client_id = lambda cid: venue("partially_filled", cid, 7, 10.2)  # 4 @ 10.0 booked, then 3 @ 10.4...
    fake.by_id = lambda oid: venue("partially_filled", "a1", 7, 10.2)
    counted = Order(_req("a1"), OrderStatus.PARTIALLY_FILLED, 4, 10.0)
    order = broker.lookup("a1", counted)
    assert order is not None and (order.status, order.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 7)
    assert order.request == counted.request  # the journal's request, with its strategy
    [fill] = broker.drain_fills()
    assert (fill.quantity, round(fill.price, 6), fill.execution_id, fill.strategy) == (3, 10.466667, "rest-7", "s1")
    push(broker, "partial_fill", venue("partially_filled", "a1", 7, 10.2), execution_id=execution(2), qty=3,
         price=10.4)  # the update of those 3: already booked
    push(broker, "fill", venue("filled", "a1", 10, 10.2, updated="2024-03-11T13:33:00Z"), execution_id=execution(3),
         qty=3, price=10.2)
    assert [(f.quantity, f.execution_id) for f in broker.drain_fills()] == [(3, execution(3))]
    assert broker.lookup("a1", counted).status is OrderStatus.FILLED  # held: refreshed, counted ignored
    assert broker.drain_fills() == []


def test_an_adopted_order_without_counted_takes_its_request_from_alpaca_and_cancels_by_our_id() -> None:
    fake = FakeTrading()
    broker = _broker(fake)
    fake.by_client_id = lambda cid: venue("new", cid, type_="limit").model_copy(update={"limit_price": "9.5"})
    fake.by_id = lambda oid: venue("new", "a2", type_="limit")
    order = broker.lookup("a2")
    assert order is not None and order.status is OrderStatus.ACCEPTED
    assert (order.request.type, order.request.limit_price, order.request.strategy) == (OrderType.LIMIT, 9.5, "")
    assert [o.client_order_id for o in broker.open_orders()] == ["a2"]
    fake.by_id = lambda oid: venue("canceled", "a2", type_="limit", updated="2024-03-11T13:35:00Z")
    assert broker.cancel("a2").status is OrderStatus.CANCELED
    assert ("DELETE", str(venue("new", "a2").id)) in fake.calls


def test_a_fill_whose_update_came_before_the_adoption_is_read_again_and_booked() -> None:
    fake = FakeTrading()
    broker = _broker(fake)
    fake.by_client_id = lambda cid: venue("partially_filled", cid, 3, 10.0)
    fake.by_id = lambda oid: venue("filled", "a4", 10, 10.21, updated="2024-03-11T13:32:00Z")  # filled meanwhile
    counted = Order(_req("a4"), OrderStatus.PARTIALLY_FILLED, 3, 10.0)
    assert broker.lookup("a4", counted).status is OrderStatus.FILLED
    assert [(f.quantity, f.price, f.execution_id) for f in broker.drain_fills()] == [(7, 10.3, "rest-10")]


def test_lookup_of_an_unresolved_order_alpaca_still_lacks_returns_it_as_held() -> None:
    fake = FakeTrading()
    fake.post = _lost
    broker = _broker(fake)
    broker.submit(_req("a3"))
    order = broker.lookup("a3")
    assert order is not None and order.status is OrderStatus.SUBMITTED


def test_venue_open_orders_reads_alpaca_afresh_and_leaves_the_book_alone() -> None:
    fake = FakeTrading()
    broker = _broker(fake)
    broker.submit(_req("mine"))
    fake.open = lambda: [venue("partially_filled", "mine", 3, 10.0), venue("new", "theirs", type_="limit")
                         .model_copy(update={"limit_price": "1.0"})]
    orders = {o.client_order_id: o for o in broker.venue_open_orders()}
    assert ("LIST", "open") in fake.calls
    assert orders["mine"].status is OrderStatus.PARTIALLY_FILLED and orders["mine"].request.strategy == "s1"
    assert orders["theirs"].status is OrderStatus.ACCEPTED and orders["theirs"].request.strategy == ""
    assert [o.client_order_id for o in broker.orders()] == ["mine"]  # nothing adopted
    assert _order(broker, "mine").filled_quantity == 0 and broker.drain_fills() == []  # nothing booked


def test_a_booked_fill_drops_the_cached_positions() -> None:
    fake = FakeTrading()
    broker = _broker(fake, snapshot_ttl_secs=60.0)
    broker.submit(_req("p1"))
    broker.positions()
    broker.positions()
    assert fake.count("POSITIONS") == 1
    push(broker, "fill", venue("filled", "p1", 10, 10.0), execution_id=execution(1), qty=10, price=10.0)
    broker.positions()
    assert fake.count("POSITIONS") == 2
    push(broker, "fill", venue("filled", "someone-elses", 10, 10.0), execution_id=execution(2), qty=10, price=10.0)
    broker.positions()  # another client's fill at this account moves the positions too
    assert fake.count("POSITIONS") == 3
    fake.by_client_id = lambda cid: venue("filled", cid, 5, 10.0)
    broker.lookup("p2")  # a fill booked from a lookup
    broker.positions()
    assert fake.count("POSITIONS") == 4



def test_a_failed_positions_refresh_is_never_answered_with_a_reading_from_before_a_fill() -> None:
    fake = FakeTrading()
    broker = _broker(fake, snapshot_ttl_secs=0.0)
    broker.submit(_req("p3"))
    assert broker.positions() == []

    def down() -> Any:
        raise requests.ConnectionError("down")

    fake.positions = down
    assert broker.positions() == []  # nothing happened since: the last reading stands in
    push(broker, "fill", venue("filled", "p3", 10, 10.0), execution_id=execution(1), qty=10, price=10.0)
    with pytest.raises(BrokerError):
        broker.positions()  # a reading from before the fill would be a false difference
