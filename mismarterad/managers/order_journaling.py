"""OrderJournaling: ExecutionManager's side of the order journal for one day-run.

It writes what the money-safety rules need, in the order they need it:

* an intent is committed before its broker call (`intent`), the answer after it (`record`);
* fills are booked once per (order, execution id) before positions count them (`book_fills`):
  a repeated or replayed update never counts twice;
* order changes that arrive without a call of ours (a trade update, a poll) are journaled at
  each step and each persist (`sync`), only the orders that changed.

A restarted day-run reads the day back (`DayJournal`): its orders are adopted by id
(`resumed`), and the fills the earlier runs booked are replayed into the positions at the step
that first counted them (`replay_due`), so the strategies, rebuilt from today's bars, see the
same positions at the same bars as before the restart and decide the same orders again (which
are then adopted, not sent). A simulated account (the paper broker) is rebuilt from the same
fills, so its money is the journal's whatever the strategies decide on the replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from mismarterad.core.failpoints import failpoint
from mismarterad.core.journal import DayJournal, JournaledFill, OrderJournal
from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus

__all__ = ["OrderJournaling"]


class OrderJournaling:
    def __init__(self, journal: OrderJournal, resume: DayJournal) -> None:
        self.journal = journal
        self._resumed = {o.client_order_id: o for o in resume.orders}
        self._state = {o.client_order_id: _state_of(o) for o in resume.orders}  # as last journaled
        self._booked: dict[str, tuple[int, float]] = {}  # id -> (shares, notional) journaled as fills
        for journaled in resume.fills:
            f = journaled.fill
            shares, notional = self._booked.get(f.client_order_id, (0, 0.0))
            self._booked[f.client_order_id] = (shares + f.quantity, notional + f.quantity * f.price)
        self._replay: list[JournaledFill] = list(resume.fills)  # the earlier fills, replayed at their steps
        # the newest step an earlier day-run decided an order at: up to it, the day is the journal's
        self.decided_until: datetime | None = max((o.request.submitted_utc for o in resume.orders), default=None)
        self._cumulative: dict[str, int] = {i: s for i, (s, _) in self._booked.items()}

    # -- the send ---------------------------------------------------------------------------

    def intent(self, request: OrderRequest) -> None:
        """Commit the intent; after this a crash leaves a record of what may have been sent."""
        self.journal.record([Order(request, OrderStatus.INTENT)])
        self._state[request.client_order_id] = (OrderStatus.INTENT, 0)
        failpoint("intent_journaled")

    def record(self, orders: Iterable[Order]) -> None:
        orders = list(orders)
        self.journal.record(orders)
        for order in orders:
            self._state[order.client_order_id] = _state_of(order)

    def sync(self, orders: Iterable[Order]) -> None:
        """Journal the orders whose status or filled quantity changed since last journaled."""
        changed = [o for o in orders if self._state.get(o.client_order_id) != _state_of(o)]
        if changed:
            self.record(changed)

    # -- fills ------------------------------------------------------------------------------

    def book_fills(self, fills: Sequence[Fill], applied_utc: datetime | None) -> list[Fill]:
        """Book the fills (each given an execution id if its broker has none: the order's
        cumulative quantity after it); return those booked now for the first time."""
        failpoint("fill_received")
        stamped = []
        for fill in fills:
            if not fill.execution_id:
                total = self._cumulative.get(fill.client_order_id, 0) + fill.quantity
                fill = replace(fill, execution_id=f"cum{total}")
            self._cumulative[fill.client_order_id] = self._cumulative.get(fill.client_order_id, 0) + fill.quantity
            stamped.append(fill)
        fresh = self.journal.record_fills(stamped, applied_utc)
        for f in fresh:
            shares, notional = self._booked.get(f.client_order_id, (0, 0.0))
            self._booked[f.client_order_id] = (shares + f.quantity, notional + f.quantity * f.price)
        return fresh

    def replay_due(self, step_end_utc: datetime, *, live: bool) -> list[Fill]:
        """The earlier runs' fills to count at this step: those they counted by its end, and at a
        live step also those no step counted (booked in a catch-up killed before its end), which
        are stamped with this step now."""
        due = [j for j in self._replay if (j.applied_utc is None and live)
               or (j.applied_utc is not None and j.applied_utc <= step_end_utc)]
        if due:
            self._replay = [j for j in self._replay if j not in due]
            self.applied([j.fill for j in due if j.applied_utc is None], step_end_utc)
        return [j.fill for j in due]

    def applied(self, fills: Sequence[Fill], step_end_utc: datetime) -> None:
        """Fills booked during a catch-up are counted at this (live) step: a later resume replays
        them here too, so its strategies see what these saw, when they saw it."""
        if fills:
            self.journal.mark_applied(fills, step_end_utc)

    # -- resume -----------------------------------------------------------------------------

    def resumed(self, client_order_id: str) -> Order | None:
        """The order an earlier day-run of the day journaled under this id."""
        return self._resumed.get(client_order_id)

    def resumed_orders(self) -> list[Order]:
        return list(self._resumed.values())

    def counted(self, order: Order) -> Order:
        """The order as far as the journal booked its fills (what a broker lookup must not book again)."""
        shares, notional = self._booked.get(order.client_order_id, (0, 0.0))
        return replace(order, filled_quantity=shares, avg_fill_price=notional / shares if shares else None)

    def known_today(self) -> frozenset[str]:
        return frozenset(self._state)

    def earlier(self, client_order_ids: list[str]) -> set[str]:
        return self.journal.known(client_order_ids) if client_order_ids else set()


def _state_of(order: Order) -> tuple[OrderStatus, int]:
    return order.status, order.filled_quantity
