"""SchwabBroker: the Broker interface over Schwab's trader REST API (schwab-py).

Schwab has no order-update stream the adapter uses and no client order id, so this broker
differs from Alpaca's in two ways, and only there:

* Fills are read over REST. Each order report lists its executions (`orderActivityCollection`);
  the shared OrderBook books each execution once by its activity id, in any order, with any
  repeats. `on_bar(bar)` reads the orders this bar fills by the paper broker's rules (market
  orders sent before it, limits and stops its range reached) until they show it, at most
  `fill_wait_secs` of real time, so a fill at a bar's open is in the positions before any
  strategy sees the bar, as in a backtest; `drain_fills()` reads every open order at most
  every `poll_every_secs` of real time (what no bar foretold: a partial fill's rest, a
  fill of another kind).
* Our ids live in the adapter's ledger (order_ledger.py): each POST is recorded before it is
  made and bound to the id Schwab answers. Sending and finding orders whose answer was lost:
  order_sending.py. `lookup(client_order_id, counted)` reads a bound order by its Schwab id,
  matches a POST whose answer was lost, says "none" for an id never POSTed, and reads another
  client's order by the id `venue_open_orders()` gave it (`schwab-<order id>`).

Everything else is Alpaca's: one real-time budget per public operation (`op_deadline_secs`),
account and positions cached for `snapshot_ttl_secs` (integrations/broker_readings.py),
adoption with what the journal counted, and `close_session`'s wait for market orders.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import structlog
from schwab.client import Client

from mismarterad.core.broker import BrokerCapabilities
from mismarterad.core.clock import Clock
from mismarterad.core.errors import BrokerError
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import AccountSnapshot, Fill, Order, OrderRequest, OrderStatus, OrderType, Position
from mismarterad.core.orders import RejectCategory
from mismarterad.integrations.op_budget import operation_budget, remaining_secs
from mismarterad.services.fill_models import fill_price
from mismarterad.integrations.schwab.order_ledger import OrderLedger
from mismarterad.integrations.schwab.order_sending import OrderSending
from mismarterad.integrations.schwab.parse import (
    PlacedOrder,
    parse_account,
    parse_order,
    parse_positions,
    parse_request,
    price_refusal,
)
from mismarterad.integrations.schwab.rest import SchwabRest
from mismarterad.integrations.venue_broker import VenueBroker
from mismarterad.integrations.venue_orders import Execution, TradeEvent, VenueOrder, local_refusal

__all__ = ["FOREIGN_PREFIX", "SchwabBroker"]

log = structlog.get_logger(component="schwab_broker")

FOREIGN_PREFIX = "schwab-"  # the id of an order another client placed: schwab-<Schwab's order id>
_POLL_SECS = 0.05  # between reads of an order waited on
_CANCEL_RESERVE_SECS = 2.0  # of close_session's budget, kept for the cancels after its wait
_OPEN_LOOKBACK = timedelta(days=7)  # how far back orders still working are listed
_LIST_ABOVE = 3  # more open orders than this are read with one listing instead of one GET each


class SchwabBroker(VenueBroker):
    """A Schwab account (or the emulator's) behind the Broker interface."""

    def __init__(self, rest: SchwabRest, ledger: OrderLedger, account_hash: str, clock: Clock, *,
                 fill_wait_secs: float = 0.2, close_wait_secs: float = 5.0, snapshot_ttl_secs: float = 5.0,
                 op_deadline_secs: float = 7.0, unresolved_settle_secs: float = 60.0,
                 poll_every_secs: float = 1.0) -> None:
        super().__init__("Schwab", op_deadline_secs=op_deadline_secs, snapshot_ttl_secs=snapshot_ttl_secs,
                         call=lambda fetch, _what: fetch())  # SchwabRest has made the call by then
        self._rest, self._ledger, self._hash, self._clock = rest, ledger, account_hash, clock
        self._fill_wait_secs, self._close_wait_secs = fill_wait_secs, close_wait_secs
        self._poll_every_secs = poll_every_secs
        self._sending = OrderSending(rest, ledger, account_hash, clock, self._lock, self._book, take=self._take,
                                     changed=self._readings.moved, settle_secs=unresolved_settle_secs,
                                     op_secs=op_deadline_secs)
        self._polled = 0.0  # time.monotonic() of the last read of every open order

    # -- lifecycle -------------------------------------------------------------------------

    def verify(self) -> AccountSnapshot:
        """Read the account once (fresh): BrokerAuthError if the token is refused,
        BrokerUnavailableError if Schwab does not answer."""
        with operation_budget(self._op_secs):
            return self._readings.read("account", self._account_snapshot, "GET account", stale_ok=False, fresh=True)

    def close(self) -> None:
        """Nothing runs in the background (the session is the venue's to close)."""

    @property
    def connected(self) -> bool:
        return self._rest.rest_ok

    @property
    def reconnects(self) -> int:
        """Schwab's orders are read over REST: there is no update stream to reconnect."""
        return 0

    @property
    def capabilities(self) -> BrokerCapabilities:
        return BrokerCapabilities(fractional=False, extended_hours=False, short_selling=False)

    # -- orders ----------------------------------------------------------------------------

    def _refusal(self, request: OrderRequest) -> tuple[RejectCategory, str] | None:
        refusal = local_refusal(request)
        price = price_refusal(request) if refusal is None else None
        return refusal if price is None else (RejectCategory.INVALID_PRICE, price)

    def _send(self, request: OrderRequest) -> Order:
        return self._sending.send(request)

    def _cancel(self, client_order_id: str) -> Order:
        with self._lock:
            order, order_id = self._book.cancel_target(client_order_id)
        if not order.status.is_open:
            return order
        if order_id is None:  # its POST's outcome is still unknown: looked for first
            posted = self._ledger.posted(client_order_id)
            found = self._sending.find([posted]) if posted is not None else {}
            if client_order_id not in found:
                with self._lock:
                    if self._book.is_unresolved(client_order_id):
                        return self._book.get(client_order_id) or order  # it may still appear: stays open
                    return self._book.cancel_unsent(client_order_id, "never reached Schwab")
            order_id = self._book.broker_id(client_order_id)
            assert order_id is not None
        try:
            self._rest.call(lambda: self._rest.client.cancel_order(order_id, self._hash), "DELETE order")
        except BrokerError as exc:
            if getattr(exc, "venue_status", None) not in (400, 404):  # 400: already filled, canceled or expired
                raise
        deadline = time.monotonic() + min(self._close_wait_secs, remaining_secs())
        while True:
            current = self._read(client_order_id, order_id)
            if not current.status.is_open or time.monotonic() + _POLL_SECS > deadline:
                return current
            time.sleep(_POLL_SECS)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """The orders still working (no request: but orders of unknown outcome are looked for
        first, at most once a second each, within a short budget)."""
        self._sending.resolve_due()
        with self._lock:
            return self._book.open_orders(symbol)

    def lookup(self, client_order_id: str, counted: Order | None = None) -> Order | None:
        """Schwab's current report of the order with our id `client_order_id` (see the module
        docstring), tracked from then on with `counted` (what the journal booked) taken as
        booked already; None if Schwab has none. BrokerError if Schwab does not answer, or if
        the matching rule finds more than one order it could be (never a guess)."""
        with operation_budget(self._op_secs):
            with self._lock:
                held = self._book.get(client_order_id)
                order_id = self._book.broker_id(client_order_id)
            order_id = order_id or self._ledger.order_id(client_order_id) or _foreign_id(client_order_id)
            if order_id is None:
                posted = self._ledger.posted(client_order_id)
                if posted is None or self._ledger.closed(client_order_id):
                    return held  # never POSTed here, or Schwab refused the POST
                self._adopting(client_order_id, counted, None)  # found, it is booked with what was counted
                found = self._sending.find([posted])
                if client_order_id in found:
                    return found[client_order_id]
                if held is None:
                    with self._lock:
                        self._book.forget(client_order_id)
                if self._sending.is_ambiguous(client_order_id):
                    raise BrokerError(f"{client_order_id}: more than one Schwab order could be it; the matching "
                                      "rule does not guess (see the reconciliation)")
                return held
            raw = self._rest.json(lambda: self._rest.client.get_order(order_id, self._hash), "GET order")
            try:
                placed = parse_order(raw)
            except ValueError as exc:
                raise BrokerError(f"Schwab's order {client_order_id} is unreadable ({exc})") from None
            self._adopting(client_order_id, counted, placed)
            return self._take(placed, client_order_id)

    def _adopting(self, client_order_id: str, counted: Order | None, placed: PlacedOrder | None) -> None:
        """Track an order this broker did not send (a restart's, or another client's), with
        what the caller booked of it already."""
        with self._lock:
            if client_order_id in self._book:
                return
            if counted is not None:
                request = counted.request
            elif placed is not None:
                request = parse_request(placed, client_order_id)
            else:
                return
            self._book.adopt(Order(request, OrderStatus.SUBMITTED), counted.filled_quantity if counted else 0,
                             counted.avg_fill_price if counted else None)
        log.info("order_adopted", client_order_id=client_order_id,
                 status=placed.venue_status if placed else "unknown",
                 counted=counted.filled_quantity if counted is not None else 0)

    def venue_open_orders(self) -> list[Order]:
        """Every order working at Schwab now, ours or not, read afresh (one listing); one whose
        POST's answer was lost is bound by the matching rule first. Another client's has the id
        `schwab-<order id>` and strategy ""."""
        with operation_budget(self._op_secs):
            now = self._clock.now()
            placed = self._sending.listing(now - _OPEN_LOOKBACK, now + timedelta(days=1))
            self._sending.bind_lost(placed, self._ledger.unbound())
        out = []
        for p in placed:
            if not p.status.is_open:
                continue
            cid = self._ledger.client_id(p.order_id) or f"{FOREIGN_PREFIX}{p.order_id}"
            with self._lock:
                held = self._book.get(cid)
            request = held.request if held is not None else parse_request(p, cid)
            report = p.report(cid)
            out.append(Order(request, report.status, report.filled_quantity, report.avg_fill_price, report.filled_utc))
        return out

    def positions(self) -> list[Position]:
        """Schwab's positions (cached as the module says); a failed refresh returns the last
        reading only if no order event came since (else BrokerError)."""
        def fetch() -> list[Position]:
            try:
                return parse_positions(self._account_raw())
            except ValueError as exc:
                raise BrokerError(f"Schwab's positions are unreadable ({exc})") from None

        with operation_budget(self._op_secs):
            return self._readings.read("positions", fetch, "GET account", stale_after_events=False)

    def account(self) -> AccountSnapshot:
        with operation_budget(self._op_secs):
            return self._readings.read("account", self._account_snapshot, "GET account")

    def drain_fills(self) -> list[Fill]:
        """Fills since the last call: orders of unknown outcome are looked for first, and every
        open order is read at most every `poll_every_secs` (real time). Within the budget."""
        with operation_budget(self._op_secs):
            self._sending.resolve_due()
            if time.monotonic() - self._polled >= self._poll_every_secs:
                self._polled = time.monotonic()
                with self._lock:
                    working = [o for o in self._book.open_orders() if self._book.broker_id(o.client_order_id)]
                self._read_all(working)
        with self._lock:
            return self._book.drain_fills()

    # -- market events ---------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """Read (at most `fill_wait_secs` of real time) the open orders of `bar.symbol` this
        bar fills by the paper broker's rules until each shows its fill; see the module docstring."""
        def due() -> list[Order]:
            with self._lock:
                return [o for o in self._book.open_orders(bar.symbol) if self._book.broker_id(o.client_order_id)
                        and o.request.submitted_utc <= bar.start_utc and o.request.type is not OrderType.MARKET_ON_CLOSE
                        and fill_price(o.request, bar) is not None and not _filled_since(o, bar)]

        waiting = due()
        if not waiting:
            return
        deadline = time.monotonic() + self._fill_wait_secs
        with operation_budget(max(self._fill_wait_secs, 1.0)):
            while waiting:
                self._read_all(waiting)
                waiting = due()
                if not waiting or time.monotonic() + _POLL_SECS > deadline:
                    return
                time.sleep(_POLL_SECS)

    def close_session(self, last_bars: dict[str, Bar]) -> None:
        """End the session, within `op_deadline_secs` of real time: read the open orders, wait
        (at most `close_wait_secs`, keeping a reserve for the cancels) for the MARKET and
        MARKET_ON_CLOSE ones to fill, then cancel the LIMIT and STOP orders still open. A
        market order is never canceled here: one still open afterwards is logged."""
        market = (OrderType.MARKET, OrderType.MARKET_ON_CLOSE)
        with operation_budget(self._op_secs):
            self._sending.resolve_due()
            deadline = time.monotonic() + min(self._close_wait_secs, max(0.0, remaining_secs() - _CANCEL_RESERVE_SECS))
            while True:
                with self._lock:
                    working = [o for o in self._book.open_orders() if self._book.broker_id(o.client_order_id)]
                self._read_all(working)
                with self._lock:
                    waiting = [o for o in self._book.open_orders() if o.request.type in market]
                if not waiting or time.monotonic() + _POLL_SECS > deadline:
                    break
                time.sleep(_POLL_SECS)
            for order in self._book_open():
                if order.request.type not in market:
                    try:
                        self._cancel(order.client_order_id)
                    except BrokerError as exc:
                        log.error("close_cancel_failed", client_order_id=order.client_order_id, error=str(exc))
            left = [o.client_order_id for o in self._book_open()]
        if left:
            log.warning("orders_open_after_close", client_order_ids=left)

    # -- internals -------------------------------------------------------------------------

    def _book_open(self) -> list[Order]:
        with self._lock:
            return self._book.open_orders()

    def _account_raw(self) -> dict[str, object]:
        return self._rest.json(  # type: ignore[no-any-return]
            lambda: self._rest.client.get_account(self._hash, fields=[Client.Account.Fields.POSITIONS]),
            "GET account")

    def _account_snapshot(self) -> AccountSnapshot:
        try:
            return parse_account(self._account_raw())
        except ValueError as exc:
            raise BrokerError(f"Schwab's account is unreadable ({exc})") from None

    def _read(self, client_order_id: str, order_id: str) -> Order:
        raw = self._rest.json(lambda: self._rest.client.get_order(order_id, self._hash), "GET order")
        try:
            return self._take(parse_order(raw), client_order_id)
        except ValueError as exc:
            raise BrokerError(f"Schwab's order {client_order_id} is unreadable ({exc})") from None

    def _read_all(self, orders: Sequence[Order]) -> None:
        """Read these orders (one GET each, or one listing for many); a failed read is logged."""
        ids = {self._book.broker_id(o.client_order_id): o for o in orders}
        try:
            if len(ids) > _LIST_ABOVE:
                since = min(o.request.submitted_utc for o in orders) - timedelta(days=1)
                for placed in self._sending.listing(since, self._clock.now() + timedelta(days=1)):
                    order = ids.get(placed.order_id)
                    if order is not None:
                        self._take(placed, order.client_order_id)
                return
            for order_id, order in ids.items():
                assert order_id is not None
                self._read(order.client_order_id, order_id)
        except BrokerError as exc:
            log.warning("order_read_failed", orders=len(ids), error=str(exc))

    def _take(self, placed: PlacedOrder, client_order_id: str) -> Order:
        """Take Schwab's report of one of our orders: each execution once, then its totals. An
        order not held yet (bound after its answer was lost, by a restarted broker) is adopted
        with nothing counted: no fill of it was booked before it was bound."""
        report = placed.report(client_order_id)
        with self._lock:
            if client_order_id not in self._book:
                self._book.adopt(Order(parse_request(placed, client_order_id), OrderStatus.SUBMITTED))
            cumulative = 0
            for execution in placed.executions:
                cumulative += execution.quantity
                self._book.apply_event(_execution_event(report, execution, cumulative, placed.spec.quantity))
            order = self._book.reconcile(report, self._clock.now())
            self._readings.moved()
            self._lock.notify_all()
        assert order is not None
        return order


def _execution_event(report: VenueOrder, execution: Execution, cumulative: int, quantity: int) -> TradeEvent:
    """An execution as the order book takes it: the order as it stood right after it."""
    status = OrderStatus.FILLED if cumulative >= quantity else OrderStatus.PARTIALLY_FILLED
    at = replace(report, status=status, filled_quantity=cumulative, updated_utc=execution.ts_utc)
    return TradeEvent("fill" if status is OrderStatus.FILLED else "partial_fill", at, execution, execution.ts_utc)


def _filled_since(order: Order, bar: Bar) -> bool:
    """The order has a fill at or after this bar's start (what the bar was to show)."""
    return order.filled_utc is not None and order.filled_utc >= bar.start_utc


def _foreign_id(client_order_id: str) -> str | None:
    suffix = client_order_id.removeprefix(FOREIGN_PREFIX)
    return suffix if suffix != client_order_id and suffix.isdigit() else None
