"""Stored market hours and calendar days; returns `core` values, never ORM rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, func, insert, select

from mismarterad.core.calendar import CalendarDay, MarketHours
from mismarterad.core.errors import ConfigError
from mismarterad.db.engine import DbSessionFactory
from mismarterad.db.tables import CalendarDayRow, MarketHoursRow

__all__ = ["CalendarRepository"]


class CalendarRepository:
    """CRUD for `market_hours` and `calendar_days`."""

    def __init__(self, db_sessions: DbSessionFactory) -> None:
        self._db_sessions = db_sessions

    def market_hours(self, exchange_group: str, asset_class: str) -> MarketHours:
        with self._db_sessions() as db:
            row = db.get(MarketHoursRow, (exchange_group, asset_class))
            if row is None:
                known = [f"{r.exchange_group}/{r.asset_class}" for r in db.scalars(select(MarketHoursRow))]
                raise ConfigError(
                    f"exchange_group/asset_class: no market hours for {exchange_group}/{asset_class} "
                    f"(known: {', '.join(known) or 'none'})"
                )
            return MarketHours(
                row.exchange_group,
                row.asset_class,
                row.timezone,
                row.pre_market_open,
                row.regular_open,
                row.regular_close,
                row.post_market_close,
                row.early_close_post_market_close,
            )

    def count_days(self, exchange_group: str, start: date, end: date) -> int:
        """How many calendar dates of [start, end] are stored (synced)."""
        with self._db_sessions() as db:
            stmt = select(func.count()).where(
                CalendarDayRow.exchange_group == exchange_group,
                CalendarDayRow.day >= start,
                CalendarDayRow.day <= end,
            )
            return int(db.scalar(stmt) or 0)

    def days(self, exchange_group: str, start: date, end: date) -> list[CalendarDay]:
        """Stored days of [start, end], in date order."""
        with self._db_sessions() as db:
            stmt = (
                select(CalendarDayRow)
                .where(
                    CalendarDayRow.exchange_group == exchange_group,
                    CalendarDayRow.day >= start,
                    CalendarDayRow.day <= end,
                )
                .order_by(CalendarDayRow.day)
            )
            return [_to_value(r) for r in db.scalars(stmt)]

    def replace_days(self, days: Sequence[CalendarDay]) -> int:
        """Store a contiguous run of days of one exchange group, replacing stored rows, atomically."""
        if not days:
            return 0
        group = days[0].exchange_group
        first, last = days[0].day, days[-1].day
        if any(d.exchange_group != group for d in days) or (last - first).days + 1 != len(days):
            raise ValueError("replace_days takes one exchange group's consecutive dates, in order")
        with self._db_sessions.begin() as db:
            db.execute(
                delete(CalendarDayRow).where(
                    CalendarDayRow.exchange_group == group,
                    CalendarDayRow.day >= first,
                    CalendarDayRow.day <= last,
                )
            )
            db.execute(insert(CalendarDayRow), [_to_row(d) for d in days])
        return len(days)


def _to_value(r: CalendarDayRow) -> CalendarDay:
    return CalendarDay(
        exchange_group=r.exchange_group,
        day=r.day,
        is_trading_day=r.is_trading_day,
        holiday_name=r.holiday_name,
        is_early_close=r.is_early_close,
        pre_market_open_utc=r.pre_market_open_utc,
        regular_open_utc=r.regular_open_utc,
        regular_close_utc=r.regular_close_utc,
        post_market_close_utc=r.post_market_close_utc,
    )


def _to_row(d: CalendarDay) -> dict[str, object]:
    return {
        "exchange_group": d.exchange_group,
        "day": d.day,
        "is_trading_day": d.is_trading_day,
        "holiday_name": d.holiday_name,
        "is_early_close": d.is_early_close,
        "pre_market_open_utc": d.pre_market_open_utc,
        "regular_open_utc": d.regular_open_utc,
        "regular_close_utc": d.regular_close_utc,
        "post_market_close_utc": d.post_market_close_utc,
    }
