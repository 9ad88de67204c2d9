"""Figures per strategy and symbol, the account's row, and the buy-and-hold benchmark."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.orders import Fill, Side
from mismarterad.services.benchmark import buy_and_hold
from mismarterad.services.decimation import decimate
from mismarterad.services.breakdown import (
    account_figures,
    fill_steps,
    max_drawdown_usd,
    strategy_symbol_rows,
)
from mismarterad.services.trade_matching import match_trades

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def fill(ts: datetime, side: Side, qty: int, price: float, strategy: str = "s#0", symbol: str = "A",
         commission: float = 0.0) -> Fill:
    return Fill("o1", symbol, side, qty, price, commission, ts, strategy)


def test_a_fill_counts_in_the_minute_that_holds_it() -> None:
    # two sessions of three steps each: ends 14:31..14:33 and, the next day, 14:31..14:33
    ends = [T0 + MINUTE * (i + 1) for i in range(3)] + [T0 + timedelta(days=1) + MINUTE * (i + 1) for i in range(3)]
    fills = [
        fill(T0, Side.BUY, 1, 10.0),  # at the first bar's open: step 0
        fill(T0 + MINUTE, Side.SELL, 1, 10.0),  # 14:31 starts step 1 and ends step 0: the open wins
        fill(T0 + MINUTE * 3, Side.SELL, 1, 10.0),  # the session's last close: no step starts there
        fill(T0 + MINUTE * 5 / 2, Side.BUY, 1, 10.0),  # inside step 2 (a live fill)
        fill(T0 + timedelta(hours=2), Side.BUY, 1, 10.0),  # between sessions: the next step
        fill(T0 + timedelta(days=3), Side.BUY, 1, 10.0),  # after every step: the last
    ]
    assert fill_steps(fills, ends) == [0, 1, 2, 2, 3, 5]
    assert fill_steps(fills, []) == [-1] * len(fills)


def test_a_round_trip_row() -> None:
    ends = [T0 + MINUTE * (i + 1) for i in range(4)]
    closes = {"A": [10.0, 8.0, 12.0, 11.0]}
    fills = [fill(T0, Side.BUY, 10, 10.0, commission=1.0),  # bought at the first open
             fill(T0 + MINUTE * 4, Side.SELL, 10, 11.0, commission=1.0)]  # sold at the last close
    [row] = strategy_symbol_rows(fills, match_trades(fills), ends, closes)
    f = row.figures
    assert (row.strategy, row.symbol, f.trades, f.win_rate) == ("s#0", "A", 1, 1.0)
    assert math.isclose(f.pnl, 8.0) and math.isclose(f.gross_profit, 8.0) and f.gross_loss == 0.0
    assert f.profit_factor is None  # no losing trade
    # the curve: -1 (bought at the close price), -21, +19, +8 (sold): fell 1 from 0, then 11 from 19
    assert math.isclose(f.max_drawdown_usd, 21.0)
    assert f.exposure == 1.0  # held through all four minutes, the last until its close


def test_rows_include_strategies_that_never_filled_and_are_sorted() -> None:
    ends = [T0 + MINUTE]
    rows = strategy_symbol_rows([fill(T0, Side.BUY, 1, 10.0, "z#1")], [], ends, {"A": [10.0]}, also=[("a#0", "B")])
    assert [(r.strategy, r.symbol) for r in rows] == [("a#0", "B"), ("z#1", "A")]
    assert rows[0].figures.pnl == 0.0 and rows[0].figures.exposure == 0.0 and rows[0].figures.win_rate is None


def test_profit_factor_and_account_row() -> None:
    fills = [fill(T0, Side.BUY, 1, 10.0), fill(T0 + MINUTE, Side.SELL, 1, 13.0),
             fill(T0 + MINUTE * 2, Side.BUY, 1, 10.0), fill(T0 + MINUTE * 3, Side.SELL, 1, 9.0)]
    f = account_figures(100.0, [100.0, 103.0, 101.0, 102.0], [True, False, True, False], match_trades(fills))
    assert (f.trades, f.win_rate, f.gross_profit, f.gross_loss, f.profit_factor) == (2, 0.5, 3.0, 1.0, 3.0)
    assert f.pnl == 2.0 and f.max_drawdown_usd == 2.0 and f.exposure == 0.5
    assert account_figures(100.0, [], [], []).pnl == 0.0


def test_max_drawdown_usd() -> None:
    assert max_drawdown_usd(0.0, [-1.0, 5.0, 2.0, 6.0, 0.0]) == 6.0
    assert max_drawdown_usd(10.0, []) == 0.0


# -- properties: the rows add up to the account they were cut from -----------------------------

MOVES = st.lists(st.tuples(st.integers(0, 11), st.sampled_from(["open", "close", "inside"]),
                           st.sampled_from(["a#0", "b#1"]), st.sampled_from(["A", "B"]), st.booleans(),
                           st.integers(1, 20), st.integers(50, 150), st.integers(0, 3)), max_size=30)
PRICES = st.lists(st.integers(50, 150), min_size=12, max_size=12)


def _steps() -> list[datetime]:
    # three sessions of four minutes, a night apart
    return [T0 + timedelta(days=d) + MINUTE * (i + 1) for d in range(3) for i in range(4)]


def _fills(moves: list[tuple], ends: list[datetime]) -> list[Fill]:  # type: ignore[type-arg]
    fills = []
    for step, at, strategy, symbol, buy, qty, price, fee in sorted(moves, key=lambda m: m[0]):
        if at == "close" and step % 4 != 3:
            at = "open"  # closes are stamped with a session's end only
        ts = {"open": ends[step] - MINUTE, "close": ends[step], "inside": ends[step] - MINUTE / 2}[at]
        fills.append(fill(ts, Side.BUY if buy else Side.SELL, qty, price / 10, strategy, symbol, fee / 10))
    return sorted(fills, key=lambda f: f.ts_utc)


def _account(fills: list[Fill], ends: list[datetime], closes: dict[str, list[float]],
             initial: float) -> tuple[list[float], list[bool]]:
    """The account the rows come from, marked like ExecutionManager: after each step's fills."""
    steps = fill_steps(fills, ends)
    cash, held, equity, exposed = initial, {}, [], []  # held: (strategy, symbol) -> shares, as PositionBook
    for i in range(len(ends)):
        before_close = dict(held)
        for step, f in zip(steps, fills, strict=True):
            if step == i:
                key = (f.strategy, f.symbol)
                if f.ts_utc < ends[i]:
                    before_close[key] = before_close.get(key, 0) + f.side.sign * f.quantity
                held[key] = held.get(key, 0) + f.side.sign * f.quantity
                cash -= f.side.sign * f.quantity * f.price + f.commission
        equity.append(cash + sum(q * closes[symbol][i] for (_, symbol), q in held.items()))
        exposed.append(any(before_close.values()))
    return equity, exposed


