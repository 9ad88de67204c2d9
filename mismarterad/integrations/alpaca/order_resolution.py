"""Sending an order to Alpaca without ever doubling it, and resolving the orders whose
submission's outcome is unknown.

alpaca-py's own retries are off (see rest.py). An order POST whose outcome is unknown (timeout,
connection reset, 5xx) is never resent blindly: the order is looked up by its client_order_id;
found, that is the order; a 404 right after the failure proves nothing yet, so it is sent once
more (the same client_order_id: Alpaca refuses a second order with it, so even a race cannot
double it). A 429 was not made: it is sent again after the policy's backoff. Only Alpaca's own
4xx refusal of the POST is a rejection. An outcome still unknown when the budget is spent (or
after the resend) is never made definitive: the order is returned open (SUBMITTED, "outcome
unknown", no broker id) and flagged unresolved; `resolve_due()` (each later `drain_fills()` /
`open_orders()`) looks it up by client_order_id (at most once a second per order, within a
short budget), and a trade update of it resolves it too. Only when Alpaca still has no such
order `settle_secs` after its last POST is it taken as never made (CANCELED, kept in the book: a
later report of it still counts). A cancel asked for while unresolved is sent once it is found.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from mismarterad.core.errors import BrokerError
from mismarterad.core.orders import Order, OrderRequest, RejectCategory
from mismarterad.integrations.alpaca.parse import (
    is_duplicate_client_order_id,
    parse_order,
    to_alpaca_request,
)
from mismarterad.integrations.alpaca.rest import AUTH_HINT, api_message, api_status, is_connection_failure
from mismarterad.integrations.op_budget import operation_budget, remaining_secs
from mismarterad.integrations.alpaca.venue_calls import TradingRest
from mismarterad.integrations.broker_errors import BrokerAuthError
from mismarterad.integrations.order_book import OrderBook
from mismarterad.integrations.venue_orders import VenueOrder, reject_category

__all__ = ["OrderResolution"]

log = structlog.get_logger(component="alpaca_broker")

_RESOLVE_BUDGET_SECS = 2.0  # real time a drain_fills/open_orders may spend resolving unknown outcomes
_RESOLVE_EVERY_SECS = 1.0  # at most one lookup per unresolved order per this much real time


class OrderResolution:
    """See the module docstring. Shares the broker's lock and book; `adopt` takes a REST report
    into the book (booking its fills), `changed` marks cash/positions as moved, `cancel` cancels
    an order the venue has (the broker's own cancel, inside the running budget)."""

    def __init__(self, rest: TradingRest, lock: threading.Condition, book: OrderBook, *,
                 adopt: Callable[[VenueOrder], Order], changed: Callable[[], None],
                 cancel: Callable[[str], Order], settle_secs: float, op_secs: float) -> None:
        self._rest, self._lock, self._book = rest, lock, book
        self._adopt, self._changed, self._cancel = adopt, changed, cancel
        self._settle_secs, self._op_secs = settle_secs, op_secs
        self._last_post: dict[str, float] = {}  # client id -> time.monotonic() of its last POST
        self._next_lookup: dict[str, float] = {}  # unresolved client id -> earliest next lookup
        self._cancel_wanted: set[str] = set()  # canceled while unresolved: canceled at Alpaca once found

    # -- submission ------------------------------------------------------------------------

    def send(self, request: OrderRequest) -> Order:
        """POST the order (already in the book as SUBMITTED) within the running budget."""
        cid = request.client_order_id
        body = to_alpaca_request(request)
        unknown = 0  # POSTs whose outcome is unknown
        attempt = 0
        while True:
            attempt += 1
            if unknown and remaining_secs() < 0.1:
                return self._unresolve(cid)
            self._last_post[cid] = time.monotonic()
            try:
                answer = self._rest.client.submit_order(body)
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                status = api_status(exc)
                if status == 429:  # this POST was refused before it was made: safe to send again
                    if attempt < self._rest.retry.max_attempts and self._rest.pause(attempt):
                        continue
                    if unknown:  # an earlier POST may have made it
                        return self._unresolve(cid)
                    return self._reject(cid, RejectCategory.OTHER, "Alpaca rate limit (429): the order was not made")
                if status is not None and status < 500:
                    return self._refused(request, exc, status, unknown > 0)
                unknown += 1
                self._rest.rest_ok = not is_connection_failure(exc)
                log.warning("order_outcome_unknown", client_order_id=cid, error=type(exc).__name__, status=status)
                try:
                    found = self._rest.lookup(cid)
                except BrokerError as lookup_exc:  # still unknown: resolved later
                    log.error("order_lookup_failed", client_order_id=cid, error=str(lookup_exc))
                    return self._unresolve(cid)
                if found is not None:
                    return self._adopt(found)
                if unknown >= 2:
                    return self._unresolve(cid)
                continue
            self._rest.rest_ok = True
            return self._adopt(parse_order(answer))

    def _unresolve(self, client_order_id: str) -> Order:
        """The submission's outcome is unknown: open (SUBMITTED), flagged, looked up later."""
        log.error("order_outcome_unresolved", client_order_id=client_order_id)
        with self._lock:
            current = self._book.get(client_order_id)
            assert current is not None
            if self._book.broker_id(client_order_id) is not None:  # a trade update told us meanwhile
                return current
            self._next_lookup[client_order_id] = time.monotonic() + _RESOLVE_EVERY_SECS
            self._changed()
            return self._book.mark_unresolved(client_order_id)

    def _refused(self, request: OrderRequest, exc: BaseException, status: int, sent_before: bool) -> Order:
        cid = request.client_order_id
        message = api_message(exc)
        if is_duplicate_client_order_id(status, message):
            if not sent_before:  # another session's order has this id: not ours to book
                with self._lock:
                    self._book.forget(cid)
                raise ValueError(f"duplicate client_order_id {cid}: Alpaca already has an order with this id")
            # our earlier POST made it after all
            try:
                found = self._rest.lookup(cid)
            except BrokerError:
                found = None
            return self._adopt(found) if found is not None else self._unresolve(cid)
        if status == 401:
            self._reject(cid, RejectCategory.OTHER, "Alpaca refused the API keys")
            raise BrokerAuthError(self._rest.scrub(f"Alpaca refused the API keys (401) on POST /v2/orders: {AUTH_HINT}"))
        if sent_before:  # a refusal of the resend: the first POST may have made it (and used the buying power)
            try:
                found = self._rest.lookup(cid)
            except BrokerError:
                return self._unresolve(cid)
            if found is not None:
                return self._adopt(found)
        return self._reject(cid, reject_category(status, message), self._rest.scrub(f"Alpaca {status}: {message}"))

    def _reject(self, client_order_id: str, category: RejectCategory, reason: str) -> Order:
        with self._lock:
            return self._book.reject(client_order_id, category, reason)

    # -- later -----------------------------------------------------------------------------

    def cancel_unresolved(self, client_order_id: str, order: Order) -> Order | VenueOrder:
        """A cancel of an order with no broker id yet: the venue's report if it has the order
        (the caller cancels it there), else the order as it stays (see the module docstring)."""
        found = self._rest.lookup(client_order_id)
        if found is not None:
            return found
        with self._lock:  # still looked for while unresolved: a later report of it counts
            if self._book.is_unresolved(client_order_id):
                self._cancel_wanted.add(client_order_id)
                recent = time.monotonic() - self._last_post.get(client_order_id, 0.0) < self._settle_secs
                if recent:  # a 404 seconds after the POST proves nothing: it stays open (SUBMITTED)
                    return self._book.get(client_order_id) or order
            return self._book.cancel_unsent(client_order_id, "never reached Alpaca")

    def found(self, client_order_id: str, order: Order) -> None:
        """An order of unknown outcome was found (`order`, as now held): a cancel asked for meanwhile is sent."""
        if client_order_id in self._cancel_wanted and order.status.is_open:
            self._cancel_wanted.discard(client_order_id)
            try:
                self._cancel(client_order_id)
            except BrokerError as exc:
                log.error("resolved_cancel_failed", client_order_id=client_order_id, error=str(exc))

    def resolve_due(self) -> None:
        """Look up (by client_order_id) the orders whose submission's outcome is unknown, each
        at most once per _RESOLVE_EVERY_SECS, all within _RESOLVE_BUDGET_SECS of real time."""
        now = time.monotonic()
        with self._lock:
            due = [cid for cid in self._book.unresolved() if self._next_lookup.get(cid, 0.0) <= now]
            for cid in due:
                self._next_lookup[cid] = now + _RESOLVE_EVERY_SECS
        if not due:
            return
        with operation_budget(min(self._op_secs, _RESOLVE_BUDGET_SECS)):
            for cid in due:
                if remaining_secs() < 0.1:
                    break
                try:
                    found = self._rest.lookup(cid)
                except BrokerError as exc:
                    log.warning("unresolved_lookup_failed", client_order_id=cid, error=str(exc))
                    continue
                if found is not None:
                    log.info("order_outcome_resolved", client_order_id=cid, status=found.venue_status)
                    self.found(cid, self._adopt(found))
                    continue
                sent = self._last_post.get(cid, 0.0)
                if time.monotonic() - sent >= self._settle_secs:
                    log.warning("order_never_made", client_order_id=cid, settle_secs=self._settle_secs)
                    with self._lock:
                        if self._book.is_unresolved(cid):
                            self._book.settle_unsent(
                                cid, f"never reached Alpaca (not found {self._settle_secs:g} s after it was sent)")
                            self._changed()
