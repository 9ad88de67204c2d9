"""Counting day trades: an order that shrinks the net position in a symbol on a day on which
that symbol's position was opened or increased earlier the same day, once per order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.orders import Fill, Side
from mismarterad.services.day_trades import DayTradeTally, count_day_trades

MON = datetime(2011, 1, 3, 15, 0, tzinfo=UTC)
TUE = MON + timedelta(days=1)


def fill(oid: str, side: Side, quantity: int, ts: datetime, symbol: str = "SPY") -> Fill:
    return Fill(oid, symbol, side, quantity, 100.0, 0.0, ts)


def day_of(ts: datetime) -> date:
    return ts.date()


def minutes(base: datetime, m: int) -> datetime:
    return base + timedelta(minutes=m)


def test_a_round_trip_on_one_day_is_one_day_trade() -> None:
    fills = [fill("o1", Side.BUY, 100, minutes(MON, 0)), fill("o2", Side.SELL, 100, minutes(MON, 5))]
    assert count_day_trades(fills, day_of) == {MON.date(): 1}


def test_opened_yesterday_closed_today_is_no_day_trade() -> None:
    fills = [fill("o1", Side.BUY, 100, MON), fill("o2", Side.SELL, 100, TUE)]
    assert count_day_trades(fills, day_of) == {}


def test_two_fills_of_one_closing_order_are_one_day_trade() -> None:
    fills = [fill("o1", Side.BUY, 100, minutes(MON, 0)), fill("o2", Side.SELL, 50, minutes(MON, 1)),
             fill("o2", Side.SELL, 50, minutes(MON, 2))]
    assert count_day_trades(fills, day_of) == {MON.date(): 1}


def test_each_reducing_order_after_an_opening_counts() -> None:
    fills = [fill("o1", Side.BUY, 100, minutes(MON, 0)), fill("o2", Side.SELL, 30, minutes(MON, 1)),
             fill("o3", Side.SELL, 70, minutes(MON, 2))]
    assert count_day_trades(fills, day_of) == {MON.date(): 2}


def test_a_short_opened_and_covered_the_same_day_counts() -> None:
    fills = [fill("o1", Side.SELL, 100, minutes(MON, 0)), fill("o2", Side.BUY, 100, minutes(MON, 1))]
    assert count_day_trades(fills, day_of) == {MON.date(): 1}


def test_flipping_long_to_short_counts_and_covering_the_short_counts_again() -> None:
    fills = [fill("o1", Side.BUY, 100, minutes(MON, 0)), fill("o2", Side.SELL, 150, minutes(MON, 1))]
    assert count_day_trades(fills, day_of) == {MON.date(): 1}
    fills.append(fill("o3", Side.BUY, 50, minutes(MON, 2)))  # covers the short opened by the flip
    assert count_day_trades(fills, day_of) == {MON.date(): 2}


def test_flipping_yesterdays_long_is_no_day_trade() -> None:
    fills = [fill("o1", Side.BUY, 100, MON), fill("o2", Side.SELL, 150, TUE)]
    assert count_day_trades(fills, day_of) == {}


def test_the_symbols_are_counted_apart_and_the_account_is_netted() -> None:
    fills = [fill("o1", Side.BUY, 100, minutes(MON, 0), "SPY"), fill("o2", Side.SELL, 100, minutes(MON, 1), "QQQ"),
             fill("o3", Side.BUY, 100, minutes(TUE, 0), "QQQ")]  # QQQ's short was opened Monday
    assert count_day_trades(fills, day_of) == {}
    tally = DayTradeTally()
    for f in [fill("o1", Side.BUY, 10, MON), fill("o2", Side.SELL, 10, MON), fill("o3", Side.BUY, 5, TUE),
              fill("o4", Side.SELL, 5, TUE)]:
        tally.add(f, day_of(f.ts_utc))
    assert tally.by_day == {MON.date(): 1, TUE.date(): 1}
    assert tally.count([MON.date(), TUE.date(), MON.date()]) == 2  # a day given twice counts once
    assert tally.count([TUE.date() + timedelta(days=1)]) == 0


# -- property --------------------------------------------------------------------------------

orders_st = st.lists(st.sampled_from(list(Side)), min_size=1, max_size=8)


@st.composite
def fills_st(draw: st.DrawFn) -> list[Fill]:
    sides = draw(orders_st)
    out = []
    for i in range(draw(st.integers(0, 20))):
        order = draw(st.integers(0, len(sides) - 1))
        symbol = draw(st.sampled_from(["SPY", "QQQ"]))
        out.append((draw(st.integers(0, 2)), i, Fill(f"o{order}", symbol, sides[order], draw(st.integers(1, 200)),
                                                      100.0, 0.0, MON)))
    out.sort(key=lambda t: (t[0], t[1]))  # time order
    return [Fill(f.client_order_id, f.symbol, f.side, f.quantity, f.price, f.commission,
                 MON + timedelta(days=d, minutes=i)) for d, i, f in out]


@settings(max_examples=200, deadline=None)
@given(fills_st())
def test_property_count_never_exceeds_the_distinct_reducing_orders(fills: list[Fill]) -> None:
    net: dict[str, int] = {}
    reducing: set[str] = set()
    for f in fills:
        before = net.get(f.symbol, 0)
        after = before + f.side.sign * f.quantity
        net[f.symbol] = after
        if abs(after) < abs(before) or (before > 0 > after) or (before < 0 < after):
            reducing.add(f.client_order_id)
    counted = count_day_trades(fills, day_of)
    assert sum(counted.values()) <= len(reducing)
    assert all(n > 0 for n in counted.values())
    assert set(counted) <= {day_of(f.ts_utc) for f in fills}
