"""The pure comparison with the broker (services/reconciliation.py): each rule by example, then
properties over generated accounts: a broker state built from our own journal never differs,
each injected difference is found exactly once, the user's symbols are never compared, and
the result does not depend on the order the broker listed things in."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.orders import Order, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.core.reconciliation import Mismatch, MismatchKind
from mismarterad.services.reconciliation import find_mismatches

T0 = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
SESSION = ("SPY", "AAPL", "MSFT", "QQQ")
USER = ("TSLA", "IBM")  # in the account, not in the session: the user's


def _order(cid: str, symbol: str = "SPY", qty: int = 10, status: OrderStatus = OrderStatus.ACCEPTED,
           filled: int = 0, side: Side = Side.BUY) -> Order:
    request = OrderRequest(cid, symbol, side, qty, OrderType.LIMIT, 100.0, None, T0, "s#0")
    return Order(request, status, filled, 100.0 if filled else None, T0 + timedelta(minutes=1) if filled else None)


def _find(**overrides: Any) -> list[Mismatch]:
    args: dict[str, Any] = {"symbols": frozenset({"SPY"}), "known_today": frozenset(), "ours_earlier": frozenset(),
                            "today_open": {}, "venue_open": [], "venue_reports": {},
                            "cancel_requested": frozenset(), "venue_positions": [], "ours": {}}
    args.update(overrides)
    return find_mismatches(**args)


# ---------------------------------------------------------------------------- examples


def test_nothing_anywhere_is_no_difference() -> None:
    assert _find() == []


def test_a_stranger_working_at_the_broker_is_unknown_with_its_remaining_quantity() -> None:
    [m] = _find(venue_open=[_order("x-1", qty=10, status=OrderStatus.PARTIALLY_FILLED, filled=3)])
    assert (m.kind, m.symbol, m.client_order_id, m.ours, m.broker) == (MismatchKind.UNKNOWN_ORDER, "SPY", "x-1", 0, 7)
    assert "not placed by this session" in m.detail and "buy 7" in m.detail


def test_an_earlier_days_order_says_so() -> None:
    [m] = _find(venue_open=[_order("d1-9", side=Side.SELL)], ours_earlier=frozenset({"d1-9"}))
    assert m.kind is MismatchKind.UNKNOWN_ORDER and "left open by an earlier day's session" in m.detail


def test_an_order_journaled_today_in_any_status_is_known() -> None:
    # journaled as filled or refused, yet working at the broker: the adapter's business, not a stranger
    assert _find(venue_open=[_order("o1")], known_today=frozenset({"o1"})) == []


def test_our_open_order_the_broker_does_not_have_is_missing() -> None:
    held = _order("o1", qty=10, status=OrderStatus.PARTIALLY_FILLED, filled=4)
    [m] = _find(known_today=frozenset({"o1"}), today_open={"o1": held}, venue_reports={"o1": None})
    assert (m.kind, m.symbol, m.client_order_id, m.ours, m.broker) == (MismatchKind.MISSING_ORDER, "SPY", "o1", 6, 0)
    assert m.detail.startswith("the broker has no order")


def test_an_order_not_looked_up_counts_as_unknown_to_the_broker() -> None:
    [m] = _find(known_today=frozenset({"o1"}), today_open={"o1": _order("o1")})
    assert m.kind is MismatchKind.MISSING_ORDER


def test_a_cancel_or_expiry_we_did_not_ask_for_is_missing() -> None:
    held = {"o1": _order("o1"), "o2": _order("o2")}
    reports = {"o1": _order("o1", status=OrderStatus.CANCELED, filled=2), "o2": _order("o2", status=OrderStatus.EXPIRED)}
    found = _find(known_today=frozenset(held), today_open=held, venue_reports=reports)
    assert [(m.client_order_id, m.ours) for m in found] == [("o1", 8), ("o2", 10)]  # the report's fills counted
    assert found[0].detail.startswith("canceled at the broker, not by us")
    assert found[1].detail.startswith("expired at the broker, not canceled by us")


def test_fills_working_reports_rejections_and_our_cancels_are_no_difference() -> None:
    held = {c: _order(c) for c in ("f", "w", "r", "c")}
    reports = {"f": _order("f", status=OrderStatus.FILLED, filled=10), "w": _order("w"),
               "r": _order("r", status=OrderStatus.REJECTED), "c": _order("c", status=OrderStatus.CANCELED)}
    assert _find(known_today=frozenset(held), today_open=held, venue_reports=reports,
                 cancel_requested=frozenset({"c"})) == []


def test_intents_and_submitted_orders_are_left_to_the_adapter() -> None:
    held = {"i": _order("i", status=OrderStatus.INTENT), "s": _order("s", status=OrderStatus.SUBMITTED)}
    assert _find(known_today=frozenset(held), today_open=held, venue_reports={"i": None, "s": None}) == []


def test_an_order_the_broker_lists_is_no_difference() -> None:
    held = _order("o1")
    assert _find(known_today=frozenset({"o1"}), today_open={"o1": held}, venue_open=[held]) == []


def test_positions_compare_net_shares_absent_as_zero() -> None:
    found = _find(symbols=frozenset({"SPY", "AAPL", "QQQ"}), ours={"SPY": 10, "AAPL": 0},
                  venue_positions=[Position("AAPL", -5, 150.0), Position("QQQ", 0, 0.0)])
    assert [(m.kind, m.symbol, m.client_order_id, m.ours, m.broker) for m in found] == [
        (MismatchKind.POSITION, "AAPL", None, 0, -5), (MismatchKind.POSITION, "SPY", None, 10, 0)]
    assert found[0].detail == "the broker holds -5 shares, the strategies 0"


def test_the_users_symbols_are_never_compared() -> None:
    held = _order("o1", symbol="TSLA")
    assert _find(venue_open=[_order("x", symbol="TSLA")], today_open={"o1": held}, known_today=frozenset({"o1"}),
                 venue_positions=[Position("TSLA", 100, 200.0)], ours={"TSLA": 3}) == []


def test_sorted_by_kind_value_then_symbol_then_id() -> None:
    found = _find(symbols=frozenset({"SPY", "AAPL"}), known_today=frozenset({"o1"}),
                  today_open={"o1": _order("o1", symbol="SPY")},
                  venue_open=[_order("z", symbol="SPY"), _order("a", symbol="SPY"), _order("m", symbol="AAPL")],
                  venue_positions=[Position("SPY", 1, 1.0)])
    assert [(m.kind.value, m.symbol, m.client_order_id) for m in found] == [
        ("missing_order", "SPY", "o1"), ("position", "SPY", None), ("unknown_order", "AAPL", "m"),
        ("unknown_order", "SPY", "a"), ("unknown_order", "SPY", "z")]


# ---------------------------------------------------------------------------- properties

WORKING = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
ENDED = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.REFUSED,
         OrderStatus.INTENT, OrderStatus.SUBMITTED)


@dataclass
class Account:
    """Our journal and a broker state built consistently from it."""

    symbols: frozenset[str]
    known_today: set[str]
    today_open: dict[str, Order]
    venue_open: list[Order]
    venue_reports: dict[str, Order | None]
    cancel_requested: set[str]
    venue_positions: list[Position]
    ours: dict[str, int]
    ours_earlier: set[str] = field(default_factory=set)

    def find(self, shuffle: random.Random | None = None) -> list[Mismatch]:
        def mixed(items: list[Any]) -> list[Any]:
            items = list(items)
            if shuffle is not None:
                shuffle.shuffle(items)
            return items

        return find_mismatches(
            symbols=frozenset(mixed(sorted(self.symbols))), known_today=frozenset(self.known_today),
            ours_earlier=frozenset(self.ours_earlier), today_open=dict(mixed(list(self.today_open.items()))),
            venue_open=mixed(self.venue_open), venue_reports=dict(mixed(list(self.venue_reports.items()))),
            cancel_requested=frozenset(self.cancel_requested), venue_positions=mixed(self.venue_positions),
            ours=dict(mixed(list(self.ours.items()))))


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    symbols = frozenset(draw(st.sets(st.sampled_from(SESSION), min_size=1)))
    session = sorted(symbols)
    account = Account(symbols, set(), {}, [], {}, set(), [], {})
    for n in range(draw(st.integers(0, 8))):
        cid = f"o{n}"
        symbol = draw(st.sampled_from(session))
        qty = draw(st.integers(1, 100))
        account.known_today.add(cid)
        if draw(st.booleans()):  # journaled and over (or never sent): the broker lists nothing
            status = draw(st.sampled_from(ENDED))
            filled = qty if status is OrderStatus.FILLED else 0
            order = _order(cid, symbol, qty, status, filled)
            account.today_open[cid] = order  # only working orders count, whatever the caller passes
            continue
        status = draw(st.sampled_from(WORKING))
        filled = draw(st.integers(1, qty - 1)) if status is OrderStatus.PARTIALLY_FILLED and qty > 1 else 0
        if status is OrderStatus.PARTIALLY_FILLED and filled == 0:
            status = OrderStatus.ACCEPTED
        order = _order(cid, symbol, qty, status, filled, draw(st.sampled_from(list(Side))))
        account.today_open[cid] = order
        how = draw(st.sampled_from(["listed", "filled", "canceled_by_us", "working_report"]))
        if how == "listed":
            account.venue_open.append(order)
        elif how == "filled":
            account.venue_reports[cid] = replace(order, status=OrderStatus.FILLED, filled_quantity=qty)
        elif how == "canceled_by_us":
            account.cancel_requested.add(cid)
            account.venue_reports[cid] = replace(order, status=draw(st.sampled_from(
                [OrderStatus.CANCELED, OrderStatus.EXPIRED])))
        else:
            account.venue_reports[cid] = order
    for symbol in session:
        net = draw(st.integers(-50, 50))
        if net or draw(st.booleans()):
            account.ours[symbol] = net
        if net or draw(st.booleans()):
            account.venue_positions.append(Position(symbol, net, 100.0))
    for n in range(draw(st.integers(0, 3))):  # the user's own orders and shares
        symbol = draw(st.sampled_from(USER))
        account.venue_open.append(_order(f"user-{n}", symbol, draw(st.integers(1, 50))))
        account.venue_positions.append(Position(symbol, draw(st.integers(-50, 50)), 10.0))
        if draw(st.booleans()):
            account.ours[symbol] = draw(st.integers(-50, 50))
    return account


@settings(max_examples=300, deadline=None)
@given(accounts())
def test_a_broker_state_built_from_our_journal_has_no_difference(account: Account) -> None:
    assert account.find() == []


@settings(max_examples=300, deadline=None)
@given(accounts(), st.data())
def test_each_injected_difference_is_found_exactly_once(account: Account, data: st.DataObject) -> None:
    session = sorted(account.symbols)
    symbol = data.draw(st.sampled_from(session))
    listed = [o for o in account.venue_open if o.client_order_id in account.known_today]
    kinds = ["unknown", "position"] + (["missing", "ended_unasked"] if listed else [])
    kind = data.draw(st.sampled_from(kinds))
    if kind == "unknown":
        earlier = data.draw(st.booleans())
        account.venue_open.append(_order("stranger", symbol, 7, OrderStatus.PARTIALLY_FILLED, 2))
        if earlier:
            account.ours_earlier.add("stranger")
        expected = (MismatchKind.UNKNOWN_ORDER, symbol, "stranger", 0, 5)
    elif kind == "position":
        delta = data.draw(st.integers(-20, 20).filter(bool))
        net = sum(p.quantity for p in account.venue_positions if p.symbol == symbol)
        account.venue_positions = [p for p in account.venue_positions if p.symbol != symbol]
        account.venue_positions.append(Position(symbol, net + delta, 100.0))
        expected = (MismatchKind.POSITION, symbol, None, account.ours.get(symbol, 0), net + delta)
    else:
        gone = data.draw(st.sampled_from(listed))
        account.venue_open.remove(gone)
        cid = gone.client_order_id
        report = None if kind == "missing" else replace(gone, status=data.draw(st.sampled_from(
            [OrderStatus.CANCELED, OrderStatus.EXPIRED])))
        account.venue_reports[cid] = report
        expected = (MismatchKind.MISSING_ORDER, gone.request.symbol, cid,
                    gone.request.quantity - gone.filled_quantity, 0)
    [m] = account.find()
    assert (m.kind, m.symbol, m.client_order_id, m.ours, m.broker) == expected
    assert m.detail and "\n" not in m.detail


@settings(max_examples=200, deadline=None)
@given(accounts(), st.data())
def test_differences_in_the_users_symbols_are_never_found(account: Account, data: st.DataObject) -> None:
    symbol = data.draw(st.sampled_from(USER))
    account.venue_open.append(_order("stranger", symbol))
    account.today_open["mine"] = _order("mine", symbol)  # even an order of ours outside the session
    account.known_today.add("mine")
    account.venue_reports["mine"] = None
    account.venue_positions.append(Position(symbol, data.draw(st.integers(1, 50)), 1.0))
    account.ours[symbol] = data.draw(st.integers(-50, 0))
    assert account.find() == []


@settings(max_examples=200, deadline=None)
@given(accounts(), st.lists(st.sampled_from(SESSION + USER), max_size=6), st.integers(0, 2**32))
def test_the_result_does_not_depend_on_input_order(account: Account, strays: list[str], seed: int) -> None:
    for n, symbol in enumerate(strays):  # a few differences of every kind, to have something to order
        account.venue_open.append(_order(f"x{n}", symbol, n + 1))
        account.venue_positions.append(Position(symbol, n + 1, 1.0))
    for cid in list(account.today_open)[:2]:
        account.venue_open = [o for o in account.venue_open if o.client_order_id != cid]
        account.venue_reports[cid] = None
    expected = account.find()
    assert expected == sorted(expected, key=lambda m: (m.kind.value, m.symbol, m.client_order_id or ""))
    assert account.find(random.Random(seed)) == expected
