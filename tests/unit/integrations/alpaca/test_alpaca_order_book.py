"""The order book: each execution counts once, and no report moves an order backwards, so any
order of arrival (with repeats) of a valid sequence of updates gives the same fills and state."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from mismarterad.integrations.alpaca.parse import parse_trade_update
from mismarterad.integrations.order_book import OrderBook
from mismarterad.integrations.venue_orders import TradeEvent
from alpaca_updates import alpaca_order, execution, trade_update

T = datetime(2024, 3, 11, 13, 30, tzinfo=UTC)
REQUEST = OrderRequest("o000001", "AAPL", Side.BUY, 10, OrderType.MARKET, None, None, T, "s1")


def _filled_in_two() -> list[TradeEvent]:
    return [parse_trade_update(u) for u in (
        trade_update("new", alpaca_order("new"), "2024-03-11T13:30:00Z"),
        trade_update("partial_fill", alpaca_order("partially_filled", 4, 10.0, updated="2024-03-11T13:31:00Z"),
                     "2024-03-11T13:31:00Z", execution_id=execution(1), qty=4, price=10.0),
        trade_update("fill", alpaca_order("filled", 10, 10.3, updated="2024-03-11T13:32:00Z"),
                     "2024-03-11T13:32:00Z", execution_id=execution(2), qty=6, price=10.5),
    )]


def _partly_then_canceled() -> list[TradeEvent]:
    return [parse_trade_update(u) for u in (
        trade_update("new", alpaca_order("new"), "2024-03-11T13:30:00Z"),
        trade_update("partial_fill", alpaca_order("partially_filled", 3, 10.0, updated="2024-03-11T13:31:00Z"),
                     "2024-03-11T13:31:00Z", execution_id=execution(3), qty=3, price=10.0),
        trade_update("pending_cancel", alpaca_order("pending_cancel", 3, 10.0, updated="2024-03-11T13:32:00Z"),
                     "2024-03-11T13:32:00Z"),
        trade_update("canceled", alpaca_order("canceled", 3, 10.0, updated="2024-03-11T13:33:00Z"),
                     "2024-03-11T13:33:00Z"),
    )]


def _run(events: list[TradeEvent]) -> tuple[list[tuple[int, float]], Order]:
    book = OrderBook()
    book.add(Order(REQUEST, OrderStatus.NEW))
    for event in events:
        assert book.apply_event(event)
    fills = sorted((f.quantity, f.price) for f in book.drain_fills())
    order = book.get(REQUEST.client_order_id)
    assert order is not None
    return fills, order


def test_a_partial_then_a_fill_make_two_fills_and_a_filled_order() -> None:
    fills, order = _run(_filled_in_two())
    assert fills == [(4, 10.0), (6, 10.5)]
    assert (order.status, order.filled_quantity, order.avg_fill_price) == (OrderStatus.FILLED, 10, 10.3)
    assert order.filled_utc == datetime(2024, 3, 11, 13, 32, tzinfo=UTC)


def test_a_late_new_does_not_reopen_a_filled_order() -> None:
    events = _filled_in_two()
    _, order = _run([*events, events[0]])
    assert order.status is OrderStatus.FILLED


def test_fills_are_drained_once_and_stamped_with_the_strategy() -> None:
    book = OrderBook()
    book.add(Order(REQUEST, OrderStatus.NEW))
    for event in _filled_in_two():
        book.apply_event(event)
    fills = book.drain_fills()
    assert [f.ts_utc for f in fills] == sorted(f.ts_utc for f in fills)
    assert {f.strategy for f in fills} == {"s1"} and book.drain_fills() == []


def test_updates_of_other_orders_are_ignored() -> None:
    book = OrderBook()
    assert not book.apply_event(_filled_in_two()[2])
    assert book.drain_fills() == [] and book.orders() == []


@settings(max_examples=200, deadline=None)
@given(data=st.data(), scenario=st.sampled_from([_filled_in_two, _partly_then_canceled]))
def test_any_order_of_arrival_with_repeats_gives_the_same_fills_and_final_state(data: st.DataObject,
                                                                                 scenario: object) -> None:
    events = scenario()  # type: ignore[operator]
    expected = _run(events)
    arrival = list(data.draw(st.permutations(events)))
    for repeat in data.draw(st.lists(st.sampled_from(events), max_size=6)):
        arrival.insert(data.draw(st.integers(0, len(arrival))), repeat)
    assert _run(arrival) == expected


def test_reconcile_books_the_fills_the_stream_missed_at_the_price_that_makes_the_average() -> None:
    events = _filled_in_two()
    book = OrderBook()
    book.add(Order(REQUEST, OrderStatus.NEW))
    book.apply_event(events[1])  # 4 @ 10.0 seen; the fill of the other 6 was lost with the stream
    book.reconcile(events[2].order, datetime(2024, 3, 11, 13, 40, tzinfo=UTC))
    assert sorted((f.quantity, f.price) for f in book.drain_fills()) == [(4, 10.0), (6, 10.5)]
    book.apply_event(events[2])  # the lost update turns up after all: already booked
    assert book.drain_fills() == []
    order = book.get(REQUEST.client_order_id)
    assert order is not None and order.status is OrderStatus.FILLED


def test_executions_after_a_reconcile_still_count() -> None:
    events = _filled_in_two()
    book = OrderBook()
    book.add(Order(REQUEST, OrderStatus.NEW))
    book.reconcile(events[1].order, T)  # REST: 4 filled, the partial's update never came
    book.apply_event(events[1])  # it comes late: covered by the reconcile
    book.apply_event(events[2])
    assert sorted((f.quantity, f.price) for f in book.drain_fills()) == [(4, 10.0), (6, 10.5)]


# -- REST snapshots mixed with stream updates --------------------------------------------------

def _minute(k: int) -> str:
    return f"2024-03-11T13:{31 + k:02d}:00Z"


@settings(max_examples=300, deadline=None)
@given(data=st.data(),
       executions=st.lists(st.tuples(st.integers(1, 5), st.sampled_from([10.0, 10.25, 10.5, 11.0])),
                           min_size=1, max_size=4))
def test_rest_snapshots_and_stream_updates_in_any_order_book_each_share_once(
        data: st.DataObject, executions: list[tuple[int, float]]) -> None:
    """Whatever mix of REST reports (the order after any number of its executions) and trade
    updates (with repeats) arrives in whatever order: the booked quantity never exceeds the
    highest filled total reported so far, and ends equal to the order's total, at its notional."""
    total = sum(q for q, _ in executions)
    request = OrderRequest("o000001", "AAPL", Side.BUY, total, OrderType.MARKET, None, None, T, "s1")
    snapshots = []  # the order as REST reports it after k executions
    cum, notional = 0, 0.0
    updates = []
    for k, (qty, price) in enumerate(executions, start=1):
        cum, notional = cum + qty, notional + qty * price
        status = "filled" if cum == total else "partially_filled"
        order = alpaca_order(status, cum, notional / cum, updated=_minute(k), qty=total)
        snapshots.append((cum, parse_trade_update(trade_update("new", order, _minute(k))).order))
        event = "fill" if cum == total else "partial_fill"
        updates.append(parse_trade_update(trade_update(event, order, _minute(k), execution_id=execution(k),
                                                       qty=qty, price=price)))
    arrival: list[object] = list(data.draw(st.permutations(updates)))
    for repeat in data.draw(st.lists(st.sampled_from(updates), max_size=4)):
        arrival.insert(data.draw(st.integers(0, len(arrival))), repeat)
    for snapshot in data.draw(st.lists(st.sampled_from(snapshots), max_size=4)):
        arrival.insert(data.draw(st.integers(0, len(arrival))), snapshot)

    book = OrderBook()
    book.add(Order(request, OrderStatus.NEW))
    booked, booked_notional, highest = 0, 0.0, 0
    for item in arrival:
        if isinstance(item, tuple):
            highest = max(highest, item[0])
            book.reconcile(item[1], datetime(2024, 3, 11, 14, 0, tzinfo=UTC))
        else:
            assert isinstance(item, TradeEvent)
            highest = max(highest, item.order.filled_quantity)
            book.apply_event(item)
        fills = book.drain_fills()
        booked += sum(f.quantity for f in fills)
        booked_notional += sum(f.quantity * f.price for f in fills)
        assert booked <= highest
    assert booked == total
    assert abs(booked_notional - notional) < 1e-3
    order = book.get("o000001")
    assert order is not None and order.status is OrderStatus.FILLED


