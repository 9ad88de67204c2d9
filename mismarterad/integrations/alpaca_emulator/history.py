"""Historical bars as `GET /v2/stocks/bars` serves them, from the emulator's own store.

1Min comes from stored 1m bars (extended hours included, as Alpaca's). 1Day comes from stored
1d bars where the store has them, else from the regular session's 1m bars. Other minute and
hour frames are aggregated from the regular session's 1m bars (`services/bar_aggregation.py`:
windows anchored at 09:30 New York, so 1Hour bars start at 09:30, 10:30, ...). A bar is served
only once it has ended on the emulator's clock: there is no future data.

Pages are ordered by symbol, then time; `next_page_token` names the first bar of the next page,
so a page stays valid while the clock adds bars at the end.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from mismarterad.core.bar_store import BarStore
from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import Interval, parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.integrations.alpaca_emulator.sessions import NEW_YORK, Session, Sessions
from mismarterad.integrations.alpaca_emulator.values import OrderError
from mismarterad.services.bar_aggregation import aggregate_daily, aggregate_session

__all__ = ["BarQuery", "BarsPage", "bars_page", "parse_timeframe"]

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
_ONE_MINUTE = timedelta(minutes=1)
_TIMEFRAME = re.compile(r"^([1-9][0-9]?)(Min|T|Hour|H|Day|D)$")


@dataclass(frozen=True, slots=True)
class BarQuery:
    symbols: tuple[str, ...]
    interval: Interval
    start_utc: datetime
    end_utc: datetime  # inclusive, as Alpaca's `end`
    limit: int = DEFAULT_LIMIT
    page_token: str | None = None
    descending: bool = False


@dataclass(frozen=True, slots=True)
class BarsPage:
    bars: dict[str, list[Bar]]  # symbol -> bars, in the page's order
    next_page_token: str | None


def parse_timeframe(text: str) -> Interval:
    """Alpaca's `{n}Min` (1-59), `{n}Hour` (1-23) or `1Day`; week and month frames are not emulated."""
    match = _TIMEFRAME.match(text)
    if match is None:
        raise OrderError(422, 42210000, f"timeframe: invalid or not emulated: {text!r} (use 1-59Min, 1-23Hour, 1Day)")
    count, unit = int(match.group(1)), match.group(2)
    if unit in ("Day", "D"):
        if count != 1:
            raise OrderError(422, 42210000, f"timeframe: only 1Day is supported, got {text!r}")
        return parse_interval("1d")
    if unit in ("Hour", "H"):
        if count > 23:
            raise OrderError(422, 42210000, f"timeframe: hour frames are 1-23, got {text!r}")
        return parse_interval(f"{count}h")
    return parse_interval(f"{count}m")


def bars_page(store: BarStore, sessions: Sessions, query: BarQuery, now_utc: datetime) -> BarsPage:
    """One page of bars for `query`, none of them ending after `now_utc`."""
    end = min(query.end_utc, now_utc)
    items: list[Bar] = []
    for symbol in sorted(set(query.symbols)):
        series = [b for b in _series(store, sessions, symbol, query.interval, query.start_utc, end, now_utc)
                  if query.start_utc <= b.start_utc <= query.end_utc]
        items += reversed(series) if query.descending else series
    first = 0
    if query.page_token is not None:
        cursor = _decode(query.page_token)
        first = next((i for i, b in enumerate(items) if (b.symbol, b.start_utc) == cursor), len(items))
    page = items[first:first + query.limit]
    rest = items[first + query.limit:first + query.limit + 1]
    grouped: dict[str, list[Bar]] = {}
    for bar in page:
        grouped.setdefault(bar.symbol, []).append(bar)
    return BarsPage(grouped, _encode(rest[0]) if rest else None)


def _series(store: BarStore, sessions: Sessions, symbol: str, interval: Interval, start: datetime,
            end: datetime, now: datetime) -> list[Bar]:
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


def _encode(bar: Bar) -> str:
    return base64.urlsafe_b64encode(f"{bar.symbol}|{bar.start_utc.isoformat()}".encode()).decode()


def _decode(token: str) -> tuple[str, datetime]:
    try:
        symbol, _, when = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        return symbol, datetime.fromisoformat(when).astimezone(UTC)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise OrderError(422, 42210000, "page_token: not a token this server issued") from None
