"""Aggregation: the batch rules, their invariants, and incremental == batch."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.bars import NY, bar_at, minute_bars, session

from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.services.bar_aggregation import BarAggregator, aggregate_daily, aggregate_session, derived_bar_count

REGULAR = session()
EARLY = session(date(2011, 11, 25), close=time(13))
INTERVALS = st.sampled_from(["2m", "5m", "7m", "15m", "30m", "1h", "4h"]).map(parse_interval)


def at(hh: int, mm: int, day: date = date(2011, 1, 3)) -> datetime:
    return datetime.combine(day, time(hh, mm), NY)


def test_window_rules_on_a_small_example() -> None:
    bars = [
        bar_at(at(9, 29), 1, 9, 1, 9, 1000),  # pre-market: ignored
        bar_at(at(9, 30), 10, 11, 9, 10.5, 1),
        bar_at(at(9, 33), 10.5, 12, 10, 11, 2),
        bar_at(at(9, 35), 11, 11, 8, 8.5, 4),  # next window
        bar_at(at(16, 0), 1, 1, 1, 1, 5),  # post-market: ignored
    ]
    five = aggregate_session(bars, parse_interval("5m"), REGULAR)
    assert [(b.start_utc, b.open, b.high, b.low, b.close, b.volume) for b in five] == [
        (at(9, 30).astimezone(UTC), 10, 12, 9, 11, 3),
        (at(9, 35).astimezone(UTC), 11, 11, 8, 8.5, 4),
    ]
    daily = aggregate_daily(bars, REGULAR)
    assert daily is not None
    assert (daily.open, daily.high, daily.low, daily.close, daily.volume) == (10, 12, 8, 8.5, 7)
    assert daily.start_utc == datetime(2011, 1, 3, tzinfo=NY).astimezone(UTC)


def test_early_close_cuts_the_last_window() -> None:
    bars = [bar_at(at(12, 30, EARLY.day) + timedelta(minutes=i), 10, 11, 9, 10, 1) for i in range(45)]
    hourly = aggregate_session(bars, parse_interval("1h"), EARLY)
    assert [b.start_utc for b in hourly] == [at(12, 30, EARLY.day).astimezone(UTC)]
    assert hourly[0].volume == 30  # 12:30-12:59; bars at or after 13:00 are post-market


def test_unsorted_input_is_refused() -> None:
    a, b = bar_at(at(9, 31), 1, 1, 1, 1, 1), bar_at(at(9, 30), 1, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="sorted"):
        aggregate_session([a, b], parse_interval("5m"), REGULAR)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), interval=INTERVALS, early=st.booleans())
def test_aggregation_invariants(data: st.DataObject, interval, early: bool) -> None:  # type: ignore[no-untyped-def]
    s = EARLY if early else REGULAR
    bars = data.draw(minute_bars(s))
    assert s.regular_open is not None and s.regular_close is not None
    regular = [b for b in bars if s.regular_open <= b.start_utc < s.regular_close]
    out = aggregate_session(bars, interval, s)
    assert sum(b.volume for b in out) == sum(b.volume for b in regular)
    assert [b.start_utc for b in out] == sorted({b.start_utc for b in out})
    for agg in out:
        members = [b for b in regular if agg.start_utc <= b.start_utc < agg.start_utc + interval.length]
        assert members and members[0].open == agg.open and members[-1].close == agg.close
        assert agg.high == max(b.high for b in members) >= max(agg.open, agg.close)
        assert agg.low == min(b.low for b in members) <= min(agg.open, agg.close)
        assert (agg.start_utc - s.regular_open) % interval.length == timedelta(0)
        assert agg.start_utc < s.regular_close
    daily = aggregate_daily(bars, s)
    if not regular:
        assert daily is None
    else:
        assert daily is not None and daily.volume == sum(b.volume for b in out)
        assert (daily.open, daily.close) == (out[0].open, out[-1].close)
        assert daily.high == max(b.high for b in out) and daily.low == min(b.low for b in out)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), interval=INTERVALS, early=st.booleans())
def test_incremental_equals_batch(data: st.DataObject, interval, early: bool) -> None:  # type: ignore[no-untyped-def]
    s = EARLY if early else REGULAR
    bars = data.draw(minute_bars(s))
    aggregator = BarAggregator(interval, s)
    streamed: list[Bar] = []
    for seen, bar in enumerate(bars, start=1):
        streamed.extend(aggregator.add(bar))
        partial = aggregator.current()
        if partial is not None:  # the window in progress is the batch result so far, not yet final
            assert partial == aggregate_session(bars[:seen], interval, s)[-1]
    streamed.extend(aggregator.flush())
    assert streamed == aggregate_session(bars, interval, s)


def test_a_complete_window_is_emitted_with_its_last_minute() -> None:
    aggregator = BarAggregator(parse_interval("5m"), REGULAR)
    emitted = [aggregator.add(bar_at(at(9, 30) + timedelta(minutes=i), 1, 2, 1, 2, 1)) for i in range(5)]
    assert [len(e) for e in emitted] == [0, 0, 0, 0, 1]
    assert aggregator.current() is None and aggregator.flush() == []


@settings(max_examples=40, deadline=None)
@given(data=st.data(), interval=st.sampled_from(["5m", "1h", "1d"]).map(parse_interval), early=st.booleans())
def test_derived_bar_count_matches_the_bars_made(data: st.DataObject, interval, early: bool) -> None:  # type: ignore[no-untyped-def]
    s = EARLY if early else REGULAR
    bars = data.draw(minute_bars(s))
    made = ([] if aggregate_daily(bars, s) is None else [1]) if interval.daily else aggregate_session(bars, interval, s)
    assert derived_bar_count(bars, s, interval) == len(made)
