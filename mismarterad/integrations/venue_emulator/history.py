"""Historical bars of any interval from an emulator's store, as a venue's history API serves them.

1m comes from stored 1m bars (extended hours included). 1d comes from stored 1d bars where the
store has them, else from the regular session's 1m bars. Other minute and hour intervals are
aggregated from the regular session's 1m bars (`services/bar_aggregation.py`: windows anchored
at 09:30 New York, so 1h bars start at 09:30, 10:30, ...). A bar is served only once it has
ended on the emulator's clock: there is no future data.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from mismarterad.core.bar_store import BarStore
from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import Interval
from mismarterad.core.market_data import Bar
from mismarterad.integrations.venue_emulator.sessions import NEW_YORK, Session, Sessions
from mismarterad.services.bar_aggregation import aggregate_daily, aggregate_session

__all__ = ["ended_bars"]

_ONE_MINUTE = timedelta(minutes=1)


def ended_bars(store: BarStore, sessions: Sessions, symbol: str, interval: Interval, start: datetime,
               end: datetime, now: datetime) -> list[Bar]:
    """`symbol`'s bars of `interval` from about `start` to `end` (whole sessions for the
    aggregated ones: the caller cuts them to its range), each ended by `now`."""
    if end < start:
        return []
    if interval.minutes == 1:
        # a 1m bar has ended once its start is a minute before now
        return store.read_bars(symbol, "1m", start, min(end + timedelta(microseconds=1), now - _ONE_MINUTE
                                                        + timedelta(microseconds=1)))
    days = sessions.between(start.astimezone(NEW_YORK).date() - timedelta(days=1), end.astimezone(NEW_YORK).date())
    days = [s for s in days if s.open_utc < now]
    if not days:
        return []
    out: list[Bar] = []
    stored_daily: dict[date, Bar] = {}
    if interval.daily:
        stored = store.read_bars(symbol, "1d", days[0].open_utc - timedelta(days=1), days[-1].close_utc)
        stored_daily = {b.start_utc.astimezone(NEW_YORK).date(): b for b in stored}
    for session in days:
        if interval.daily:
            if session.close_utc > now:
                continue
            bar = stored_daily.get(session.day) or aggregate_daily(_regular_1m(store, symbol, session),
                                                                   _trading_session(session))
            if bar is not None:
                out.append(bar)
            continue
        for bar in aggregate_session(_regular_1m(store, symbol, session), interval, _trading_session(session)):
            if min(bar.start_utc + interval.length, session.close_utc) <= now:
                out.append(bar)
    return out


def _regular_1m(store: BarStore, symbol: str, session: Session) -> list[Bar]:
    return store.read_bars(symbol, "1m", session.open_utc, session.close_utc)


def _trading_session(session: Session) -> TradingSession:
    def local(t: datetime) -> datetime:
        return t.astimezone(NEW_YORK)

    return TradingSession(
        day=session.day, timezone=str(NEW_YORK), is_trading_day=True, is_holiday=False, holiday_name=None,
        is_early_close=session.is_early_close, pre_market_open=local(session.pre_open_utc),
        regular_open=local(session.open_utc), regular_close=local(session.close_utc),
        post_market_close=local(session.post_close_utc),
    )
