"""Each indicator's kernel (`update_series`, many bars at once) gives exactly, bit for bit, what its
incremental form gives bar by bar, and carries its state across blocks of any length."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.market_data import Bar
from mismarterad.services.bar_columns import BarSeries
from mismarterad.services.indicators.factory import KINDS, make_indicator
from mismarterad.strategies.data_requests import IndicatorRequest

START = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)


@st.composite
def bars(draw: st.DrawFn) -> list[Bar]:
    """Random bars: cents or four-decimal prices, flat stretches (zero changes), zero volumes,
    and jumps over UTC midnight (VWAP restarts)."""
    out, t = [], START
    price = draw(st.integers(1_000, 100_000))
    for _ in range(draw(st.integers(0, 120))):
        price = max(1, price + draw(st.sampled_from([0, 0, 0, 1, -1, 7, -7, 150, -150])))
        scale = draw(st.sampled_from([100, 10_000]))
        close = price / scale * (100 if scale == 10_000 else 1)
        up, down = draw(st.integers(0, 300)) / 100, draw(st.integers(0, 300)) / 100
        out.append(Bar("X", "1m", t, close, close + up, max(close - down, 0.01), close, draw(st.sampled_from([0, 1, 500, 10**6]))))
        t += draw(st.sampled_from([timedelta(minutes=1), timedelta(minutes=1), timedelta(hours=20)]))
    return out


@settings(max_examples=150, deadline=None)
@given(series=bars(), kind=st.sampled_from(KINDS), period=st.integers(1, 20), cuts=st.lists(st.integers(0, 120), max_size=5))
def test_kernel_equals_incremental_bit_for_bit(series: list[Bar], kind: str, period: int, cuts: list[int]) -> None:
    request = IndicatorRequest(kind=kind, period=period)  # type: ignore[arg-type]
    one_by_one = make_indicator(request)
    expected = [one_by_one.update(b) for b in series]
    kernel = make_indicator(request)
    got: list[float | None] = []
    bounds = sorted({0, len(series), *(c for c in cuts if c < len(series))})
    for lo, hi in zip(bounds, bounds[1:]):
        values = kernel.update_series(BarSeries.from_bars("X", "1m", series[lo:hi]))
        assert len(values) == hi - lo
        got += [None if math.isnan(v) else v for v in values.tolist()]
    assert [None if v is None else v.hex() for v in got] == [None if v is None else float(v).hex() for v in expected]
