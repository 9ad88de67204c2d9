"""ORM tables. Changing one means adding an Alembic migration in `db/migrations/versions/`."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mismarterad.db.types import UTCDateTime

__all__ = [
    "ApiTokenRow",
    "ApiUserRow",
    "AuditRow",
    "Base",
    "CalendarDayRow",
    "ClaudeUsageRow",
    "FillRow",
    "MarketHoursRow",
    "OrderRow",
    "PaperAccountRow",
    "PaperDayRow",
    "PaperPositionRow",
    "RunRow",
]


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


class RunRow(Base):
    """One backtest or live session run; orders and fills belong to a run."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    session_name: Mapped[str] = mapped_column(String(200))
    config_sha256: Mapped[str] = mapped_column(String(64))
    started_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class OrderRow(Base):
    """An order of a run; a daemon's orders are also its account's journal (`account` set: the
    id is unique within the account, and a resumed day-run updates its earlier runs' rows)."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("run_id", "client_order_id", name="uq_orders_run_client_order_id"),
                      UniqueConstraint("account", "client_order_id", name="uq_orders_account_client_order_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    account: Mapped[str | None] = mapped_column(String(32), nullable=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    limit_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    submitted_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    filled_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    filled_quantity: Mapped[int] = mapped_column(Integer)
    avg_fill_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class FillRow(Base):
    """One execution; a journaled one (`account` set) is booked once per (order, execution_id)."""

    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("account", "client_order_id", "execution_id",
                                       name="uq_fills_account_order_execution"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    account: Mapped[str | None] = mapped_column(String(32), nullable=True)
    execution_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    applied_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    seq: Mapped[int] = mapped_column(Integer)
    client_order_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[float] = mapped_column(Float)
    commission: Mapped[float] = mapped_column(Float)
    ts_utc: Mapped[datetime] = mapped_column(UTCDateTime)


class PositionRow(Base):
    """A run's position in one symbol as last saved (quantity 0 once closed)."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("run_id", "symbol", name="uq_positions_run_symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    symbol: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    avg_price: Mapped[float] = mapped_column(Float)
    updated_utc: Mapped[datetime] = mapped_column(UTCDateTime)


class ClaudeUsageRow(Base):
    """One language-model call: its tokens (from the response's `usage`) and what they cost.
    Stamped in wall-clock UTC, whatever clock the session runs on: the money is real."""

    __tablename__ = "claude_usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts_utc: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    model: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(16))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)


class ApiUserRow(Base):
    """A user of the REST API: its role and argon2id password hash (never the password)."""

    __tablename__ = "api_users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_utc: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiTokenRow(Base):
    """An access token issued at login, by its id (`jti`); the signed token itself is not stored.
    Revoked tokens stay (with the time) for the record; a removed user's tokens go with it."""

    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("api_users.name", ondelete="CASCADE"), index=True)
    issued_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    address: Mapped[str] = mapped_column(String(64))


class AuditRow(Base):
    """One control action or user change made through the API (or `mismarterad user`): who,
    what, when (wall clock) and what came of it. Kept when the user is removed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts_utc: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500))
    result: Mapped[str] = mapped_column(String(500))
    address: Mapped[str] = mapped_column(String(64))


class PaperAccountRow(Base):
    """A paper account of the daemon (by the order journal's account name): the cash it was
    opened with, and when (its last reset)."""

    __tablename__ = "paper_accounts"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    starting_cash: Mapped[float] = mapped_column(Float)
    opened_utc: Mapped[datetime] = mapped_column(UTCDateTime)


class PaperDayRow(Base):
    """One trading day of a paper account: its opening cash, and its closing cash once a day-run
    that traded the whole day settled (NULL before, or after its last day-run was killed)."""

    __tablename__ = "paper_days"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    id_prefix: Mapped[str] = mapped_column(String(64))
    opening_cash: Mapped[float] = mapped_column(Float)
    closing_cash: Mapped[float | None] = mapped_column(Float, nullable=True)


class PaperPositionRow(Base):
    """A position of a paper day's opening or closing balance (`at`: "opening" or "closing")."""

    __tablename__ = "paper_positions"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    at: Mapped[str] = mapped_column(String(8), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(20), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    avg_price: Mapped[float] = mapped_column(Float)