@settings(max_examples=150, deadline=None)
@given(MOVES, PRICES, PRICES)
def test_rows_add_up_to_the_account(moves: list[tuple], a: list[int], b: list[int]) -> None:  # type: ignore[type-arg]
    ends = _steps()
    closes = {"A": [p / 10 for p in a], "B": [p / 10 for p in b]}
    fills = _fills(moves, ends)
    trades = match_trades(fills)
    rows = strategy_symbol_rows(fills, trades, ends, closes)
    equity, exposed = _account(fills, ends, closes, 1000.0)
    total = account_figures(1000.0, equity, exposed, trades)
    assert math.isclose(sum(r.figures.pnl for r in rows), total.pnl, abs_tol=1e-6)
    assert sum(r.figures.trades for r in rows) == total.trades
    assert math.isclose(sum(r.figures.gross_profit - r.figures.gross_loss for r in rows),
                        sum(t.pnl for t in trades), abs_tol=1e-6)
    # a fall of the sum is at most the sum of the falls
    assert total.max_drawdown_usd <= sum(r.figures.max_drawdown_usd for r in rows) + 1e-6
    for r in rows:
        assert 0.0 <= r.figures.exposure <= total.exposure  # a row holding shares: the account does
        assert r.figures.max_drawdown_usd >= 0.0
        assert r.figures.profit_factor is None or r.figures.profit_factor >= 0.0


