"""The daemon's plan: which trading days' windows [open − lead, close + lag] come next.

Windows come from TimeManager's calendar (early closes, holidays and DST included); the
yesterday-to-ten-days-ahead span covers a window still in progress after midnight UTC and
any run of holidays.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from mismarterad.managers.time_manager import TimeManager
from mismarterad.services.session_plan import SessionWindow, next_window, session_window

__all__ = ["PLAN_AHEAD_DAYS", "SessionPlanner"]

PLAN_AHEAD_DAYS = 10


class SessionPlanner:
    def __init__(self, time_manager: TimeManager, lead_minutes: int, lag_minutes: int) -> None:
        self._tm = time_manager
        self._lead, self._lag = timedelta(minutes=lead_minutes), timedelta(minutes=lag_minutes)

    def windows(self) -> list[SessionWindow]:
        """From the previous trading day to PLAN_AHEAD_DAYS ahead of the clock's date."""
        tm = self._tm
        today = tm.get_current_time().date()
        days = tm.trading_days(tm.get_previous_trading_date(today), today + timedelta(days=PLAN_AHEAD_DAYS))
        return [session_window(tm.get_trading_session(day), self._lead, self._lag) for day in days]

    def upcoming(self, now: datetime, count: int) -> list[SessionWindow]:
        """The next `count` windows that have not ended at `now` (one in progress included)."""
        return [w for w in self.windows() if w.stop_utc > now][:count]

    def next(self, now: datetime, done_day: date | None) -> SessionWindow | None:
        """The window to plan: the next one not ended, skipping days already done."""
        return next_window([w for w in self.windows() if done_day is None or w.day > done_day], now)
