"""Trading days from the `exchange_calendars` library (XNYS for US equities).

Holiday rules are the library's, never ours. We add what it leaves out: names for the
unscheduled closures it lists without one, and extended-hours bounds from `MarketHours`. The
library (and pandas under it) is imported on the first sync: a calendar already stored in the
database costs no import (about a second of every command's start-up).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mismarterad.core.calendar import CalendarDay, MarketHours
from mismarterad.core.errors import CalendarError

if TYPE_CHECKING:
    import exchange_calendars
    import pandas as pd

__all__ = ["ExchangeCalendarSource"]

_CALENDAR_CODES = {"US_EQUITY": "XNYS"}

# The library lists these closures without a name.
_UNSCHEDULED_CLOSURE_NAMES = {
    date(1994, 4, 27): "National Day of Mourning (President Nixon)",
    date(2001, 9, 11): "September 11 closure",
    date(2001, 9, 12): "September 11 closure",
    date(2001, 9, 13): "September 11 closure",
    date(2001, 9, 14): "September 11 closure",
    date(2004, 6, 11): "National Day of Mourning (President Reagan)",
    date(2007, 1, 2): "National Day of Mourning (President Ford)",
    date(2012, 10, 29): "Hurricane Sandy closure",
    date(2012, 10, 30): "Hurricane Sandy closure",
    date(2018, 12, 5): "National Day of Mourning (President George H. W. Bush)",
    date(2025, 1, 9): "National Day of Mourning (President Carter)",
}


class ExchangeCalendarSource:
    """`CalendarSource` backed by exchange_calendars."""

    def days(self, hours: MarketHours, start: date, end: date) -> list[CalendarDay]:
        if end < start:
            raise CalendarError(f"empty range: {start} > {end}")
        code = _CALENDAR_CODES.get(hours.exchange_group)
        if code is None:
            raise CalendarError(f"no exchange calendar for exchange group {hours.exchange_group!r}")
        cal = _calendar(code, start, end)
        sessions = {
            ts.date(): (o, c)
            for ts, o, c in zip(cal.schedule.index, cal.schedule["open"], cal.schedule["close"], strict=True)
            if start <= ts.date() <= end
        }
        names = _holiday_names(cal, start, end)
        tz = ZoneInfo(hours.timezone)
        out = []
        day = start
        while day <= end:
            if day in sessions:
                out.append(_trading_day(hours, tz, day, *sessions[day]))
            else:
                name = names.get(day)
                if name is None and day.weekday() < 5:
                    name = "Market closed"
                out.append(CalendarDay(hours.exchange_group, day, False, holiday_name=name))
            day += timedelta(days=1)
        return out


@functools.lru_cache(maxsize=8)
def _calendar_for_decades(code: str, first_year: int, last_year: int) -> exchange_calendars.ExchangeCalendar:
    import exchange_calendars
    import pandas as pd

    start, end = pd.Timestamp(date(first_year, 1, 1)), pd.Timestamp(date(last_year, 12, 31))
    try:
        return exchange_calendars.get_calendar(code, start=start, end=end)
    except Exception as exc:  # the library raises several unrelated types for bad bounds
        raise CalendarError(f"{code} calendar cannot cover {first_year}..{last_year}: {exc}") from exc


def _calendar(code: str, start: date, end: date) -> exchange_calendars.ExchangeCalendar:
    # Build calendars over whole decades so that year-by-year syncs reuse one object.
    return _calendar_for_decades(code, start.year // 10 * 10, end.year // 10 * 10 + 9)


def _holiday_names(cal: exchange_calendars.ExchangeCalendar, start: date, end: date) -> dict[date, str]:
    import pandas as pd

    names: dict[date, str] = {}
    regular = cal.regular_holidays
    if regular is not None:
        found = regular.holidays(pd.Timestamp(start), pd.Timestamp(end), return_name=True)
        for ts, name in found.items():
            names[ts.date()] = str(name)
    for ts in cal.adhoc_holidays:
        d = pd.Timestamp(ts).date()
        if start <= d <= end:
            names[d] = _UNSCHEDULED_CLOSURE_NAMES.get(d, "Unscheduled closure")
    return names


def _trading_day(hours: MarketHours, tz: ZoneInfo, day: date, open_ts: pd.Timestamp, close_ts: pd.Timestamp) -> CalendarDay:
    open_utc = open_ts.to_pydatetime().astimezone(UTC)
    close_utc = close_ts.to_pydatetime().astimezone(UTC)
    early = close_utc.astimezone(tz).time() < hours.regular_close
    post = hours.early_close_post_market_close if early else hours.post_market_close
    return CalendarDay(
        exchange_group=hours.exchange_group,
        day=day,
        is_trading_day=True,
        is_early_close=early,
        pre_market_open_utc=_local(day, hours.pre_market_open, tz),
        regular_open_utc=open_utc,
        regular_close_utc=close_utc,
        post_market_close_utc=_local(day, post, tz),
    )


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
