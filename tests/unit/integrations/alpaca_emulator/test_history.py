"""Historical-bar pages: following next_page_token yields every bar once, none after the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.intervals import parse_interval
from mismarterad.integrations.alpaca_emulator.history import BarQuery, bars_page
from mismarterad.integrations.venue_emulator.sessions import Sessions
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from support.bars import minute_bars, session

DAY = date(2011, 1, 4)
sessions = Sessions()


@settings(max_examples=40, deadline=None)
@given(spy=minute_bars(session(DAY)), limit=st.integers(1, 50), descending=st.booleans(),
       now_minutes=st.integers(0, 16 * 60))
def test_pages_cover_every_bar_once_and_stop_at_the_clock(spy: list, limit: int, descending: bool,
                                                          now_minutes: int) -> None:
    store = MemoryBarStore()
    store.write_bars("SPY", "1m", spy)
    qqq = [b.__class__("QQQ", "1m", b.start_utc, b.open, b.high, b.low, b.close, b.volume) for b in spy[::3]]
    store.write_bars("QQQ", "1m", qqq)
    start = datetime(2011, 1, 4, 9, 0, tzinfo=UTC)
    now = start + timedelta(minutes=now_minutes)
    query = BarQuery(("SPY", "QQQ"), parse_interval("1m"), start, now + timedelta(days=1), limit, None, descending)
    got, token, pages = [], None, 0
    while True:
        page = bars_page(store, sessions, BarQuery(query.symbols, query.interval, query.start_utc, query.end_utc,
                                                   limit, token, descending), now)
        pages += 1
        assert sum(len(v) for v in page.bars.values()) <= limit
        got += [b for bars in page.bars.values() for b in bars]
        token = page.next_page_token
        if token is None:
            break
    expected = []
    for series in (qqq, spy):  # symbols in name order
        ended = [b for b in series if start <= b.start_utc and b.start_utc + timedelta(minutes=1) <= now]
        expected += reversed(ended) if descending else ended
    assert got == expected
    assert pages == max(1, -(-len(expected) // limit))
