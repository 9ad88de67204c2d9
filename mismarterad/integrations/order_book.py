"""A live broker's own book of this session's orders, kept from REST answers and order events
(Alpaca's trade updates, Schwab's executions read over REST), so the engine's frequent
`orders()`/`open_orders()` never cost a request.

Two rules make it safe against a stream that repeats or reorders itself:

* an execution counts once: fills are keyed by `execution_id`, a repeated one is ignored;
* a report never moves an order backwards: a report is taken only if it is at least as far
  along as the one held, by (ended, filled quantity, update time). A late `new` after a `fill`,
  or a `partial_fill` after the `fill`, changes nothing (the partial's execution still counts).

So any order of arrival, with any repeats, of one valid sequence ends in the same fills and the
same final state.

Fills learned over REST. Every REST report of an order (the POST's answer, a lookup, the GET
after a cancel, a reconcile after a reconnect) goes through `reconcile`, which books the
filled quantity not yet counted as one fill (at the price that makes the order's average come
out). The invariant, whatever arrives in whatever order: the quantity booked for an order never
exceeds the highest cumulative filled quantity reported for it, and equals it once every
execution is known (by REST's total or by the stream's executions). An execution update (each
carries the order's cumulative filled quantity after it, `cum`) is booked unless a REST report
already covered it (`cum` <= the highest REST total R); a REST total R' > R books R' minus what
is already counted of the executions it covers (the REST bookings, plus the stream executions
with `cum` <= R').

Execution ids. Each fill carries an id unique within its order and the same for the same
execution whoever books it again (the journal books a fill once per (client_order_id, id)): a
stream fill has its trade update's `execution_id`; a fill booked from a REST total R has
`rest-R` (the totals only climb, so each is used once per order).

Adopted orders. An order this book did not send (a restart looking up the day's orders) is
`adopt`ed with what the caller already booked of it (`counted`): those shares are treated as a
REST total already booked, so only what filled beyond them is booked, once.
Not thread-safe: the broker holds its lock around every call.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import structlog

from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, RejectCategory
from mismarterad.integrations.venue_orders import TradeEvent, VenueOrder

__all__ = ["OrderBook"]

log = structlog.get_logger(component="order_book")

_Rank = tuple[bool, int, datetime]


class OrderBook:
    def __init__(self, venue: str = "Alpaca") -> None:
        """`venue` names the venue in reasons ("canceled at Alpaca")."""
        self._venue = venue
        self._orders: dict[str, Order] = {}  # by client id, in submission order
        self._rank: dict[str, _Rank] = {}
        self._broker_id: dict[str, str] = {}
        self._executions: set[str] = set()
        self._counted: dict[str, tuple[int, float]] = {}  # client id -> (shares, notional) in fills
        self._reconciled: dict[str, int] = {}  # client id -> the highest REST total (R)
        self._rest_booked: dict[str, tuple[int, float]] = {}  # client id -> (shares, notional) booked from REST
        self._streamed: dict[str, list[tuple[int, int, float]]] = {}  # client id -> (cum, shares, price) booked
        self._unresolved: set[str] = set()  # submissions whose outcome is not known yet
        self._unpriced: set[str] = set()  # adopted with counted shares of no known price
        self._fills: list[Fill] = []

    def __contains__(self, client_order_id: str) -> bool:
        return client_order_id in self._orders

    def add(self, order: Order) -> None:
        """An order we are about to send (SUBMITTED) or refused ourselves (REJECTED)."""
        self._orders[order.client_order_id] = order

    def take_new(self, request: OrderRequest, refusal: tuple[RejectCategory, str] | None) -> Order | None:
        """A request about to be sent: ValueError if its id is held already; REJECTED (and held)
        for a refusal of ours; else held as SUBMITTED before its POST (its updates may come
        first), and None."""
        if request.client_order_id in self._orders:
            raise ValueError(f"duplicate client_order_id {request.client_order_id}")
        if refusal is not None:
            order = Order(request, OrderStatus.REJECTED, reason=refusal[1], reject_category=refusal[0])
            self.add(order)
            return order
        self.add(Order(request, OrderStatus.SUBMITTED))
        return None

    def cancel_target(self, client_order_id: str) -> tuple[Order, str | None]:
        """The order a cancel is asked for and its venue id (None while its outcome is unknown);
        KeyError for an id never held."""
        order = self._orders.get(client_order_id)
        if order is None:
            raise KeyError(f"no order {client_order_id}")
        return order, self._broker_id.get(client_order_id)

    def adopt(self, order: Order, counted_shares: int = 0, counted_avg_price: float | None = None) -> None:
        """An order sent before this book existed (SUBMITTED until a report of it comes), of
        which `counted_shares` at `counted_avg_price` are booked already (by the caller's journal):
        they count as a REST total already booked, so the next `reconcile` books only the rest,
        and stream executions up to that cumulative quantity are not booked again."""
        self._orders[order.client_order_id] = order
        if counted_shares > 0:
            cid = order.client_order_id
            notional = counted_shares * (counted_avg_price or 0.0)
            self._counted[cid] = self._rest_booked[cid] = (counted_shares, notional)
            self._reconciled[cid] = counted_shares
            if counted_avg_price is None:  # the rest is priced as if these were at the order's average
                self._unpriced.add(cid)

    def forget(self, client_order_id: str) -> None:
        """An order the venue says is not ours to book (a duplicate id from another session)."""
        self._orders.pop(client_order_id, None)
        self._rank.pop(client_order_id, None)

    def mark_unresolved(self, client_order_id: str) -> Order:
        """A submission whose outcome is unknown: the order stays open (SUBMITTED), flagged,
        until a report of it (a lookup or a trade update) or its absence long after says what it is."""
        self._unresolved.add(client_order_id)
        order = replace(self._orders[client_order_id], status=OrderStatus.SUBMITTED,
                        reason="outcome unknown: resolving by client_order_id")
        self._orders[client_order_id] = order
        return order

    def unresolved(self) -> list[str]:
        return [cid for cid in self._orders if cid in self._unresolved]

    def is_unresolved(self, client_order_id: str) -> bool:
        return client_order_id in self._unresolved

    def settle_unsent(self, client_order_id: str, reason: str) -> Order:
        """An unresolved order still unknown to the venue long after it was sent: canceled, but
        kept (a later report of it is still taken: its rank was never set)."""
        self._unresolved.discard(client_order_id)
        return self.cancel_unsent(client_order_id, reason)

    def reject(self, client_order_id: str, category: RejectCategory, reason: str) -> Order:
        order = replace(self._orders[client_order_id], status=OrderStatus.REJECTED, reason=reason,
                        reject_category=category)
        self._orders[client_order_id] = order
        return order

    def cancel_unsent(self, client_order_id: str, reason: str) -> Order:
        """An order the venue never received (its submission failed and the lookup found nothing)."""
        order = replace(self._orders[client_order_id], status=OrderStatus.CANCELED, reason=reason)
        self._orders[client_order_id] = order
        return order

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def broker_id(self, client_order_id: str) -> str | None:
        return self._broker_id.get(client_order_id)

    def orders(self) -> list[Order]:
        return list(self._orders.values())

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._orders.values()
                if o.status.is_open and (symbol is None or o.request.symbol == symbol)]

    def waiting_market_orders(self, symbol: str, bar_start_utc: datetime) -> list[Order]:
        """Open market orders of `symbol` sent before `bar_start_utc`: the venue fills them at that bar's open."""
        return [o for o in self.open_orders(symbol)
                if o.request.type is OrderType.MARKET and o.request.submitted_utc <= bar_start_utc]

    def apply(self, venue: VenueOrder, at_utc: datetime | None = None) -> Order | None:
        """Take a report of one of our orders; the order as now held (None if not ours)."""
        order = self._orders.get(venue.client_order_id)
        if order is None:
            log.debug("foreign_order_ignored", client_order_id=venue.client_order_id)
            return None
        self._broker_id.setdefault(venue.client_order_id, venue.broker_id)
        if venue.client_order_id in self._unresolved:  # the venue has it: resolved
            self._unresolved.discard(venue.client_order_id)
            if order.reason is not None and order.reason.startswith("outcome unknown"):
                order = replace(order, reason=None)
                self._orders[venue.client_order_id] = order
        rank = (venue.status.is_final, venue.filled_quantity, venue.updated_utc)
        held = self._rank.get(venue.client_order_id)
        if held is not None and rank < held:
            return order  # older than what we hold: never backwards
        self._rank[venue.client_order_id] = rank
        reason = order.reason
        category = order.reject_category
        if venue.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            reason = f"{venue.venue_status} at {self._venue}"
        elif venue.status is OrderStatus.REJECTED:
            reason, category = f"rejected by {self._venue} ({venue.venue_status})", RejectCategory.OTHER
        filled_utc = venue.filled_utc or (at_utc if venue.filled_quantity else None)
        updated = replace(order, status=venue.status, filled_quantity=venue.filled_quantity,
                          avg_fill_price=venue.avg_fill_price, filled_utc=filled_utc, reason=reason,
                          reject_category=category)
        self._orders[venue.client_order_id] = updated
        return updated

    def apply_event(self, event: TradeEvent) -> bool:
        """Take a trade update; True if it was one of our orders."""
        order = self.apply(event.order, event.ts_utc)
        if order is None:
            return False
        execution = event.execution
        cid = order.client_order_id
        if execution is not None and execution.execution_id not in self._executions:
            self._executions.add(execution.execution_id)
            cum = event.order.filled_quantity
            if cum > self._reconciled.get(cid, 0):  # not covered by a REST report
                shares, _ = self._counted.get(cid, (0, 0.0))
                known = max(cum, order.filled_quantity, self._reconciled.get(cid, 0))
                quantity = min(execution.quantity, max(0, known - shares))  # never past the reported total
                if quantity < execution.quantity:
                    log.error("execution_exceeds_filled_total", client_order_id=cid, cum=cum,
                              execution=execution.quantity, counted=shares)
                if quantity > 0:
                    self._streamed.setdefault(cid, []).append((cum, quantity, execution.price))
                    self._book_fill(order.request, quantity, execution.price, execution.ts_utc,
                                    execution.execution_id)
        return True

    def reconcile(self, venue: VenueOrder, at_utc: datetime) -> Order | None:
        """Take a REST report of an order, booking the filled quantity not yet counted (see the
        module's note); the order as now held (None if not ours)."""
        order = self.apply(venue, at_utc)
        if order is None:
            return None
        cid = order.client_order_id
        total = venue.filled_quantity
        if total <= self._reconciled.get(cid, 0):
            return order
        rest_shares, rest_notional = self._rest_booked.get(cid, (0, 0.0))
        if cid in self._unpriced and venue.avg_fill_price is not None:
            self._unpriced.discard(cid)
            rest_notional = rest_shares * venue.avg_fill_price
        covered = [(q, p) for cum, q, p in self._streamed.get(cid, []) if cum <= total]
        shares = rest_shares + sum(q for q, _ in covered)
        notional = rest_notional + sum(q * p for q, p in covered)
        missing = total - shares
        if missing > 0 and venue.avg_fill_price is not None:
            price = round((venue.avg_fill_price * total - notional) / missing, 6)
            log.warning("fill_booked_from_rest", client_order_id=cid, quantity=missing)
            self._book_fill(order.request, missing, price, venue.filled_utc or at_utc, f"rest-{total}")
            self._rest_booked[cid] = (rest_shares + missing, rest_notional + missing * price)
        elif missing > 0:
            log.error("rest_fill_without_price", client_order_id=cid, quantity=missing)
            return order  # not taken as the REST total: a later report with its price books it
        self._reconciled[cid] = total
        return self._orders[cid]

    def _book_fill(self, request: OrderRequest, quantity: int, price: float, ts_utc: datetime,
                   execution_id: str) -> None:
        shares, notional = self._counted.get(request.client_order_id, (0, 0.0))
        self._counted[request.client_order_id] = (shares + quantity, notional + quantity * price)
        self._fills.append(Fill(request.client_order_id, request.symbol, request.side, quantity, price, 0.0,
                                ts_utc, request.strategy, execution_id))


    def drain_fills(self) -> list[Fill]:
        """Fills since the last call, in the order their executions happened."""
        fills, self._fills = self._fills, []
        return sorted(fills, key=lambda f: f.ts_utc)
