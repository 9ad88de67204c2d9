"""The trading story of a run, one log line per order sent, refused, rejected or canceled, per
fill and per flatten, each naming the strategy, the symbol and the client order id.

The lines go out at the run's level: INFO in a daemon's day-run, where they are what the
operator reads after a day (`journalctl -u mismarterad`), DEBUG in a backtest, where a year is
thousands of them over a progress bar and the report files already hold every order and fill
(docs/decisions.md, "The trading story in the log"). Warnings and errors of the same events (a
loss halt, a flatten that failed) keep their own level everywhere.

Refusals are the one event a strategy can repeat without bound (a loop while halted), and
journald's rate limit would then drop every line of the unit, the loss halt and the errors
included. So at most REFUSALS_TOLD_PER_MINUTE lines are told per (strategy, check, minute of
the order); the rest are counted and told as one `order_refusals_suppressed` line once their
minute has passed. Every refusal is still kept in `risk.csv` and the journal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus

__all__ = ["REFUSALS_TOLD_PER_MINUTE", "TradeLog"]

REFUSALS_TOLD_PER_MINUTE = 5


@dataclass(slots=True)
class _RefusalTally:
    minute: datetime
    told: int = 0
    suppressed: int = 0


class TradeLog:
    def __init__(self, level: int = logging.DEBUG) -> None:
        self.level = level
        self._log = structlog.get_logger(component="execution_manager")
        self._refusals: dict[tuple[str, str], _RefusalTally] = {}  # (strategy, check) -> its current minute

    def sent(self, order: Order, *, closing: bool = False) -> None:
        """The broker's answer to an order we sent (a rejection is told as one)."""
        if order.status is OrderStatus.REJECTED:
            self.rejected(order)
            return
        if not _told(self.level):
            return
        self._log.log(self.level, "order_submitted", **_request(order.request), status=order.status.value,
                      closing=closing or None)

    def refused(self, request: OrderRequest, check: str, detail: str) -> None:
        """A pre-trade check kept the order from the broker (told, or counted past the minute's cap)."""
        minute = request.submitted_utc.replace(second=0, microsecond=0)
        self.refusals_passed(minute)
        tally = self._refusals.setdefault((request.strategy, check), _RefusalTally(minute))
        if tally.told < REFUSALS_TOLD_PER_MINUTE:
            tally.told += 1
            self._log.log(self.level, "order_refused", **_request(request), check=check, detail=detail)
        else:
            tally.suppressed += 1

    def refusals_passed(self, now_utc: datetime | None = None) -> None:
        """Tell the refusals counted but not told in the minutes before `now_utc`'s (all of
        them without `now_utc`: the session ends)."""
        for (strategy, check), tally in list(self._refusals.items()):
            if now_utc is None or tally.minute < now_utc.replace(second=0, microsecond=0):
                del self._refusals[(strategy, check)]
                if tally.suppressed:
                    self._log.log(self.level, "order_refusals_suppressed", strategy=strategy, check=check,
                                  minute=tally.minute.isoformat(), told=tally.told, suppressed=tally.suppressed,
                                  note="every refusal is in risk.csv and the order journal")

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
        if not _told(self.level):
            return
        self._log.log(self.level, "order_filled", strategy=fill.strategy, symbol=fill.symbol,
                      client_order_id=fill.client_order_id, side=fill.side.value, quantity=fill.quantity,
                      price=fill.price, replayed=replayed or None)

    def flatten(self, event: str, at_utc: datetime, held: dict[str, int]) -> None:
        """Every position is being closed (`pre_close_flatten`, `session_close_flatten`); each
        closing order follows as `order_submitted` with `closing`."""
        self._log.log(self.level, event, at=at_utc.isoformat(), positions=held)


def _told(level: int) -> bool:
    """False when the configured logger drops lines of `level` (a backtest's DEBUG lines at the
    default level): the filtering logger would drop them itself, but only after a logger was
    bound through the lazy proxy and the line's fields built, about 5 us an order or fill, and a
    year of 10 symbols is 76,000 of them. structlog's filtering loggers answer `is_enabled_for`
    from their class (the level is baked into it); any other logger is asked line by line."""
    wrapper = structlog.get_config()["wrapper_class"]
    enabled = getattr(wrapper, "is_enabled_for", None)
    if enabled is None or not wrapper.__name__.startswith("BoundLoggerFiltering"):
        return True
    return bool(enabled(wrapper, level))


def _request(request: OrderRequest) -> dict[str, Any]:
    return {"strategy": request.strategy, "symbol": request.symbol, "client_order_id": request.client_order_id,
            "side": request.side.value, "quantity": request.quantity, "type": request.type.value,
            "limit": request.limit_price, "stop": request.stop_price}
