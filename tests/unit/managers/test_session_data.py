"""SessionData as columns: reads as of an instant never see a later item, bars are made once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.market_data import Bar
from mismarterad.managers.session_data import SessionData
from mismarterad.services.bar_columns import BarSeries, to_us

OPEN = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def bars(first: int, count: int, interval: str = "1m") -> list[Bar]:
    return [Bar("SPY", interval, OPEN + (first + i) * MINUTE, 1.0 + i, 2.0 + i, 0.5, 1.5 + i, 10 + i)
            for i in range(count)]


@settings(max_examples=60, deadline=None)
@given(history=st.integers(0, 20), session=st.integers(0, 30), lag=st.integers(0, 5), at=st.integers(-25, 40),
       n=st.none() | st.integers(0, 50))
def test_reads_as_of_an_instant_see_exactly_what_was_visible_then(history: int, session: int, lag: int, at: int,
                                                                  n: int | None) -> None:
    data = SessionData()
    data.mark_session_start(OPEN)
    past, now = bars(-history, history), bars(0, session)
    data.append(BarSeries.from_bars("SPY", "1m", past), indicators={"x": np.arange(history, dtype=float)})
    data.set_indicator("SPY", "1m", "x", np.arange(history, dtype=float))
    # session bars become visible `lag` minutes after their start (as derived bars do)
    visible = np.array([to_us(b.start_utc + lag * MINUTE) for b in now], dtype=np.int64)
    data.append(BarSeries.from_bars("SPY", "1m", now), visible, {"x": np.arange(history, history + session, dtype=float)})
    t = OPEN + at * MINUTE
    seen = [b for b in past if b.start_utc <= t] + [b for b in now if b.start_utc + lag * MINUTE <= t]
    expected = seen if n is None else seen[max(0, len(seen) - n):]
    assert data.bars_as_of("SPY", "1m", t, n) == expected
    assert data.session_count_as_of("SPY", "1m", t) == len([b for b in now if b.start_utc + lag * MINUTE <= t])
    value = data.indicator_as_of("SPY", "1m", "x", t)
    assert value == (float(len(seen) - 1) if seen else None)


def test_bars_are_made_once_and_undefined_indicators_read_none() -> None:
    data = SessionData()
    data.append(BarSeries.from_bars("SPY", "1m", bars(0, 10)), indicators={})
    data.set_indicator("SPY", "1m", "rsi(14)", np.full(10, np.nan))
    t = OPEN + 9 * MINUTE
    first = data.bars_as_of("SPY", "1m", t, 3)
    again = data.bars_as_of("SPY", "1m", OPEN + 20 * MINUTE, 5)
    assert [id(b) for b in first] == [id(b) for b in again[2:]]
    assert data.indicator_as_of("SPY", "1m", "rsi(14)", t) is None
    assert data.bars_as_of("SPY", "5m", t) == [] and data.indicator_as_of("SPY", "5m", "rsi(14)", t) is None
