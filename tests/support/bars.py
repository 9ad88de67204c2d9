"""Test builders: trading sessions without a database and random 1-minute bar series."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from mismarterad.core.calendar import TradingSession
from mismarterad.core.market_data import Bar

NY = ZoneInfo("America/New_York")


def session(day: date = date(2011, 1, 3), close: time = time(16, 0)) -> TradingSession:
    """A New York session; pass `close=time(13)` for an early close."""
    return TradingSession(
        day=day, timezone="America/New_York", is_trading_day=True, is_holiday=False, holiday_name=None,
        is_early_close=close != time(16, 0),
        pre_market_open=datetime.combine(day, time(4), NY),
        regular_open=datetime.combine(day, time(9, 30), NY),
        regular_close=datetime.combine(day, close, NY),
        post_market_close=datetime.combine(day, time(20), NY),
    )


def bar_at(start: datetime, open_: float, high: float, low: float, close: float, volume: int,
           symbol: str = "SPY") -> Bar:
    return Bar(symbol, "1m", start.astimezone(UTC), open_, high, low, close, volume)


@st.composite
def minute_bars(draw: st.DrawFn, s: TradingSession, extended: bool = True) -> list[Bar]:
    """A sorted, unique series of valid 1m bars with holes, optionally with pre/post-market bars."""
    assert s.regular_open is not None and s.regular_close is not None
    first = s.pre_market_open if extended else s.regular_open
    last = s.post_market_close if extended else s.regular_close
    assert first is not None and last is not None
    minutes = int((last - first).total_seconds() // 60)
    offsets = sorted(draw(st.sets(st.integers(0, minutes - 1), max_size=min(minutes, 500))))
    prices = st.integers(1_000, 2_000)  # cents: real price precision
    bars = []
    for offset in offsets:
        a, b, c, d = (draw(prices) / 100 for _ in range(4))
        low, high = min(a, b, c, d), max(a, b, c, d)
        bars.append(bar_at(first + timedelta(minutes=offset), b if b != low else a, high, low, c, draw(
            st.integers(0, 10**6))))
    return bars
