"""The calendar-source boundary: where trading days come from before they are stored."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from mismarterad.core.calendar import CalendarDay, MarketHours

__all__ = ["CalendarSource"]


class CalendarSource(Protocol):
    """Produces one `CalendarDay` per calendar date of a range (both ends included)."""

    def days(self, hours: MarketHours, start: date, end: date) -> list[CalendarDay]: ...