# -- execution ids and adopted orders ----------------------------------------------------------

def test_each_fill_carries_an_id_unique_within_its_order_and_stable_for_its_execution() -> None:
    events = _filled_in_two()
    book = OrderBook()
    book.add(Order(REQUEST, OrderStatus.SUBMITTED))
    book.apply_event(events[1])
    book.reconcile(events[2].order, T)  # the rest, learned over REST at the total of 10
    assert [f.execution_id for f in book.drain_fills()] == [execution(1), "rest-10"]


def test_an_adopted_order_books_only_the_shares_beyond_what_was_counted() -> None:
    events = _filled_in_two()
    book = OrderBook()
    book.adopt(Order(REQUEST, OrderStatus.SUBMITTED), 4, 10.0)  # the journal booked the partial (4 @ 10.0)
    book.apply_event(events[1])  # the partial's update again (a replay): already counted
    assert book.drain_fills() == []
    book.reconcile(events[2].order, T)
    [fill] = book.drain_fills()
    assert (fill.quantity, fill.price, fill.execution_id) == (6, 10.5, "rest-10")
    book.apply_event(events[2])  # the fill's own update turns up: covered by the REST total
    assert book.drain_fills() == []


def test_an_adopted_order_counted_without_a_price_gets_the_rest_at_the_orders_average() -> None:
    book = OrderBook()
    book.adopt(Order(REQUEST, OrderStatus.SUBMITTED), 4, None)
    book.reconcile(_filled_in_two()[2].order, T)
    assert [(f.quantity, f.price) for f in book.drain_fills()] == [(6, 10.3)]


