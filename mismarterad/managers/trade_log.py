"""The trading story of a run, one log line per order sent, refused, rejected or canceled, per
fill and per flatten, each naming the strategy, the symbol and the client order id.

The lines go out at the run's level: INFO in a daemon's day-run, where they are what the
operator reads after a day (`journalctl -u mismarterad`), DEBUG in a backtest, where a year is
thousands of them over a progress bar and the report files already hold every order and fill
(docs/decisions.md, "The trading story in the log"). Warnings and errors of the same events (a
loss halt, a flatten that failed) keep their own level everywhere.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import structlog

from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus

__all__ = ["TradeLog"]


class TradeLog:
    def __init__(self, level: int = logging.DEBUG) -> None:
        self.level = level
        self._log = structlog.get_logger(component="execution_manager")

    def sent(self, order: Order, *, closing: bool = False) -> None:
        """The broker's answer to an order we sent (a rejection is told as one)."""
        if order.status is OrderStatus.REJECTED:
            self.rejected(order)
            return
        self._log.log(self.level, "order_submitted", **_request(order.request), status=order.status.value,
                      closing=closing or None)

    def refused(self, request: OrderRequest, check: str, detail: str) -> None:
        """A pre-trade check kept the order from the broker."""
        self._log.log(self.level, "order_refused", **_request(request), check=check, detail=detail)

    def rejected(self, order: Order) -> None:
        """Rejected by the broker, or here before sending (a malformed order)."""
        category = order.reject_category.value if order.reject_category is not None else None
        self._log.log(self.level, "order_rejected", **_request(order.request), category=category,
                      reason=order.reason)

    def cancel_requested(self, order: Order) -> None:
        self._log.log(self.level, "order_cancel_requested", **_request(order.request), status=order.status.value)

    def filled(self, fill: Fill, *, replayed: bool = False) -> None:
        """A fill counted; `replayed`: one an earlier day-run of the day counted (and told), told
        again as a restart's catch-up counts it, so a reader can tell it from a new one."""
        self._log.log(self.level, "order_filled", strategy=fill.strategy, symbol=fill.symbol,
                      client_order_id=fill.client_order_id, side=fill.side.value, quantity=fill.quantity,
                      price=fill.price, replayed=replayed or None)

    def flatten(self, event: str, at_utc: datetime, held: dict[str, int]) -> None:
        """Every position is being closed (`pre_close_flatten`, `session_close_flatten`); each
        closing order follows as `order_submitted` with `closing`."""
        self._log.log(self.level, event, at=at_utc.isoformat(), positions=held)


def _request(request: OrderRequest) -> dict[str, Any]:
    return {"strategy": request.strategy, "symbol": request.symbol, "client_order_id": request.client_order_id,
            "side": request.side.value, "quantity": request.quantity, "type": request.type.value,
            "limit": request.limit_price, "stop": request.stop_price}
