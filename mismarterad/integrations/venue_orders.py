"""What a venue reports about one of our orders, in our terms: each adapter's parser makes these
and the shared OrderBook (integrations/order_book.py) takes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mismarterad.core.orders import OrderStatus

__all__ = ["Execution", "TradeEvent", "VenueOrder"]


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
