"""Historical bars as `GET /v2/stocks/bars` serves them, from the emulator's own store.

The bars of each timeframe are the shared history's (`venue_emulator/history.py`: 1Min from
stored 1m bars, extended hours included; 1Day from stored 1d bars or the session's minutes;
other frames aggregated from the regular session; none that has not ended on the clock).

Pages are ordered by symbol, then time; `next_page_token` names the first bar of the next page,
so a page stays valid while the clock adds bars at the end.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from mismarterad.core.bar_store import BarStore
from mismarterad.core.intervals import Interval, parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.integrations.venue_emulator.history import ended_bars
from mismarterad.integrations.venue_emulator.sessions import Sessions
from mismarterad.integrations.venue_emulator.values import OrderError

__all__ = ["BarQuery", "BarsPage", "bars_page", "parse_timeframe"]

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
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
        series = [b for b in ended_bars(store, sessions, symbol, query.interval, query.start_utc, end, now_utc)
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


def _encode(bar: Bar) -> str:
    return base64.urlsafe_b64encode(f"{bar.symbol}|{bar.start_utc.isoformat()}".encode()).decode()


def _decode(token: str) -> tuple[str, datetime]:
    try:
        symbol, _, when = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        return symbol, datetime.fromisoformat(when).astimezone(UTC)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise OrderError(422, 42210000, "page_token: not a token this server issued") from None
