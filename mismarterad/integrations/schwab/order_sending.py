"""Sending an order to Schwab once, and finding it when Schwab's answer is lost.

The POST is recorded in the ledger first (order_ledger.py); the journal already holds the
intent. Schwab's answer decides:

* 201 with a `Location` naming the order (schwab-py's `Utils.extract_order_id`, which accepts
  only Schwab's own host): the id is bound in the ledger, then the order is read once. A
  binding the ledger cannot write (a StorageError: the disk is full or failing) is logged
  (`schwab_binding_not_recorded`) and changes nothing else: the order exists at Schwab, this
  broker tracks it by its id (fills, cancels, the flatten, the reconciliation), it is never sent
  again, and a restart finds it from its `posted` line by the matching rule. The same holds for
  an order found by the rule.
* 429: the order was not made; sent again after the policy's backoff, within the budget.
* 401: the access token is refreshed once and the order sent again (a 401 made nothing).
* any other 4xx: Schwab refused it (REJECTED, with its message and a category).
* a timeout, a dropped connection, a 5xx, or a 201 without a readable `Location`: the outcome
  is unknown and the order is NEVER sent again (Schwab has no client order id that would refuse
  a second one). It is looked for among the account's orders by the matching rule
  (order_matching.py): found, it is bound; else it stays open (SUBMITTED, "outcome unknown")
  and flagged unresolved, and `resolve_due()` (each `drain_fills()` / `open_orders()`) looks
  again, at most once a second, until it is found, or `settle_secs` after the POST it is taken
  as never made (CANCELED, kept: a later sighting still binds it). Ambiguous matches are never
  resolved by a guess: the order stays unresolved and `schwab_order_ambiguous` is logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import httpx2
import structlog
from authlib.common.errors import AuthlibBaseError
from schwab.utils import Utils

from mismarterad.core.clock import Clock
from mismarterad.core.errors import BrokerError, StorageError
from mismarterad.core.orders import Order, OrderRequest, OrderStatus, RejectCategory
from mismarterad.integrations.op_budget import operation_budget, remaining_secs
from mismarterad.integrations.order_book import OrderBook
from mismarterad.integrations.schwab.order_ledger import OrderLedger
from mismarterad.integrations.schwab.order_matching import MatchWindow, Outcome, Posted, match_posted
from mismarterad.integrations.schwab.parse import PlacedOrder, parse_order, reject_message, to_schwab_order
from mismarterad.integrations.schwab.rest import SchwabHttpError, SchwabRest, is_connection_failure
from mismarterad.integrations.venue_orders import VenueOrder, reject_category

__all__ = ["OrderSending", "match_window"]

log = structlog.get_logger(component="schwab_broker")

_RESOLVE_BUDGET_SECS = 2.0  # real time a drain_fills/open_orders may spend resolving unknown outcomes
_RESOLVE_EVERY_SECS = 1.0  # at most one look per unresolved order per this much real time
_LIST_MARGIN = timedelta(minutes=1)


def match_window(clock: Clock) -> MatchWindow:
    """The matching rule's window on `clock`: 2 minutes of clock time either side (clocks agree
    within seconds, a request ends within its 7-second budget), widened on a replay clock to 1
    real second before and 8 after (a rehearsal's clocks differ by the daemon's start-up, and a
    held request takes seconds that are minutes of market time)."""
    probe = timedelta(minutes=1)
    real = clock.real_delay(clock.now() + probe)
    speed = probe.total_seconds() / real if 0 < real < float("inf") else 1.0
    floor = timedelta(minutes=2)
    return MatchWindow(max(floor, timedelta(seconds=1.0 * speed)), max(floor, timedelta(seconds=8.0 * speed)))


class OrderSending:
    """See the module docstring. Shares the broker's lock and book; `take(placed, cid)` takes a
    report of one of our orders into the book (booking its fills)."""

    def __init__(self, rest: SchwabRest, ledger: OrderLedger, account_hash: str, clock: Clock,
                 lock: threading.Condition, book: OrderBook, *, take: Callable[[PlacedOrder, str], Order],
                 changed: Callable[[], None], settle_secs: float, op_secs: float) -> None:
        self._rest, self._ledger, self._hash, self._clock = rest, ledger, account_hash, clock
        self._lock, self._book, self._take, self._changed = lock, book, take, changed
        self._settle_secs, self._op_secs = settle_secs, op_secs
        self.window = match_window(clock)
        self._last_post: dict[str, float] = {}  # client id -> time.monotonic() of its POST
        self._next_look: dict[str, float] = {}  # unresolved client id -> earliest next look
        self._ambiguous: set[str] = set()  # logged once each

    # -- the POST ----------------------------------------------------------------------------

    def send(self, request: OrderRequest) -> Order:
        """Record and POST the order (already in the book as SUBMITTED), within the running budget."""
        cid = request.client_order_id
        posted = Posted(request, self._clock.now())
        try:
            self._ledger.post(posted)
        except StorageError as exc:  # not recorded, not sent: a crash could not find it again
            log.error("schwab_post_not_recorded", client_order_id=cid, error=str(exc))
            return self._reject(cid, RejectCategory.OTHER, f"not sent: {exc}")
        spec = to_schwab_order(request)
        refreshed, attempt = False, 0
        while True:
            attempt += 1
            self._last_post[cid] = time.monotonic()
            try:
                response = self._rest.client.place_order(self._hash, spec)
            except AuthlibBaseError as exc:  # the refresh before the POST was refused: nothing was sent
                self._closed(cid, "the token refresh was refused")
                self._reject(cid, RejectCategory.OTHER, "Schwab refused the token: not sent")
                raise self._rest.translate(exc, "POST orders") from None
            except Exception as exc:  # noqa: BLE001 - every failure is classified
                self._rest.rest_ok = not is_connection_failure(exc)
                log.warning("order_outcome_unknown", client_order_id=cid, error=type(exc).__name__)
                return self._lost(posted)
            status = response.status_code
            self._rest.rest_ok = True
            if status == 429 and attempt < self._rest.retry.max_attempts and self._pause(attempt):
                continue  # refused before it was made
            if status == 401 and not refreshed:
                refreshed = True
                try:
                    self._rest.refresh("POST orders")
                except BrokerError:  # refused or unreachable: the 401 made nothing, and nothing more is sent
                    self._closed(cid, "the token refresh after a 401 failed")
                    self._reject(cid, RejectCategory.OTHER, "Schwab refused the token: not sent")
                    raise
                continue
            if status >= 500 or 200 <= status < 300:
                order_id = self._order_id(response) if 200 <= status < 300 else None
                if order_id is None:
                    log.warning("order_outcome_unknown", client_order_id=cid, status=status)
                    return self._lost(posted)
                self._bind(cid, order_id)
                return self._read(cid, order_id)
            message = self._rest.scrub(reject_message(_json(response)))
            self._closed(cid, f"refused ({status})")
            if status == 429:
                return self._reject(cid, RejectCategory.OTHER, "Schwab rate limit (429): the order was not made")
            if status in (401, 403):
                self._reject(cid, RejectCategory.OTHER, f"Schwab refused the token ({status})")
                raise self._rest.translate(SchwabHttpError(status, message), "POST orders")
            return self._reject(cid, reject_category(status, message), f"Schwab {status}: {message}")

    def _order_id(self, response: httpx2.Response) -> str | None:
        try:
            found = Utils(self._rest.client, self._hash).extract_order_id(response)
        except ValueError:  # an error status, or another account's hash
            return None
        return None if found is None else str(found)

    def _read(self, cid: str, order_id: str) -> Order:
        """The order just bound, as Schwab has it now (as accepted if the read fails: it exists)."""
        try:
            placed = parse_order(self._rest.json(lambda: self._rest.client.get_order(order_id, self._hash),
                                                 "GET order"))
        except (BrokerError, ValueError) as exc:
            log.warning("order_read_failed", client_order_id=cid, error=str(exc))
            with self._lock:
                self._book.apply(_accepted(order_id, cid, self._clock))
                order = self._book.get(cid)
            assert order is not None
            return order
        return self._take(placed, cid)

    def _lost(self, posted: Posted) -> Order:
        """The POST's outcome is unknown: look for the order at once, else later."""
        cid = posted.client_order_id
        if remaining_secs() > 0.2:
            try:
                found = self.find([posted])
            except BrokerError as exc:
                log.error("order_lookup_failed", client_order_id=cid, error=str(exc))
                found = {}
            if cid in found:
                return found[cid]
        return self._unresolve(cid)

    def _unresolve(self, cid: str) -> Order:
        log.error("order_outcome_unresolved", client_order_id=cid)
        with self._lock:
            current = self._book.get(cid)
            assert current is not None
            if self._book.broker_id(cid) is not None:
                return current
            self._next_look[cid] = time.monotonic() + _RESOLVE_EVERY_SECS
            self._changed()
            return self._book.mark_unresolved(cid)

    def _reject(self, cid: str, category: RejectCategory, reason: str) -> Order:
        with self._lock:
            return self._book.reject(cid, category, reason)

    def _bind(self, cid: str, order_id: str) -> None:
        try:
            self._ledger.bind(cid, order_id)
        except StorageError as exc:  # the order exists at Schwab: tracked by its id, never resent
            log.error("schwab_binding_not_recorded", client_order_id=cid, order_id=order_id, error=str(exc),
                      note="tracked by this day-run; a restart finds it by the matching rule")

    def _closed(self, cid: str, why: str) -> None:
        try:
            self._ledger.close(cid)
        except StorageError as exc:
            log.warning("schwab_ledger_close_failed", client_order_id=cid, why=why, error=str(exc))

    def _pause(self, attempt: int) -> bool:
        wait = timedelta(seconds=self._rest.retry.backoff_secs(attempt))
        until = self._clock.now() + wait
        if self._clock.real_delay(until) > remaining_secs() - 0.1:
            return False
        return self._clock.sleep_until(until, threading.Event())

    # -- finding orders whose answer was lost ------------------------------------------------

    def listing(self, since_utc: datetime, until_utc: datetime) -> list[PlacedOrder]:
        """Every order entered at Schwab between the two instants (its clock), readable ones.
        BrokerError if the answer is not a list, or an order it cannot read could be one of our
        POSTs whose answer was lost (its symbol is theirs): "not found" would then be a guess, and
        after `settle_secs` it would take a live order for one never made."""
        raw = self._rest.json(lambda: self._rest.client.get_orders_for_account(
            self._hash, from_entered_datetime=since_utc, to_entered_datetime=until_utc), "GET orders")
        if not isinstance(raw, list):
            raise BrokerError(f"Schwab's order list is a {type(raw).__name__}, not a list: nothing is read from it")
        lost_symbols = {p.request.symbol for p in self._ledger.unbound()}
        out = []
        for item in raw:
            try:
                out.append(parse_order(item))
            except ValueError as exc:
                symbol = _leg_symbol(item)
                if symbol is None or symbol in lost_symbols:
                    raise BrokerError(f"an order at Schwab ({symbol or 'no symbol'}) is unreadable ({exc}), and a "
                                      f"lost order of ours could be it: its outcome stays unknown") from None
                log.info("schwab_order_unreadable", error=str(exc))  # another client's order of a kind we do not read
        return out

    def find(self, wanted: Sequence[Posted]) -> dict[str, Order]:
        """Look for these POSTs among Schwab's orders (one listing); the ones found, bound and
        taken into the book, by client id."""
        if not wanted:
            return {}
        since = min(p.posted_utc for p in wanted) - self.window.before - _LIST_MARGIN
        until = max(p.posted_utc for p in wanted) + self.window.after + _LIST_MARGIN
        return self.bind_lost(self.listing(since, until), wanted)

    def bind_lost(self, placed: Sequence[PlacedOrder], wanted: Sequence[Posted]) -> dict[str, Order]:
        """Apply the matching rule to `wanted` (POSTs whose answer was lost) over `placed`."""
        out: dict[str, Order] = {}
        for posted in wanted:
            cid = posted.client_order_id
            match = match_posted(posted, placed, bound=self._ledger.bound_ids(), rivals=self._ledger.unbound(),
                                 window=self.window)
            if match.outcome is Outcome.FOUND:
                assert match.order_id is not None
                self._bind(cid, match.order_id)
                self._ambiguous.discard(cid)
                log.info("schwab_order_matched", client_order_id=cid, order_id=match.order_id)
                [report] = [p for p in placed if p.order_id == match.order_id]
                out[cid] = self._take(report, cid)
            elif match.outcome is Outcome.AMBIGUOUS and cid not in self._ambiguous:
                self._ambiguous.add(cid)
                log.error("schwab_order_ambiguous", client_order_id=cid, candidates=list(match.candidates),
                          rivals=list(match.rivals), note="never guessed: the order stays of unknown outcome")
        return out

    def is_ambiguous(self, client_order_id: str) -> bool:
        """The matching rule found more than one order this could be (logged once)."""
        return client_order_id in self._ambiguous

    def resolve_due(self) -> None:
        """Look (one listing) for the unresolved orders due, each at most once per second, all
        within a short budget; settle those still absent `settle_secs` after their POST."""
        now = time.monotonic()
        with self._lock:
            due = [cid for cid in self._book.unresolved() if self._next_look.get(cid, 0.0) <= now]
            for cid in due:
                self._next_look[cid] = now + _RESOLVE_EVERY_SECS
        wanted = [p for cid in due if (p := self._ledger.posted(cid)) is not None]
        if not wanted:
            return
        with operation_budget(min(self._op_secs, _RESOLVE_BUDGET_SECS)):
            try:
                found = self.find(wanted)
            except BrokerError as exc:
                log.warning("unresolved_lookup_failed", error=str(exc))
                return
        for posted in wanted:
            cid = posted.client_order_id
            if cid in found:
                log.info("order_outcome_resolved", client_order_id=cid, status=found[cid].status.value)
            elif cid not in self._ambiguous and time.monotonic() - self._last_post.get(cid, 0.0) >= self._settle_secs:
                log.warning("order_never_made", client_order_id=cid, settle_secs=self._settle_secs)
                with self._lock:
                    if self._book.is_unresolved(cid):
                        self._book.settle_unsent(
                            cid, f"never reached Schwab (not found {self._settle_secs:g} s after it was sent)")
                        self._changed()


def _leg_symbol(item: object) -> str | None:
    """The symbol of a listed order's first leg, if it has one."""
    try:
        return str(item["orderLegCollection"][0]["instrument"]["symbol"])  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None


def _json(response: httpx2.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _accepted(order_id: str, cid: str, clock: Clock) -> VenueOrder:
    return VenueOrder(order_id, cid, OrderStatus.ACCEPTED, 0, None, None, clock.now(), "ACCEPTED")
