"""The order journal's in-memory twin: the same contract as the database journal, for tests
and for anything that runs without a database. It merges reports by the same state machine
and books fills once per (order, execution id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mismarterad.core.journal import DayJournal, JournaledFill
from mismarterad.core.order_states import advance
from mismarterad.core.orders import Fill, Order

__all__ = ["MemoryOrderJournal"]


class MemoryOrderJournal:
    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}  # in the order they were first journaled
        self._fills: list[JournaledFill] = []
        self._booked: set[tuple[str, str]] = set()

    def record(self, orders: Sequence[Order]) -> None:
        for order in orders:
            held = self._orders.get(order.client_order_id)
            self._orders[order.client_order_id] = order if held is None else advance(held, order)

    def record_fills(self, fills: Sequence[Fill], applied_utc: datetime | None) -> list[Fill]:
        fresh = []
        for fill in fills:
            key = (fill.client_order_id, fill.execution_id)
            if key not in self._booked:
                self._booked.add(key)
                self._fills.append(JournaledFill(fill, applied_utc))
                fresh.append(fill)
        return fresh

    def mark_applied(self, fills: Sequence[Fill], applied_utc: datetime) -> None:
        keys = {(f.client_order_id, f.execution_id) for f in fills}
        self._fills = [JournaledFill(j.fill, applied_utc) if j.applied_utc is None
                       and (j.fill.client_order_id, j.fill.execution_id) in keys else j for j in self._fills]

    def day(self, id_prefix: str) -> DayJournal:
        return DayJournal(tuple(o for i, o in self._orders.items() if i.startswith(id_prefix)),
                          tuple(f for f in self._fills if f.fill.client_order_id.startswith(id_prefix)))

    def known(self, client_order_ids: Sequence[str]) -> set[str]:
        return {i for i in client_order_ids if i in self._orders}
