"""Order, fill, position and account values shared by brokers, ExecutionManager and reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "CARRIED_LOT",
    "AccountSnapshot",
    "Fill",
    "Order",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "RejectCategory",
    "Side",
]


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    MARKET_ON_CLOSE = "market_on_close"  # fills at the session's closing price (used to flatten)


class OrderStatus(enum.StrEnum):
    """An order's life: intent -> submitted -> accepted -> partially_filled -> filled | canceled
    | rejected | expired. `refused` is ours (a pre-trade check, or an intent never sent because
    its bar passed), apart from the broker's `rejected`. core/order_states.py keeps an order
    from ever moving backwards."""

    INTENT = "intent"  # journaled, not sent yet
    SUBMITTED = "submitted"  # sent; the broker's answer is not known yet (looked up, never resent)
    ACCEPTED = "accepted"  # the broker has it, working
    NEW = "accepted"  # the name brokers use for an accepted order (an alias of ACCEPTED)
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"  # by the broker
    EXPIRED = "expired"  # a day order the broker ended at the close
    REFUSED = "refused"  # by our own checks: never sent (its reason is the check's name)

    @property
    def is_open(self) -> bool:
        return self in _OPEN

    @property
    def is_final(self) -> bool:
        return self not in _OPEN


_OPEN = frozenset({OrderStatus.INTENT, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


class RejectCategory(enum.StrEnum):
    """Why an order was refused, for callers that must not parse reason texts."""

    INVALID_QUANTITY = "invalid_quantity"  # not a positive whole number of shares
    UNSUPPORTED_TYPE = "unsupported_type"  # order type (or combination of prices) the broker does not take
    INVALID_PRICE = "invalid_price"  # a limit or stop order without a usable price
    INSUFFICIENT_POSITION = "insufficient_position"  # a sell beyond the shares held (short selling not allowed)
    INSUFFICIENT_FUNDS = "insufficient_funds"  # a buy beyond the cash (open buys included)
    HALTED = "halted"  # trading halted by the operator
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a strategy asked for. `client_order_id` is deterministic within a run."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: int
    type: OrderType
    limit_price: float | None
    stop_price: float | None
    submitted_utc: datetime
    strategy: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the broker reports it; each change produces a new value."""

    request: OrderRequest
    status: OrderStatus
    filled_quantity: int = 0
    avg_fill_price: float | None = None
    filled_utc: datetime | None = None
    reason: str | None = None  # why it was rejected or canceled; a refusal's check name
    reject_category: RejectCategory | None = None  # set on every rejection
    detail: str | None = None  # a refusal's explanation, for people

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

CARRIED_LOT = "carried"  # the execution id of an opening lot (see Fill)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. `ts_utc` is the moment of its price (bar start for an open, bar end for a close).
    An opening lot (`execution_id` CARRIED_LOT, no order) is written as one too: shares held
    when the day began or adopted from the broker, at their average price, which trades and
    P&L are matched from (`RunResult.carried`); it is never counted as an execution."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: int
    price: float
    commission: float
    ts_utc: datetime
    strategy: str = ""  # the ordering strategy's id (the paper broker knows it; ExecutionManager stamps the others)
    # the broker's id of the execution (unique within the order): the journal books each once
    execution_id: str = ""


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    quantity: int  # negative when short
    avg_price: float


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    cash: float
    equity: float
    positions_value: float
    day_trade_count: int | None = None  # the broker's own count of the PDT window, where it keeps one
