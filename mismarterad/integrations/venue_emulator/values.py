"""Values of an emulated account: order specs, orders, positions, trade updates.

The vocabulary is Alpaca's (the first emulator's); another venue's wire maps it to its own
words. Frozen and slotted: every change to an order makes a new value, so a snapshot handed to
a websocket sender or the state file can never change under it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from mismarterad.core.orders import Side

__all__ = [
    "EmulatedOrderType",
    "EmulatedOrder",
    "ExecutionRecord",
    "MarketPhase",
    "OPEN_STATUSES",
    "OrderError",
    "OrderSpec",
    "OrderStatus",
    "Position",
    "TimeInForce",
    "TradeUpdate",
    "money",
]


def money(value: float | None) -> str | None:
    """A price or amount as the venues write it in JSON strings: a decimal, no float noise."""
    if value is None:
        return None
    text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class EmulatedOrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(enum.StrEnum):
    DAY = "day"
    GTC = "gtc"
    OPG = "opg"
    CLS = "cls"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(enum.StrEnum):
    """The subset of Alpaca's order statuses the emulator produces."""

    ACCEPTED = "accepted"  # taken outside market hours, queued for the next session
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


OPEN_STATUSES = frozenset({OrderStatus.ACCEPTED, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


class OrderError(Exception):
    """A request the venue refuses: HTTP status plus Alpaca's `{"code", "message"}` body."""

    def __init__(self, http_status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.http_status, self.code, self.message = http_status, code, message


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """A validated order request, as the POST body described it."""

    symbol: str
    qty: int
    side: Side
    type: EmulatedOrderType
    time_in_force: TimeInForce
    client_order_id: str
    limit_price: float | None = None
    stop_price: float | None = None
    extended_hours: bool = False
    # the order may only bring the position toward zero (Schwab's SELL and BUY_TO_COVER)
    closing_only: bool = False


@dataclass(frozen=True, slots=True)
class MarketPhase:
    """What the calendar says at the instant an order arrives.

    `session_day` is the session the order works in: today's if the market is open, else the
    next one. `cls_cutoff_passed`: the market is open and market-on-close orders are closed.
    """

    is_open: bool
    session_day: date
    cls_cutoff_passed: bool


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One fill of an order, kept with it (a venue read over REST lists them)."""

    id: str
    qty: int
    price: float
    ts_utc: datetime


@dataclass(frozen=True, slots=True)
class EmulatedOrder:
    """One order of the book with its fill state; `session_day` bounds day, opg and cls orders."""

    id: str
    spec: OrderSpec
    status: OrderStatus
    session_day: date
    created_utc: datetime
    updated_utc: datetime
    filled_qty: int = 0
    filled_avg_price: float | None = None
    filled_utc: datetime | None = None
    canceled_utc: datetime | None = None
    expired_utc: datetime | None = None
    failed_utc: datetime | None = None
    reserve_price: float | None = None  # price a buy's buying power is held at
    partial_fraction: float | None = None  # injected fault: the first fill takes this share
    triggered: bool = False  # a stop_limit whose stop was reached works as a limit
    executions: tuple[ExecutionRecord, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining_qty(self) -> int:
        return self.spec.qty - self.filled_qty


@dataclass(frozen=True, slots=True)
class Position:
    """Net shares of one symbol (negative when short) and their average entry price."""

    symbol: str
    qty: int
    avg_entry_price: float


@dataclass(frozen=True, slots=True)
class TradeUpdate:
    """One `trade_updates` event; `execution_id`, `price` and `qty` are set on fills only."""

    event: str
    order: EmulatedOrder
    timestamp_utc: datetime
    position_qty: int
    execution_id: str | None = None
    price: float | None = None
    qty: int | None = None
