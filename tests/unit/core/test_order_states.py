"""The order state machine (core/order_states.py) by its properties: reports of one valid
history, in any order and with any repeats, end where the history ends; an order's filled
quantity never drops; a final order stays final unless more shares are reported; and an order
we refused as never sent yields to the broker's report of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.order_states import advance, stage
from mismarterad.core.orders import Order, OrderRequest, OrderStatus, OrderType, Side

T0 = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
FINAL = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
BROKER = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, *FINAL)  # what a broker reports


def _request(qty: int) -> OrderRequest:
    return OrderRequest("o1", "SPY", Side.BUY, qty, OrderType.LIMIT, 100.0, None, T0, "s#0")


def _report(request: OrderRequest, status: OrderStatus, filled: int = 0) -> Order:
    """A report whose price and time follow from its cumulative fill, as one broker's would."""
    if not filled:
        return Order(request, status)
    return Order(request, status, filled, 100.0 + filled / 1000, T0 + timedelta(seconds=filled))


@st.composite
def histories(draw: st.DrawFn) -> list[Order]:
    """intent -> submitted -> accepted -> partial fills (rising) -> at most one final report."""
    qty = draw(st.integers(1, 200))
    request = _request(qty)
    reports = [_report(request, OrderStatus.INTENT), _report(request, OrderStatus.SUBMITTED)]
    if draw(st.booleans()) and qty > 1 and draw(st.booleans()):  # rejected on arrival
        return [*reports, _report(request, OrderStatus.REJECTED)]
    reports.append(_report(request, OrderStatus.ACCEPTED))
    partials = sorted(draw(st.sets(st.integers(1, qty - 1), max_size=5))) if qty > 1 else []
    reports += [_report(request, OrderStatus.PARTIALLY_FILLED, c) for c in partials]
    done = partials[-1] if partials else 0
    final = draw(st.sampled_from([None, OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED]))
    if final is OrderStatus.FILLED:
        reports.append(_report(request, final, qty))
    elif final is not None:  # ended with what had filled, or with fills not reported before
        reports.append(_report(request, final, draw(st.integers(done, qty - 1))))
    return reports


def _fold(first: Order, reports: list[Order]) -> Order:
    return reduce(advance, reports, first)


@settings(max_examples=500, deadline=None)
@given(histories(), st.data())
def test_any_order_and_repeats_end_where_the_history_ends(history: list[Order], data: st.DataObject) -> None:
    in_order = _fold(history[0], history[1:])
    assert in_order == history[-1]
    shuffled = data.draw(st.permutations(history))
    repeats = data.draw(st.lists(st.sampled_from(history), max_size=len(history) * 2))
    mixed = data.draw(st.permutations(shuffled + repeats))
    assert _fold(history[0], mixed) == in_order


@settings(max_examples=500, deadline=None)
@given(histories(), st.data())
def test_filled_quantity_never_drops_across_a_fold(history: list[Order], data: st.DataObject) -> None:
    held = history[0]
    for report in data.draw(st.lists(st.sampled_from(history), max_size=20)):
        after = advance(held, report)
        assert after.filled_quantity >= held.filled_quantity
        assert after.filled_quantity == max(held.filled_quantity, report.filled_quantity)
        held = after


def _any_order(status: OrderStatus, filled: int, qty: int = 100) -> Order:
    return _report(_request(qty), status, filled)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(list(OrderStatus)), st.integers(0, 100), st.sampled_from(list(OrderStatus)),
       st.integers(0, 100))
def test_filled_quantity_never_drops_for_any_two_reports(held_status: OrderStatus, held_filled: int,
                                                         status: OrderStatus, filled: int) -> None:
    never_sent = (OrderStatus.REFUSED, OrderStatus.INTENT)
    held_filled = 0 if held_status in never_sent else held_filled  # nothing can have filled
    filled = 0 if status in never_sent else filled
    if held_filled and held_status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED):
        held_status = OrderStatus.PARTIALLY_FILLED  # what is held went through advance already
    held = _any_order(held_status, held_filled)
    after = advance(held, _any_order(status, filled))
    assert after.filled_quantity >= held.filled_quantity
    if after.filled_quantity > 0:  # a working order with shares is partially filled, whatever it was called
        assert after.status not in (OrderStatus.INTENT, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(FINAL), st.integers(0, 100), st.sampled_from(list(OrderStatus)), st.integers(0, 100))
def test_a_final_order_stays_final_unless_more_shares_are_reported(held_status: OrderStatus, held_filled: int,
                                                                   status: OrderStatus, filled: int) -> None:
    held = _any_order(held_status, held_filled)
    report = _any_order(status, filled)
    after = advance(held, report)
    if filled <= held_filled or status is OrderStatus.REFUSED:  # refused: ours to say of an unsent order only
        assert after is held
    else:  # real shares the final report had not counted (a late fill of a cancel race)
        assert after.filled_quantity == filled and after.status is not OrderStatus.ACCEPTED


@given(st.sampled_from((OrderStatus.INTENT, OrderStatus.REFUSED)))
def test_a_refused_order_ignores_our_own_replays(status: OrderStatus) -> None:
    refused = replace(_any_order(OrderStatus.REFUSED, 0), reason="bar_passed")
    assert advance(refused, _any_order(status, 0)) is refused


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(BROKER), st.integers(0, 100))
def test_a_refused_order_the_broker_reports_was_sent_after_all(status: OrderStatus, filled: int) -> None:
    """The exception of the module docstring: an intent closed as never sent while the daemon
    was down, which the broker knows after all; the broker's word wins, its shares are real."""
    if status in (OrderStatus.REJECTED, OrderStatus.ACCEPTED):
        filled = 0
    if status is OrderStatus.PARTIALLY_FILLED:
        filled = max(filled, 1)
    refused = replace(_any_order(OrderStatus.REFUSED, 0), reason="bar_passed")
    report = _any_order(status, filled)
    after = advance(refused, report)
    assert after == report and after.status is status
    # and from there on it is an ordinary order: replays of our intent do not undo it
    assert advance(after, _any_order(OrderStatus.INTENT, 0)) == report


def test_stages_climb_and_every_final_status_ranks_last() -> None:
    order = [OrderStatus.INTENT, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED]
    assert [stage(s) for s in order] == sorted({stage(s) for s in order})
    assert {stage(s) for s in (*FINAL, OrderStatus.REFUSED)} == {stage(OrderStatus.PARTIALLY_FILLED) + 1}
    assert OrderStatus.NEW is OrderStatus.ACCEPTED
