"""Calendar values: one trading day as the exchange defines it, in UTC instants."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time

__all__ = ["CalendarDay", "MarketHours", "MarketSession", "TradingSession"]


class MarketSession(enum.StrEnum):
    """Which part of the trading day an instant falls in."""

    PRE_MARKET = "pre_market"
    REGULAR = "regular"
    POST_MARKET = "post_market"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class MarketHours:
    """Standard hours of one exchange group and asset class, in its local time zone."""

    exchange_group: str
    asset_class: str
    timezone: str
    pre_market_open: time
    regular_open: time
    regular_close: time
    post_market_close: time
    early_close_post_market_close: time


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """One calendar date as stored: a trading day with its hours, or a closed day.

    Instants are aware UTC; `None` on closed days. `holiday_name` is set on exchange
    holidays and unscheduled closures, not on weekends.
    """

    exchange_group: str
    day: date
    is_trading_day: bool
    holiday_name: str | None = None
    is_early_close: bool = False
    pre_market_open_utc: datetime | None = None
    regular_open_utc: datetime | None = None
    regular_close_utc: datetime | None = None
    post_market_close_utc: datetime | None = None


@dataclass(frozen=True, slots=True)
class TradingSession:
    """A day as TimeManager returns it: times in the market time zone (`timezone`)."""

    day: date
    timezone: str
    is_trading_day: bool
    is_holiday: bool
    holiday_name: str | None
    is_early_close: bool
    pre_market_open: datetime | None
    regular_open: datetime | None
    regular_close: datetime | None
    post_market_close: datetime | None
