"""FIFO trade matching and summary statistics."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.orders import Fill, Side
from mismarterad.core.run_result import EquityPoint
from mismarterad.services.performance import drawdowns, summarize
from mismarterad.services.trade_matching import match_trades

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)


def fill(i: int, side: Side, qty: int, price: float, commission: float = 0.0, symbol: str = "SPY") -> Fill:
    return Fill(f"o{i:06d}", symbol, side, qty, price, commission, T0 + timedelta(minutes=i))


def test_fifo_partial_closes_and_commissions() -> None:
    fills = [fill(1, Side.BUY, 100, 10.0, 1.0), fill(2, Side.BUY, 50, 11.0, 1.0), fill(3, Side.SELL, 120, 12.0, 1.2)]
    trades = match_trades(fills)
    assert [(t.entry_price, t.quantity) for t in trades] == [(10.0, 100), (11.0, 20)]
    # 100 * 2 - (0.01 + 0.01) * 100 ; 20 * 1 - (0.02 + 0.01) * 20
    assert math.isclose(trades[0].pnl, 198.0) and math.isclose(trades[1].pnl, 19.4)


def test_short_round_trip() -> None:
    trades = match_trades([fill(1, Side.SELL, 10, 20.0), fill(2, Side.BUY, 10, 18.0)])
    assert trades[0].direction == -1 and trades[0].pnl == 20.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.integers(100, 200)), max_size=40))
def test_closed_quantity_and_pnl_add_up(moves: list[tuple[bool, int, int]]) -> None:
    fills = [fill(i, Side.BUY if buy else Side.SELL, q, p / 10) for i, (buy, q, p) in enumerate(moves)]
    trades = match_trades(fills)
    position = sum(f.side.sign * f.quantity for f in fills)
    bought = sum(f.quantity for f in fills if f.side is Side.BUY)
    sold = sum(f.quantity for f in fills if f.side is Side.SELL)
    assert sum(t.quantity for t in trades) * 2 == bought + sold - abs(position)  # every closed share twice
    if position == 0:  # all closed: the P&L is cash out minus cash in
        cash = sum(-f.side.sign * f.quantity * f.price for f in fills)
        assert math.isclose(sum(t.pnl for t in trades), cash, abs_tol=1e-6)


def test_drawdowns() -> None:
    assert drawdowns([100, 110, 99, 121, 110]) == [0, 0, (110 - 99) / 110, 0, (121 - 110) / 121]


def test_summary() -> None:
    curve = [EquityPoint(T0 + timedelta(minutes=i), 0, 0, e, i % 2 == 0) for i, e in enumerate([100, 90, 120, 110])]
    trades = match_trades([fill(1, Side.BUY, 1, 10.0), fill(2, Side.SELL, 1, 12.0), fill(3, Side.BUY, 1, 10.0),
                           fill(4, Side.SELL, 1, 9.0)])
    s = summarize(100.0, curve, [date(2011, 1, 3), date(2011, 1, 4)], [90.0, 110.0], trades, 4, 1)
    assert math.isclose(s.total_return, 0.1) and s.trades == 2 and s.win_rate == 0.5 and s.exposure == 0.5
    assert math.isclose(s.max_drawdown, 0.1)
    returns = [-0.1, 110 / 90 - 1]
    mean, sd = sum(returns) / 2, math.sqrt(sum((r - sum(returns) / 2) ** 2 for r in returns))
    assert s.sharpe is not None and math.isclose(s.sharpe, mean / sd * math.sqrt(252))
    assert summarize(100.0, [], [], [], [], 0, 0).sharpe is None


def test_fifo_is_per_strategy_and_symbol() -> None:
    def tagged(i: int, side: Side, qty: int, price: float, strategy: str) -> Fill:
        return Fill(f"o{i:06d}", "SPY", side, qty, price, 0.0, T0 + timedelta(minutes=i), strategy)

    # a's lot is older, yet b's sell closes b's own lot
    trades = match_trades([tagged(1, Side.BUY, 10, 10.0, "a#0"), tagged(2, Side.BUY, 10, 11.0, "b#1"),
                           tagged(3, Side.SELL, 10, 12.0, "b#1"), tagged(4, Side.SELL, 10, 9.0, "a#0")])
    assert [(t.strategy, t.entry_price, t.exit_price, t.pnl) for t in trades] == [
        ("b#1", 11.0, 12.0, 10.0), ("a#0", 10.0, 9.0, -10.0)]