@settings(max_examples=150, deadline=None)
@given(MOVES, PRICES)
def test_a_flat_row_made_what_its_trades_made(moves: list[tuple], prices: list[int]) -> None:  # type: ignore[type-arg]
    ends = _steps()
    fills = _fills(moves, ends)
    positions: dict[tuple[str, str], int] = {}
    for f in fills:
        positions[f.strategy, f.symbol] = positions.get((f.strategy, f.symbol), 0) + f.side.sign * f.quantity
    trades = match_trades(fills)
    closes = {"A": [p / 10 for p in prices], "B": [p / 10 for p in prices]}
    for row in strategy_symbol_rows(fills, trades, ends, closes):
        if positions[row.strategy, row.symbol] == 0:
            realized = sum(t.pnl for t in trades if (t.strategy, t.symbol) == (row.strategy, row.symbol))
            assert math.isclose(row.figures.pnl, realized, abs_tol=1e-6)


# -- buy and hold -------------------------------------------------------------------------------


def test_buy_and_hold_splits_the_cash_and_holds_from_the_first_price() -> None:
    b = buy_and_hold(1000.0, {"A": [None, 10.0, 11.0, 9.0, 12.0], "B": [20.0, 20.0, None, 10.0, 30.0]}, 5)
    a_, b_ = b.holdings
    assert (a_.cash, a_.shares, a_.entry_price, a_.exit_price, a_.exposure) == (500.0, 50.0, 10.0, 12.0, 0.8)
    assert (b_.shares, b_.pnl, b_.max_drawdown_usd) == (25.0, 250.0, 250.0)  # 500 -> 250 at 10.0
    assert b.curve == (1000.0, 1000.0, 1050.0, 700.0, 1350.0)  # B's missing price: its last one
    assert b.pnl == 350.0 and b.max_drawdown_usd == 350.0 and math.isclose(b.max_drawdown, 350 / 1050)
    assert b.exposure == 1.0


def test_buy_and_hold_without_prices_keeps_the_cash() -> None:
    b = buy_and_hold(1000.0, {"A": [None, None]}, 2)
    assert b.holdings[0].entry_price is None and b.pnl == 0.0 and b.exposure == 0.0 and b.curve == (1000.0, 1000.0)
    assert buy_and_hold(1000.0, {}, 0).pnl == 0.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(1, 1000)), min_size=1, max_size=20), min_size=1,
                max_size=4), st.integers(1, 50))
def test_buy_and_hold_properties(columns: list[list[int | None]], scale: int) -> None:
    steps = max(len(c) for c in columns)
    closes = {f"S{i}": [None if p is None else float(p) for p in c] for i, c in enumerate(columns)}
    b = buy_and_hold(10_000.0, closes, steps)
    assert len(b.curve) == steps
    assert math.isclose(b.pnl, b.curve[-1] - 10_000.0, abs_tol=1e-6)
    assert math.isclose(sum(h.pnl for h in b.holdings), b.pnl, abs_tol=1e-6)
    assert 0.0 <= b.max_drawdown < 1.0 and b.max_drawdown_usd >= 0.0 and 0.0 <= b.exposure <= 1.0
    for h in b.holdings:
        if h.entry_price is not None:
            assert h.exit_price is not None
            assert math.isclose(h.pnl, h.cash * (h.exit_price / h.entry_price - 1), rel_tol=1e-9, abs_tol=1e-6)
    # whole-price scaling changes the shares, not the money
    scaled = buy_and_hold(10_000.0, {s: [None if p is None else p * scale for p in c] for s, c in closes.items()},
                          steps)
    assert math.isclose(scaled.pnl, b.pnl, rel_tol=1e-9, abs_tol=1e-6)


# -- thinning a series for a chart --------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-1000, 1000), max_size=400), st.integers(1, 30))
def test_decimate_keeps_order_ends_and_every_bucket_extreme(ys: list[int], buckets: int) -> None:
    keep = decimate(ys, buckets)
    assert keep == sorted(set(keep))
    assert len(keep) <= max(4 * buckets, len(ys)) and (len(keep) <= 4 * buckets or keep == list(range(len(ys))))
    if ys:
        assert keep[0] == 0 and keep[-1] == len(ys) - 1
        assert max(ys[i] for i in keep) == max(ys) and min(ys[i] for i in keep) == min(ys)
        if len(ys) > 4 * buckets:  # each stretch's own high and low are kept
            for b in range(buckets):
                lo, hi = len(ys) * b // buckets, len(ys) * (b + 1) // buckets
                kept = [ys[i] for i in keep if lo <= i < hi]
                assert max(kept) == max(ys[lo:hi]) and min(kept) == min(ys[lo:hi])
