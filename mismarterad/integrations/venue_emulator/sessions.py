"""The emulator's exchange calendar: XNYS sessions from `exchange_calendars`, no database.

The daemon's TimeManager reads hours from the project database; the emulator must run without
one, so it asks `ExchangeCalendarSource` directly with the US-equity hours the database seeds
(`db/migrations/versions/0001_calendar.py`). Sessions are cached a year at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mismarterad.core.calendar import CalendarDay, MarketHours
from mismarterad.integrations.venue_emulator.values import MarketPhase
from mismarterad.integrations.exchange_calendar import ExchangeCalendarSource

__all__ = ["NEW_YORK", "Session", "Sessions", "US_EQUITY_HOURS"]

US_EQUITY_HOURS = MarketHours("US_EQUITY", "EQUITY", "America/New_York", time(4), time(9, 30), time(16),
                              time(20), time(17))
NEW_YORK = ZoneInfo(US_EQUITY_HOURS.timezone)
CLS_CUTOFF = timedelta(minutes=10)  # market-on-close orders close 15:50 ET on a normal day
_SEARCH_DAYS = 15  # longer than any run of closed days the calendar has


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day: regular and extended bounds, aware UTC."""

    day: date
    pre_open_utc: datetime
    open_utc: datetime
    close_utc: datetime
    post_close_utc: datetime

    @property
    def is_early_close(self) -> bool:
        return self.close_utc.astimezone(NEW_YORK).time() < US_EQUITY_HOURS.regular_close


class Sessions:
    """Trading sessions by New York date, and what they mean at an instant."""

    def __init__(self, source: ExchangeCalendarSource | None = None) -> None:
        self._source = source or ExchangeCalendarSource()
        self._years: dict[int, dict[date, Session]] = {}
        self._lock = threading.Lock()

    def session(self, day: date) -> Session | None:
        """The session of a New York date, None on weekends and holidays."""
        with self._lock:
            year = self._years.get(day.year)
            if year is None:
                days = self._source.days(US_EQUITY_HOURS, date(day.year, 1, 1), date(day.year, 12, 31))
                year = self._years[day.year] = {d.day: _session(d) for d in days if d.is_trading_day}
        return year.get(day)

    def between(self, start: date, end: date) -> list[Session]:
        out, day = [], start
        while day <= end:
            found = self.session(day)
            if found is not None:
                out.append(found)
            day += timedelta(days=1)
        return out

    def current_or_next(self, t_utc: datetime) -> Session:
        """The session open at `t_utc`, else the next one to open."""
        day = t_utc.astimezone(NEW_YORK).date()
        for offset in range(_SEARCH_DAYS):
            found = self.session(day + timedelta(days=offset))
            if found is not None and t_utc < found.close_utc:
                return found
        raise LookupError(f"no session within {_SEARCH_DAYS} days after {t_utc.isoformat()}")

    def last_closed(self, t_utc: datetime) -> Session | None:
        """The latest session whose close is at or before `t_utc`."""
        day = t_utc.astimezone(NEW_YORK).date()
        for offset in range(_SEARCH_DAYS):
            found = self.session(day - timedelta(days=offset))
            if found is not None and found.close_utc <= t_utc:
                return found
        return None

    def is_open(self, t_utc: datetime) -> bool:
        found = self.session(t_utc.astimezone(NEW_YORK).date())
        return found is not None and found.open_utc <= t_utc < found.close_utc

    def phase(self, t_utc: datetime) -> MarketPhase:
        """What an order arriving at `t_utc` works against (see `MarketPhase`)."""
        upcoming = self.current_or_next(t_utc)
        is_open = upcoming.open_utc <= t_utc
        return MarketPhase(is_open, upcoming.day, is_open and t_utc >= upcoming.close_utc - CLS_CUTOFF)


def _session(day: CalendarDay) -> Session:
    assert day.pre_market_open_utc and day.regular_open_utc and day.regular_close_utc and day.post_market_close_utc
    return Session(day.day, day.pre_market_open_utc.astimezone(UTC), day.regular_open_utc.astimezone(UTC),
                   day.regular_close_utc.astimezone(UTC), day.post_market_close_utc.astimezone(UTC))
