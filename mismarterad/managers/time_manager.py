"""TimeManager: the single source of time and of the trading calendar.

Every "now" comes from the injected Clock; every trading day, holiday and early close comes
from the stored calendar, synced from the exchange-calendar source the first time a year is
needed. Instants are UTC inside and returned in the market time zone, which comes from the
`market_hours` row of the session's exchange group and asset class.

Design decision: the design's `get_trading_session(db, date)` takes a database session; here
TimeManager is built with its repository (constructor injection), so callers pass only the
date. Lookups are served from an in-memory cache filled a calendar year at a time, so a
backtest loop never touches the database after the first day of each year.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mismarterad.core.calendar import CalendarDay, MarketHours, MarketSession, TradingSession
from mismarterad.core.calendar_source import CalendarSource
from mismarterad.core.clock import Clock, SimClock
from mismarterad.core.errors import CalendarError, StateError
from mismarterad.repositories.calendar_repository import CalendarRepository

__all__ = ["TimeManager"]

# Longest run of consecutive closed days we accept before calling the calendar broken
# (the 2001 closure was 6 calendar days including a weekend).
_MAX_CLOSED_RUN_DAYS = 30


class TimeManager:
    """Time and calendar queries for one exchange group and asset class."""

    def __init__(
        self,
        clock: Clock,
        calendar: CalendarRepository,
        source: CalendarSource,
        exchange_group: str = "US_EQUITY",
        asset_class: str = "EQUITY",
    ) -> None:
        self._clock = clock
        self._calendar = calendar
        self._source = source
        self._hours: MarketHours = calendar.market_hours(exchange_group, asset_class)
        self._tz = ZoneInfo(self._hours.timezone)
        self._years: dict[int, dict[date, CalendarDay]] = {}
        self._lock = threading.Lock()

    # -- time ------------------------------------------------------------------------------

    @property
    def timezone(self) -> ZoneInfo:
        return self._tz

    @property
    def market_hours(self) -> MarketHours:
        return self._hours

    @property
    def mode(self) -> str:
        """`backtest` when time is simulated, else `live`."""
        return "backtest" if isinstance(self._clock, SimClock) else "live"

    @property
    def clock(self) -> Clock:
        return self._clock

    def get_current_time(self) -> datetime:
        """Now, in the market time zone."""
        return self._clock.now().astimezone(self._tz)

    def to_market_time(self, t: datetime) -> datetime:
        """An aware instant expressed in the market time zone (for output at the edges)."""
        return t.astimezone(self._tz)

    def market_datetime(self, day: date, at: time) -> datetime:
        """The aware instant of a market-local wall-clock time on `day`."""
        return datetime.combine(day, at, tzinfo=self._tz)

    # -- calendar --------------------------------------------------------------------------

    def get_trading_session(self, day: date) -> TradingSession:
        """The day's hours in market time; times are None on closed days."""
        d = self._day(day)
        return TradingSession(
            day=day,
            timezone=self._hours.timezone,
            is_trading_day=d.is_trading_day,
            is_holiday=d.holiday_name is not None,
            holiday_name=d.holiday_name,
            is_early_close=d.is_early_close,
            pre_market_open=self._local(d.pre_market_open_utc),
            regular_open=self._local(d.regular_open_utc),
            regular_close=self._local(d.regular_close_utc),
            post_market_close=self._local(d.post_market_close_utc),
        )

    def is_trading_day(self, day: date) -> bool:
        return self._day(day).is_trading_day

    def is_holiday(self, day: date) -> tuple[bool, str | None]:
        """(True, name) on exchange holidays and unscheduled closures; weekends are not holidays."""
        name = self._day(day).holiday_name
        return name is not None, name

    def is_early_close(self, day: date) -> tuple[bool, time | None]:
        """(True, close time in market time) on early-close days."""
        d = self._day(day)
        if not d.is_early_close or d.regular_close_utc is None:
            return False, None
        return True, d.regular_close_utc.astimezone(self._tz).time()

    def get_market_session(self, t: datetime) -> MarketSession:
        """Which part of its market day an aware instant falls in (bounds: start inclusive)."""
        if t.tzinfo is None:
            raise ValueError(f"get_market_session needs an aware datetime, got {t!r}")
        d = self._day(t.astimezone(self._tz).date())
        if not d.is_trading_day:
            return MarketSession.CLOSED
        assert d.pre_market_open_utc and d.regular_open_utc and d.regular_close_utc and d.post_market_close_utc
        if d.pre_market_open_utc <= t < d.regular_open_utc:
            return MarketSession.PRE_MARKET
        if d.regular_open_utc <= t < d.regular_close_utc:
            return MarketSession.REGULAR
        if d.regular_close_utc <= t < d.post_market_close_utc:
            return MarketSession.POST_MARKET
        return MarketSession.CLOSED

    def is_market_open(self, t: datetime) -> bool:
        """True during the regular session."""
        return self.get_market_session(t) is MarketSession.REGULAR

    def get_next_trading_date(self, day: date, n: int = 1) -> date:
        """The n-th trading day strictly after `day`."""
        return self._step(day, n, +1)

    def get_previous_trading_date(self, day: date, n: int = 1) -> date:
        """The n-th trading day strictly before `day`."""
        return self._step(day, n, -1)

    def trading_days(self, start: date, end: date) -> list[date]:
        """Trading days of [start, end], both included."""
        if end < start:
            return []
        self._ensure_range(start, end)
        out = []
        for year in range(start.year, end.year + 1):
            out.extend(d for d, v in sorted(self._years[year].items()) if v.is_trading_day and start <= d <= end)
        return out

    def count_trading_days(self, start: date, end: date) -> int:
        """Number of trading days in [start, end], both included."""
        return len(self.trading_days(start, end))

    def sync(self, start: date, end: date) -> int:
        """Fetch [start, end] from the calendar source and store it; return the days written."""
        days = self._source.days(self._hours, start, end)
        written = self._calendar.replace_days(days)
        with self._lock:
            for year in range(start.year, end.year + 1):
                self._years.pop(year, None)
        return written

    # -- backtest time control -------------------------------------------------------------

    def set_backtest_time(self, t: datetime) -> None:
        """Move simulated time forward to `t` (aware); only in backtest mode."""
        self._sim_clock().set(t)

    def init_backtest(self, first_day: date) -> date:
        """Put simulated time at the regular open of the first trading day on or after `first_day`."""
        day = first_day if self.is_trading_day(first_day) else self.get_next_trading_date(first_day)
        self._sim_clock().set(self._regular_open_utc(day))
        return day

    def advance_to_market_open(self) -> date:
        """Move simulated time to the regular open of the next trading day."""
        today = self.get_current_time().date()
        day = self.get_next_trading_date(today)
        self._sim_clock().set(self._regular_open_utc(day))
        return day

    # -- internals -------------------------------------------------------------------------

    def _sim_clock(self) -> SimClock:
        if not isinstance(self._clock, SimClock):
            raise StateError("backtest time control needs the simulated clock; this TimeManager runs live")
        return self._clock

    def _regular_open_utc(self, day: date) -> datetime:
        open_utc = self._day(day).regular_open_utc
        if open_utc is None:
            raise CalendarError(f"{day} is not a trading day")
        return open_utc

    def _local(self, t: datetime | None) -> datetime | None:
        return None if t is None else t.astimezone(self._tz)

    def _step(self, day: date, n: int, direction: int) -> date:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        current, found, closed_run = day, 0, 0
        while found < n:
            current += timedelta(days=direction)
            if self._day(current).is_trading_day:
                found, closed_run = found + 1, 0
            else:
                closed_run += 1
                if closed_run > _MAX_CLOSED_RUN_DAYS:
                    raise CalendarError(f"no trading day within {_MAX_CLOSED_RUN_DAYS} days of {current}")
        return current

    def _day(self, day: date) -> CalendarDay:
        year = self._years.get(day.year)
        if year is None:
            self._ensure_range(day, day)
            year = self._years[day.year]
        return year[day]

    def _ensure_range(self, start: date, end: date) -> None:
        """Cache every year of [start, end]; years not fully stored are synced in one call."""
        missing = [y for y in range(start.year, end.year + 1) if y not in self._years]
        if not missing:
            return
        group = self._hours.exchange_group
        with self._lock:
            missing = [y for y in missing if y not in self._years]
            if not missing:
                return
            first, last = date(missing[0], 1, 1), date(missing[-1], 12, 31)
            if self._calendar.count_days(group, first, last) < (last - first).days + 1:
                self._calendar.replace_days(self._source.days(self._hours, first, last))
            by_year: dict[int, dict[date, CalendarDay]] = {y: {} for y in missing}
            for d in self._calendar.days(group, first, last):
                if d.day.year in by_year:
                    by_year[d.day.year][d.day] = d
            self._years.update(by_year)
