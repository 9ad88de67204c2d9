"""The columnar kernels equal the bar-by-bar reference implementations on random data: blocks on the
session grid, derived bars (whatever the block boundaries), quality, gaps and window counts."""

from __future__ import annotations

from datetime import date, time

from hypothesis import given, settings
from hypothesis import strategies as st
from support.bars import minute_bars, session

from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.services.bar_aggregation import BarAggregator, aggregate_session, derived_bar_count
from mismarterad.services.bar_columns import BarSeries, to_us
from mismarterad.services.derived_bars import DerivedAggregator, aggregate_columns
from mismarterad.services.gap_detection import detect_gaps
from mismarterad.services.quality_scoring import score_quality
from mismarterad.services.session_grid import SessionGrid, session_block
from mismarterad.threads.live_steps import group_steps

REGULAR = session()
EARLY = session(date(2011, 11, 25), close=time(13))
SYMBOLS = ("AAA", "BBB", "CCC")
INTERVALS = st.lists(st.sampled_from(["2m", "5m", "7m", "15m", "1h"]), min_size=1, max_size=3, unique=True).map(
    lambda names: sorted((parse_interval(n) for n in names), key=lambda i: i.minutes))


def _renamed(bars: list[Bar], symbol: str) -> list[Bar]:
    return [Bar(symbol, b.interval, b.start_utc, b.open, b.high, b.low, b.close, b.volume) for b in bars]


@st.composite
def sessions_bars(draw: st.DrawFn) -> tuple:
    s = EARLY if draw(st.booleans()) else REGULAR
    bars = {symbol: _renamed(draw(minute_bars(s)), symbol) for symbol in SYMBOLS}
    return s, bars


def _reference(s, bars: dict[str, list[Bar]], intervals) -> list[tuple]:  # type: ignore[no-untyped-def]
    """What the DataProcessor's BarAggregators made, step by step, then the end-of-session flush."""
    aggregators = {sym: [BarAggregator(i, s) for i in intervals] for sym in SYMBOLS}
    regular = {sym: [b for b in bs if s.regular_open <= b.start_utc < s.regular_close] for sym, bs in bars.items()}
    out = []
    steps = group_steps(regular)
    for step in steps:
        for bar in step.bars:
            for agg in aggregators[bar.symbol]:
                out += [(step.start_utc, d) for d in agg.add(bar)]
    flushed = [d for aggs in aggregators.values() for agg in aggs for d in agg.flush()]
    flushed.sort(key=lambda b: (b.symbol, b.interval))
    return out + [(steps[-1].start_utc, d) for d in flushed]


@settings(max_examples=60, deadline=None)
@given(data=sessions_bars(), intervals=INTERVALS, cuts=st.lists(st.integers(0, 400), max_size=6),
       one_step_blocks=st.booleans())
def test_derived_bars_equal_bar_aggregator_step_by_step_whatever_the_blocks(data, intervals, cuts,  # type: ignore[no-untyped-def]
                                                                            one_step_blocks) -> None:
    s, bars = data
    grid = SessionGrid.of(s)
    block = session_block(SYMBOLS, {sym: BarSeries.from_bars(sym, "1m", bs) for sym, bs in bars.items()},
                          s.regular_open, s.regular_close)
    aggregator = DerivedAggregator(grid, len(SYMBOLS), intervals)
    got = []
    bounds = sorted({0, block.steps, *(c for c in cuts if c < block.steps)})
    if one_step_blocks:  # live: one block a minute (DerivedAggregator's scalar path)
        bounds = list(range(block.steps + 1))
    for lo, hi in zip(bounds, bounds[1:]):
        part = block.rows(lo, hi)
        derived = aggregator.add(part)
        got += _as_bars(block, derived, lo)
    if block.steps:
        got += _as_bars(block, aggregator.flush(block.steps - 1), 0)
    assert got == _reference(s, bars, intervals)


def _as_bars(block, derived, offset: int) -> list[tuple]:  # type: ignore[no-untyped-def]
    from mismarterad.services.bar_columns import to_datetime

    return [(to_datetime(int(block.start_us[offset + r])),
             Bar(block.symbols[c], derived.intervals[k], to_datetime(int(t)), o, h, lo, cl, v))
            for r, c, k, t, o, h, lo, cl, v in zip(*(a.tolist() for a in (
                derived.row, derived.col, derived.interval, derived.start_us, derived.open, derived.high, derived.low,
                derived.close, derived.volume)), strict=True)]


@settings(max_examples=60, deadline=None)
@given(data=sessions_bars(), interval=st.sampled_from(["2m", "5m", "15m", "1h", "4h"]).map(parse_interval))
def test_aggregate_columns_equals_aggregate_session(data, interval) -> None:  # type: ignore[no-untyped-def]
    s, bars = data
    for symbol, bs in bars.items():
        got = aggregate_columns(BarSeries.from_bars(symbol, "1m", bs), SessionGrid.of(s), interval).bars()
        assert got == aggregate_session(bs, interval, s)


@settings(max_examples=60, deadline=None)
@given(data=sessions_bars(), until=st.none() | st.integers(-5, 400))
def test_quality_gaps_and_counts_equal_the_reference(data, until) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    s, bars = data
    grid = SessionGrid.of(s)
    until_utc = None if until is None else s.regular_open + timedelta(minutes=until)
    m1 = parse_interval("1m")
    for bs in bars.values():
        starts = BarSeries.from_bars("X", "1m", bs).start_us
        until_us = None if until_utc is None else to_us(until_utc)
        assert grid.quality(starts, until_us) == score_quality(bs, s, m1, until_utc)
        assert grid.gaps(starts, until_us) == detect_gaps(bs, s, m1, until_utc)
        for name in ("5m", "1h", "1d"):
            interval = parse_interval(name)
            assert grid.window_count(starts, interval.minutes) == derived_bar_count(bs, s, interval)


@settings(max_examples=30, deadline=None)
@given(data=sessions_bars())
def test_session_block_holds_the_steps_of_group_steps(data) -> None:  # type: ignore[no-untyped-def]
    s, bars = data
    block = session_block(SYMBOLS, {sym: BarSeries.from_bars(sym, "1m", bs) for sym, bs in bars.items()},
                          s.regular_open, s.regular_close)
    regular = {sym: [b for b in bs if s.regular_open <= b.start_utc < s.regular_close] for sym, bs in bars.items()}
    assert [(to_us(st_.start_utc), st_.bars) for st_ in group_steps(regular)] == [
        (int(block.start_us[i]), block.step_bars(i)) for i in range(block.steps)]
    assert block.bars_by_symbol() == regular
