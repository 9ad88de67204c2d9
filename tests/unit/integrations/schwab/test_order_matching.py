"""The matching rule (order_matching.py): one candidate is the order, none is none, two or a
contested one is never a guess; a property: whatever the orders, FOUND names the only order
that fits and no other lost POST could be it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.orders import OrderRequest, OrderStatus, OrderType, Side
from mismarterad.integrations.schwab.order_matching import MatchWindow, Outcome, Posted, match_posted, same_order
from mismarterad.integrations.schwab.parse import PlacedOrder

T = datetime(2024, 3, 11, 14, 0, tzinfo=UTC)
WINDOW = MatchWindow(timedelta(minutes=2), timedelta(minutes=2))


def posted(cid: str, qty: int = 10, at: timedelta = timedelta(), side: Side = Side.BUY,
           limit: float | None = None) -> Posted:
    type_ = OrderType.LIMIT if limit is not None else OrderType.MARKET
    return Posted(OrderRequest(cid, "SPY", side, qty, type_, limit, None, T + at), T + at)


def placed(order_id: str, qty: int = 10, at: timedelta = timedelta(seconds=1), side: Side = Side.BUY,
           limit: float | None = None) -> PlacedOrder:
    type_ = OrderType.LIMIT if limit is not None else OrderType.MARKET
    spec = OrderRequest("", "SPY", side, qty, type_, limit, None, T + at)
    return PlacedOrder(order_id, spec, OrderStatus.ACCEPTED, "WORKING", 0, (), T + at)


def test_one_candidate_is_the_order() -> None:
    found = match_posted(posted("c1"), [placed("1"), placed("2", qty=5)], bound=set(), rivals=[], window=WINDOW)
    assert (found.outcome, found.order_id) == (Outcome.FOUND, "1")


def test_what_differs_or_lies_outside_the_window_or_is_bound_is_no_candidate() -> None:
    others = [placed("1", qty=11), placed("2", side=Side.SELL), placed("3", limit=10.0), placed("4", at=timedelta(minutes=5)),
              placed("5", at=-timedelta(minutes=3)), placed("6")]
    assert match_posted(posted("c1"), others, bound={"6"}, rivals=[], window=WINDOW).outcome is Outcome.NONE
    assert same_order(posted("c2", limit=10.0), placed("7", limit=10.00001))


def test_an_order_of_a_shape_this_adapter_never_sends_is_no_candidate() -> None:
    """An operator's SELL_SHORT, GTC or trailing stop in the window is never bound as our lost POST."""
    from dataclasses import replace

    from mismarterad.integrations.schwab.parse import parse_order

    def listed(**changes: str) -> PlacedOrder:
        raw = {"orderId": 1, "status": "WORKING", "orderType": "MARKET", "duration": "DAY", "session": "NORMAL",
               "quantity": 10.0, "filledQuantity": 0, "enteredTime": "2024-03-11T14:00:01+0000",
               "orderLegCollection": [{"instruction": "SELL", "instrument": {"assetType": "EQUITY", "symbol": "SPY"},
                                       "quantity": 10.0}]}
        leg = {"instruction": changes.pop("instruction")} if "instruction" in changes else {}
        raw["orderLegCollection"][0].update(leg)  # type: ignore[index]
        return parse_order({**raw, **changes})

    ours = posted("c1", side=Side.SELL)
    assert match_posted(ours, [listed()], bound=set(), rivals=[], window=WINDOW).outcome is Outcome.FOUND
    for other in (listed(instruction="SELL_SHORT"), listed(duration="GOOD_TILL_CANCEL"), listed(session="SEAMLESS")):
        assert not other.sendable and not same_order(ours, other)
        assert match_posted(ours, [other], bound=set(), rivals=[], window=WINDOW).outcome is Outcome.NONE
    assert not same_order(posted("c2", side=Side.SELL), replace(placed("9", side=Side.SELL), sendable=False))


def test_two_candidates_are_never_a_guess() -> None:
    found = match_posted(posted("c1"), [placed("1"), placed("2", at=timedelta(seconds=30))], bound=set(), rivals=[],
                         window=WINDOW)
    assert (found.outcome, found.candidates) == (Outcome.AMBIGUOUS, ("1", "2"))


def test_a_candidate_another_lost_post_could_be_too_is_never_a_guess() -> None:
    ours, rival = posted("c1"), posted("c2", at=timedelta(seconds=40))
    found = match_posted(ours, [placed("1", at=timedelta(seconds=20))], bound=set(), rivals=[ours, rival],
                         window=WINDOW)
    assert (found.outcome, found.rivals) == (Outcome.AMBIGUOUS, ("c2",))
    far = posted("c3", at=timedelta(minutes=10))
    assert match_posted(ours, [placed("1")], bound=set(), rivals=[ours, far], window=WINDOW).outcome is Outcome.FOUND


orders = st.lists(st.tuples(st.integers(8, 12), st.integers(-240, 240), st.booleans()), max_size=6)


@settings(max_examples=200, deadline=None)
@given(orders, st.lists(st.integers(-300, 300), max_size=3), st.sets(st.integers(0, 5)))
def test_found_is_the_only_fitting_unbound_order_and_uncontested(spec: list[tuple[int, int, bool]],
                                                                 rival_offsets: list[int], bound_idx: set[int]) -> None:
    candidates = [placed(str(i), qty=q, at=timedelta(seconds=s), side=Side.BUY if b else Side.SELL)
                  for i, (q, s, b) in enumerate(spec)]
    bound = {str(i) for i in bound_idx}
    ours = posted("c0")
    rivals = [ours, *(posted(f"r{i}", at=timedelta(seconds=o)) for i, o in enumerate(rival_offsets))]
    found = match_posted(ours, candidates, bound=bound, rivals=rivals, window=WINDOW)
    fitting = [c for c in candidates if c.order_id not in bound and same_order(ours, c)
               and WINDOW.contains(ours.posted_utc, c.spec.submitted_utc)]
    if found.outcome is Outcome.FOUND:
        assert [c.order_id for c in fitting] == [found.order_id]
        assert not any(WINDOW.contains(r.posted_utc, fitting[0].spec.submitted_utc) for r in rivals[1:])
    elif found.outcome is Outcome.NONE:
        assert fitting == []
    else:
        assert len(fitting) > 1 or any(WINDOW.contains(r.posted_utc, fitting[0].spec.submitted_utc) for r in rivals[1:])
