"""The report arithmetic over numpy columns gives, bit for bit, what the step-by-step loops it
replaced gave (tests/support/report_reference.py): per strategy rows, the account, buy and hold,
drawdowns, the chart thinning and the summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from support import report_reference as ref

from mismarterad.core.orders import Fill, Side
from mismarterad.core.run_result import EquityCurve, EquityPoint, PriceColumn
from mismarterad.services.benchmark import buy_and_hold
from mismarterad.services.breakdown import account_figures, fill_steps, max_drawdown_usd, strategy_symbol_rows
from mismarterad.services.decimation import decimate
from mismarterad.services.performance import drawdowns, summarize
from mismarterad.services.trade_matching import match_trades

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
PRICE = st.integers(1, 20_000).map(lambda c: c / 100)


@st.composite
def runs(draw: st.DrawFn) -> tuple:
    """Steps over a few sessions, each symbol's prices with holes, and fills at opens, closes and inside minutes."""
    ends = [T0 + timedelta(days=d) + MINUTE * (i + 1) for d in range(draw(st.integers(0, 3)))
            for i in range(draw(st.integers(1, 6)))]
    ends = sorted(set(ends))
    closes = {s: draw(st.lists(st.none() | PRICE, min_size=len(ends), max_size=len(ends) + 2)) for s in ("A", "B")}
    fills = []
    for _ in range(draw(st.integers(0, 12))):
        where = draw(st.sampled_from(["open", "close", "inside", "after"]))
        i = draw(st.integers(0, max(len(ends) - 1, 0)))
        base = ends[i] if ends else T0
        ts = {"open": base - MINUTE, "close": base, "inside": base - MINUTE / 2, "after": base + MINUTE * 90}[where]
        fills.append(Fill(f"o{len(fills)}", draw(st.sampled_from(["A", "B"])), draw(st.sampled_from(list(Side))),
                          draw(st.integers(1, 50)), draw(PRICE), draw(st.integers(0, 3)) / 10, ts,
                          draw(st.sampled_from(["a#0", "b#1"]))))
    return ends, closes, sorted(fills, key=lambda f: f.ts_utc)


def _bits(value: float | None) -> str | None:
    return None if value is None else float(value).hex()


@settings(max_examples=200, deadline=None)
@given(run=runs(), also=st.booleans())
def test_rows_equal_the_step_by_step_loop(run, also: bool) -> None:  # type: ignore[no-untyped-def]
    ends, closes, fills = run
    closes = {s: PriceColumn(c) if s == "A" else c for s, c in closes.items()}
    trades = match_trades(fills)
    extra = [("c#2", "A")] if also else []
    assert fill_steps(fills, ends) == ref.fill_steps(fills, ends)
    got, expected = (f(fills, trades, ends, closes, extra) for f in (strategy_symbol_rows, ref.strategy_symbol_rows))
    assert [(r.strategy, r.symbol) for r in got] == [(r.strategy, r.symbol) for r in expected]
    for g, e in zip(got, expected, strict=True):
        assert [_bits(getattr(g.figures, k)) for k in ("pnl", "max_drawdown_usd", "exposure")] == \
               [_bits(getattr(e.figures, k)) for k in ("pnl", "max_drawdown_usd", "exposure")]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(-50_000, 200_000).map(lambda c: c / 100), max_size=60), start=PRICE,
       exposed=st.lists(st.booleans(), max_size=60))
def test_account_drawdowns_and_curves_equal_the_loops(values: list[float], start: float, exposed: list[bool]) -> None:
    assert [_bits(v) for v in drawdowns(values)] == [_bits(v) for v in ref.drawdowns(values)]
    assert _bits(max_drawdown_usd(start, values)) == _bits(ref.max_drawdown_usd(start, values))
    exposed = (exposed + [False] * len(values))[: len(values)]
    got, expected = account_figures(start, values, exposed, []), ref.account_figures(start, values, exposed, [])
    assert (_bits(got.pnl), _bits(got.max_drawdown_usd), _bits(got.exposure)) == \
           (_bits(expected.pnl), _bits(expected.max_drawdown_usd), _bits(expected.exposure))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), steps=st.integers(0, 40), symbols=st.integers(0, 3))
def test_buy_and_hold_equals_the_loop(data, steps: int, symbols: int) -> None:  # type: ignore[no-untyped-def]
    prices = st.none() | st.integers(-100, 30_000).map(lambda c: c / 100)
    closes = {f"S{i}": data.draw(st.lists(prices, max_size=steps + 3)) for i in range(symbols)}
    got, expected = buy_and_hold(12_345.0, closes, steps), ref.buy_and_hold(12_345.0, closes, steps)
    assert [_bits(v) for v in got.curve] == [_bits(v) for v in expected.curve]
    for name in ("pnl", "max_drawdown_usd", "max_drawdown", "exposure"):
        assert _bits(getattr(got, name)) == _bits(getattr(expected, name)), name
    for g, e in zip(got.holdings, expected.holdings, strict=True):
        assert [(_bits(x) if isinstance(x, float) else x) for x in (g.symbol, g.cash, g.shares, g.entry_price,
                                                                     g.exit_price, g.pnl, g.max_drawdown_usd,
                                                                     g.exposure)] == \
               [(_bits(x) if isinstance(x, float) else x) for x in (e.symbol, e.cash, e.shares, e.entry_price,
                                                                    e.exit_price, e.pnl, e.max_drawdown_usd,
                                                                    e.exposure)]


@settings(max_examples=200, deadline=None)
@given(ys=st.lists(st.integers(-20, 20).map(float), max_size=300), buckets=st.integers(1, 30))
def test_decimate_equals_the_loop(ys: list[float], buckets: int) -> None:
    assert decimate(ys, buckets) == ref.decimate(ys, buckets)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.tuples(PRICE, st.booleans()), max_size=40))
def test_summary_of_a_curve_equals_that_of_its_points(values: list[tuple[float, bool]]) -> None:
    points = [EquityPoint(T0 + MINUTE * i, 1.0, 2.0, e, x) for i, (e, x) in enumerate(values)]
    curve = EquityCurve(points)
    assert list(curve) == points
    days = [date(2011, 1, 3)]
    assert summarize(100.0, curve, days, [100.0], [], 1, 0) == summarize(100.0, points, days, [100.0], [], 1, 0)
    if points:
        old_max = max(ref.drawdowns([100.0, *(p.equity for p in points)]))
        assert _bits(summarize(100.0, curve, days, [100.0], [], 1, 0).max_drawdown) == _bits(old_max)
