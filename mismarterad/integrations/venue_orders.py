"""What a venue reports about one of our orders, in our terms: each adapter's parser makes these
and the shared OrderBook (integrations/order_book.py) takes them; and what any venue refuses,
said in our terms (refused before the wire, or categorized from the venue's message)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from mismarterad.core.orders import OrderRequest, OrderStatus, OrderType, RejectCategory

__all__ = ["Execution", "TradeEvent", "VenueOrder", "local_refusal", "reject_category"]


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order as the venue reported it at one moment (a REST answer, or a trade update's order)."""

    broker_id: str
    client_order_id: str
    status: OrderStatus
    filled_quantity: int
    avg_fill_price: float | None
    filled_utc: datetime | None
    updated_utc: datetime
    venue_status: str  # the venue's own word (partially_filled, EXPIRED, ...), for reasons and logs


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill the venue made: a `fill` or `partial_fill` event's own quantity and price."""

    execution_id: str
    quantity: int
    price: float
    ts_utc: datetime


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """An order event (a trade update, or an execution read over REST): the order after it, and
    the execution if the event is one."""

    event: str
    order: VenueOrder
    execution: Execution | None
    ts_utc: datetime


def local_refusal(request: OrderRequest) -> tuple[RejectCategory, str] | None:
    """What the venue would refuse anyway, refused before it reaches the wire."""
    quantity = request.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        return RejectCategory.INVALID_QUANTITY, f"quantity must be a positive whole number of shares, got {quantity}"
    price = {OrderType.LIMIT: request.limit_price, OrderType.STOP: request.stop_price}.get(request.type, 1.0)
    if price is None or not math.isfinite(price) or price <= 0:
        return RejectCategory.INVALID_PRICE, f"a {request.type.value} order needs a positive price, got {price}"
    return None


def reject_category(status_code: int | None, message: str) -> RejectCategory:
    """The category of an order a venue refused, from its message (Alpaca's 403: buying power
    or shares, 422: a bad field; Schwab's 400s)."""
    text = message.lower()
    if "buying power" in text or "insufficient funds" in text or "insufficient balance" in text:
        return RejectCategory.INSUFFICIENT_FUNDS
    if ("short" in text or "position" in text or "insufficient qty" in text or "qty available" in text
            or "insufficient shares" in text):
        return RejectCategory.INSUFFICIENT_POSITION
    if "price" in text:
        return RejectCategory.INVALID_PRICE
    if "qty" in text or "quantity" in text:
        return RejectCategory.INVALID_QUANTITY
    if status_code in (400, 422) and ("order type" in text or "time_in_force" in text or "time in force" in text
                                      or "duration" in text):
        return RejectCategory.UNSUPPORTED_TYPE
    return RejectCategory.OTHER
