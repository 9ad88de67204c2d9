"""The order state machine: which of two reports of one order is the newer truth.

Reports of an order reach us from several places in any order and with repeats: our own
journal, the submit's answer, a lookup, a poll, the trade-update stream, a replay after a
restart. `advance(held, report)` merges one into what is held so that an order never moves
backwards: its filled quantity never drops, a final order stays final (unless more shares
filled), and a working order's stage only climbs (intent < submitted < accepted <
partially_filled < final). Applying the same reports in any order gives the same result as
long as they come from one valid history (the property tests say so).

One exception is deliberate: an order we closed ourselves as never sent (`refused`, e.g. an
intent whose bar passed while the daemon was down) that the broker reports after all was sent
before the crash; the broker's word wins, since its shares are real.
"""

from __future__ import annotations

from dataclasses import replace

from mismarterad.core.orders import Order, OrderStatus

__all__ = ["advance", "stage"]

_STAGE = {
    OrderStatus.INTENT: 0,
    OrderStatus.SUBMITTED: 1,
    OrderStatus.ACCEPTED: 2,
    OrderStatus.PARTIALLY_FILLED: 3,
}
_FINAL_STAGE = 4
_LOCAL = frozenset({OrderStatus.INTENT, OrderStatus.REFUSED})  # states no broker reports
_UNSENT = frozenset({OrderStatus.INTENT, OrderStatus.SUBMITTED})  # no broker has said it has them


def stage(status: OrderStatus) -> int:
    """How far along an order of this status is (every final status ranks last)."""
    return _STAGE.get(status, _FINAL_STAGE)


def advance(held: Order, report: Order) -> Order:
    """The order after `report` is taken into `held` (both of one client_order_id)."""
    if held.status is OrderStatus.REFUSED and report.status not in _LOCAL:
        return _consistent(report)  # sent after all (see the module docstring)
    if report.status is OrderStatus.REFUSED and held.status not in _UNSENT:
        return held  # ours to say only of an order no broker has acknowledged
    if report.filled_quantity > held.filled_quantity:
        return _consistent(report)
    if report.filled_quantity < held.filled_quantity:
        if held.status.is_final or stage(report.status) <= stage(held.status):
            return held
        # a stale fill count with a later status (a cancel after more fills than it knew of)
        return replace(report, filled_quantity=held.filled_quantity, avg_fill_price=held.avg_fill_price,
                       filled_utc=held.filled_utc)
    if held.status.is_final or stage(report.status) <= stage(held.status):
        return held
    return _consistent(report)


def _consistent(order: Order) -> Order:
    """A working order with shares filled is partially filled, whatever the report called it."""
    if order.status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED) and order.filled_quantity > 0:
        return replace(order, status=OrderStatus.PARTIALLY_FILLED)
    return order
