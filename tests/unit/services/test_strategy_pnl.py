"""The day's P&L per strategy: realized by FIFO round trips, unrealized marked at the last price."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.orders import Fill, Position, Side
from mismarterad.core.read_model import StrategyPosition
from mismarterad.services.strategy_pnl import day_pnl
from mismarterad.services.trade_matching import match_trades

T0 = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
STRATEGIES = ("a#0", "b#1")
SYMBOLS = ("SPY", "AAPL")

# (strategy, symbol, buy?, quantity, price in cents, commission in cents)
moves = st.lists(st.tuples(st.sampled_from(STRATEGIES), st.sampled_from(SYMBOLS), st.booleans(),
                           st.integers(1, 60), st.integers(5_000, 20_000), st.integers(0, 300)), max_size=40)
prices = st.fixed_dictionaries({s: st.integers(5_000, 20_000).map(lambda c: c / 100) for s in SYMBOLS})


def _fills(drawn: list[tuple[str, str, bool, int, int, int]]) -> list[Fill]:
    return [Fill(f"o{i}", symbol, Side.BUY if buy else Side.SELL, qty, cents / 100, fee / 100,
                 T0 + timedelta(minutes=i), strategy)
            for i, (strategy, symbol, buy, qty, cents, fee) in enumerate(drawn)]


def _held(fills: list[Fill]) -> list[StrategyPosition]:
    net: dict[tuple[str, str], int] = defaultdict(int)
    for f in fills:
        net[(f.strategy, f.symbol)] += f.side.sign * f.quantity
    return [StrategyPosition(strategy, symbol, q) for (strategy, symbol), q in sorted(net.items()) if q]


@settings(max_examples=150, deadline=None)
@given(moves, prices)
def test_realized_plus_unrealized_is_what_the_fills_made(drawn: list, marks: dict[str, float]) -> None:
    fills = _fills(drawn)
    pnl = day_pnl(fills, _held(fills), [], marks, STRATEGIES)
    for row in pnl.strategies:
        own = [f for f in fills if f.strategy == row.strategy]
        cash = sum(-f.side.sign * f.quantity * f.price - f.commission for f in own)
        held = sum(f.side.sign * f.quantity * marks[f.symbol] for f in own)
        assert row.unrealized is not None and row.total is not None
        assert math.isclose(row.total, cash + held, abs_tol=1e-6)
        assert math.isclose(row.fees, sum(f.commission for f in own), abs_tol=1e-9)


@settings(max_examples=150, deadline=None)
@given(moves, prices, st.sampled_from(SYMBOLS), st.integers(-500, 500))
def test_realized_is_the_reports_trades_and_only_unrealized_moves_with_the_price(
        drawn: list, marks: dict[str, float], symbol: str, cents: int) -> None:
    fills = _fills(drawn)
    held = _held(fills)
    before = day_pnl(fills, held, [], marks, STRATEGIES)
    after = day_pnl(fills, held, [], {**marks, symbol: marks[symbol] + cents / 100}, STRATEGIES)
    trades = match_trades(fills)
    for old, new in zip(before.strategies, after.strategies, strict=True):
        own = [t for t in trades if t.strategy == old.strategy]
        assert old.realized == new.realized == sum(t.pnl for t in own) and old.trades == len(own)
        shares = sum(p.quantity for p in held if p.strategy == old.strategy and p.symbol == symbol)
        assert new.unrealized is not None and old.unrealized is not None
        assert math.isclose(new.unrealized - old.unrealized, shares * cents / 100, abs_tol=1e-6)


@settings(max_examples=100, deadline=None)
@given(moves, prices)
def test_the_total_row_adds_up_the_strategies(drawn: list, marks: dict[str, float]) -> None:
    fills = _fills(drawn)
    pnl = day_pnl(fills, _held(fills), [], marks, STRATEGIES)
    rows = pnl.strategies
    assert pnl.total.strategy == "total"
    assert math.isclose(pnl.total.realized, sum(r.realized for r in rows), abs_tol=1e-9)
    assert pnl.total.unrealized is not None
    assert math.isclose(pnl.total.unrealized, sum(r.unrealized or 0.0 for r in rows), abs_tol=1e-9)
    assert pnl.total.trades == sum(r.trades for r in rows) and pnl.total.total is not None


def test_a_flat_day_has_only_realized_pnl_net_of_fees() -> None:
    fills = _fills([("a#0", "SPY", True, 10, 12_700, 100), ("a#0", "SPY", False, 10, 12_750, 100)])
    [row] = day_pnl(fills, [], [], {"SPY": 130.0}, ["a#0"]).strategies
    assert (row.realized, row.unrealized, row.fees, row.trades) == (3.0, 0.0, 2.0, 1)


def test_a_short_is_marked_against_its_sale_price() -> None:
    fills = _fills([("a#0", "SPY", False, 10, 12_700, 50)])
    [row] = day_pnl(fills, _held(fills), [], {"SPY": 126.0}, ["a#0"]).strategies
    assert row.realized == 0.0 and math.isclose(row.unrealized or 0.0, 10 - 0.5)


def test_idle_strategies_are_listed_and_other_owners_follow_by_name() -> None:
    fills = _fills([("z#2", "SPY", True, 1, 10_000, 0)])
    adopted = StrategyPosition("(account)", "AAPL", 5)
    pnl = day_pnl(fills, [*_held(fills), adopted], [Position("AAPL", 5, 300.0)], {"SPY": 101.0, "AAPL": 310.0},
                  ["b#1", "a#0"])
    assert [r.strategy for r in pnl.strategies] == ["b#1", "a#0", "(account)", "z#2"]
    assert [r.unrealized for r in pnl.strategies] == [0.0, 0.0, 50.0, 1.0]  # adopted: the broker's average cost


def test_a_held_symbol_without_a_price_leaves_unrealized_unknown() -> None:
    fills = _fills([("a#0", "SPY", True, 10, 12_700, 0), ("b#1", "AAPL", True, 1, 30_000, 0)])
    pnl = day_pnl(fills, _held(fills), [], {"AAPL": 301.0}, STRATEGIES)
    assert [(r.strategy, r.unrealized, r.total) for r in pnl.strategies] == [("a#0", None, None), ("b#1", 1.0, 1.0)]
    assert pnl.total.unrealized is None and pnl.total.total is None and pnl.total.realized == 0.0
