"""ORM tables. Changing one means adding an Alembic migration in `db/migrations/versions/`."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Boolean, Date, String, Time
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mismarterad.db.types import UTCDateTime

__all__ = ["Base", "CalendarDayRow", "MarketHoursRow"]


class Base(DeclarativeBase):
    pass


class MarketHoursRow(Base):
    """Standard hours and time zone of an exchange group + asset class (local wall-clock times)."""

    __tablename__ = "market_hours"

    exchange_group: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset_class: Mapped[str] = mapped_column(String(32), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    pre_market_open: Mapped[time] = mapped_column(Time)
    regular_open: Mapped[time] = mapped_column(Time)
    regular_close: Mapped[time] = mapped_column(Time)
    post_market_close: Mapped[time] = mapped_column(Time)
    early_close_post_market_close: Mapped[time] = mapped_column(Time)


class CalendarDayRow(Base):
    """One calendar date of an exchange group; every date of a synced range has a row."""

    __tablename__ = "calendar_days"

    exchange_group: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_trading_day: Mapped[bool] = mapped_column(Boolean)
    holiday_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    is_early_close: Mapped[bool] = mapped_column(Boolean, default=False)
    pre_market_open_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    regular_open_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    regular_close_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    post_market_close_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
