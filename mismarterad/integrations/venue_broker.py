"""What the live brokers (Alpaca's, Schwab's) share around their venue calls: one lock, the
order book, the cached account readings, one real-time budget per public operation, and the
shape of `submit` and `cancel`.

`submit` refuses locally what the venue would refuse anyway (`_refusal`), holds the order as
SUBMITTED before its POST (its updates may come first), then sends it within the budget
(`_send`); `cancel` runs the venue's `_cancel` within the budget.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from mismarterad.core.orders import Order, OrderRequest, RejectCategory
from mismarterad.integrations.broker_readings import BrokerReadings
from mismarterad.integrations.op_budget import operation_budget
from mismarterad.integrations.order_book import OrderBook
from mismarterad.integrations.venue_orders import local_refusal

__all__ = ["VenueBroker"]


class VenueBroker(ABC):
    def __init__(self, venue: str, *, op_deadline_secs: float, snapshot_ttl_secs: float,
                 call: Callable[[Callable[[], Any], str], Any]) -> None:
        """`venue` names it in reasons; `call(fetch, what)` makes a reading's venue call."""
        self._op_secs = op_deadline_secs
        self._lock = threading.Condition()
        self._book = OrderBook(venue)
        # moved by every event that may change cash or positions (every fill booked among them)
        self._readings = BrokerReadings(self._lock, snapshot_ttl_secs, call)

    def submit(self, request: OrderRequest) -> Order:
        """Send the order; within `op_deadline_secs` of real time. REJECTED only for a refusal
        (ours, or the venue's 4xx answer to the POST); an outcome still unknown comes back
        SUBMITTED and unresolved (each venue's resolution module says how it is found)."""
        with self._lock:
            refused = self._book.take_new(request, self._refusal(request))
            if refused is not None:
                return refused
            self._readings.moved()
        with operation_budget(self._op_secs):
            return self._send(request)

    def cancel(self, client_order_id: str) -> Order:
        """Cancel the order; within `op_deadline_secs` of real time (BrokerError if the venue does
        not answer in it). What it filled meanwhile is booked for `drain_fills()`."""
        with operation_budget(self._op_secs):
            return self._cancel(client_order_id)

    def orders(self) -> list[Order]:
        with self._lock:
            return self._book.orders()

    def _refusal(self, request: OrderRequest) -> tuple[RejectCategory, str] | None:
        """What the venue would refuse anyway, refused before it reaches the wire."""
        return local_refusal(request)

    @abstractmethod
    def _send(self, request: OrderRequest) -> Order:
        """POST the order (held in the book as SUBMITTED), inside the running budget."""

    @abstractmethod
    def _cancel(self, client_order_id: str) -> Order:
        """Cancel at the venue, inside the running budget."""