def test_an_adopted_order_whose_executions_come_by_the_stream_books_the_later_ones() -> None:
    events = _filled_in_two()
    book = OrderBook()
    book.adopt(Order(REQUEST, OrderStatus.SUBMITTED), 4, 10.0)
    book.reconcile(events[1].order, T)  # the lookup: 4 filled, all counted
    assert book.drain_fills() == []
    for event in (events[1], events[2], events[2]):
        book.apply_event(event)
    assert [(f.quantity, f.price, f.execution_id) for f in book.drain_fills()] == [(6, 10.5, execution(2))]
    order = book.get(REQUEST.client_order_id)
    assert order is not None and order.status is OrderStatus.FILLED


def test_a_partial_fill_makes_the_order_partially_filled_and_an_expiry_ends_it() -> None:
    book = OrderBook()
    book.add(Order(REQUEST, OrderStatus.SUBMITTED))
    book.apply_event(_partly_then_canceled()[1])
    order = book.get(REQUEST.client_order_id)
    assert order is not None and order.status is OrderStatus.PARTIALLY_FILLED
    expired = parse_trade_update(trade_update("expired", alpaca_order("expired", 3, 10.0,
                                                                      updated="2024-03-11T20:00:00Z"),
                                              "2024-03-11T20:00:00Z"))
    book.apply_event(expired)
    order = book.get(REQUEST.client_order_id)
    assert order is not None and (order.status, order.filled_quantity) == (OrderStatus.EXPIRED, 3)
    assert order.reason == "expired at Alpaca"
