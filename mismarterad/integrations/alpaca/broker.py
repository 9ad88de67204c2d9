"""AlpacaBroker: the Broker interface over Alpaca's trading REST API and its trade-updates stream.

State. Orders live in our own OrderBook, updated by REST answers and by trade updates (which
arrive on the stream's thread and are applied under the broker's lock), so `orders()` and
`open_orders()` cost no request. `account()` and `positions()` are read over REST and cached
for `snapshot_ttl_secs` of real time; every fill, submission and cancel invalidates the cache,
so the reading after a fill is always fresh. A failed refresh returns the last value read (and
`connected` turns false) rather than stopping the engine.

Every report of an order read over REST (the POST's answer, a lookup, the GET after a cancel)
goes through OrderBook.reconcile, so a fill learned that way is in the next `drain_fills()`
exactly once, even if its trade update comes too.

Time. Each public operation has ONE real-time budget, `op_deadline_secs` (7 s: the daemon's
watchdog allows 10 s), for all its requests, retries and waits: each request times out after
min(`request_timeout_secs`, what is left), and nothing is retried once it is spent.

Money safety. alpaca-py's own retries are off (see rest.py). An order POST whose outcome is
unknown (timeout, connection reset, 5xx) is never resent blindly: the order is looked up by its
client_order_id; found, that is the order; a 404 right after the failure proves nothing yet,
so it is sent once more (the same client_order_id: Alpaca refuses a second order with it, so
even a race cannot double it). A 429 was not made: it is sent again after the policy's backoff.
Only Alpaca's own 4xx refusal of the POST is a rejection. An outcome still unknown when the
budget is spent (or after the resend) is never made definitive: the order is returned open
(NEW, "outcome unknown", no broker id) and flagged unresolved; each later `drain_fills()` /
`open_orders()` looks it up by client_order_id (at most once a second per order, within a
short budget), and a trade update of it resolves it too. Only when Alpaca still has no such
order `unresolved_settle_secs` after its last POST is it taken as never made (CANCELED, kept in
the book: a later report of it still counts). Reads and lookups are retried per the RetryPolicy.

Secrets. No message built here carries an exception's text: a non-API failure is named by its
type and the operation/host, an API error by its status and Alpaca's `message`; and every
BrokerError message passes through `scrub` (the key id and secret replaced) on its way out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import GetOrdersRequest

from mismarterad.core.broker import BrokerCapabilities
from mismarterad.core.clock import Clock
from mismarterad.core.errors import BrokerError
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import (
    AccountSnapshot,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    RejectCategory,
)
from mismarterad.integrations.alpaca.credentials import AlpacaCredentials
from mismarterad.integrations.alpaca.endpoints import AlpacaEndpoints
from mismarterad.integrations.alpaca.order_book import OrderBook
from mismarterad.integrations.alpaca.parse import (
    VenueOrder,
    is_duplicate_client_order_id,
    local_refusal,
    parse_account,
    parse_order,
    parse_position,
    parse_trade_update,
    reject_category,
    to_alpaca_request,
)
from mismarterad.integrations.alpaca.rest import (
    AUTH_HINT,
    api_message,
    api_status,
    is_connection_failure,
    make_trading_client,
    operation_budget,
    operation_deadline,
    remaining_secs,
)
from mismarterad.integrations.alpaca.streams import StreamRunner, StreamWatch, WatchedTradingStream
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError, scrub
from mismarterad.integrations.retry_policy import RetryPolicy

__all__ = ["AlpacaBroker"]

log = structlog.get_logger(component="alpaca_broker")

T = TypeVar("T")
_START_WAIT_SECS = 5.0
_RESOLVE_BUDGET_SECS = 2.0  # real time a drain_fills/open_orders may spend resolving unknown outcomes
_RESOLVE_EVERY_SECS = 1.0  # at most one lookup per unresolved order per this much real time
_CANCEL_RESERVE_SECS = 2.0  # of close_session's budget, kept for the cancels after its wait


class AlpacaBroker:
    """An Alpaca account (paper or live, or the emulator) behind the Broker interface."""

    def __init__(self, credentials: AlpacaCredentials, endpoints: AlpacaEndpoints, clock: Clock, *,
                 request_timeout_secs: float = 4.0, retry: RetryPolicy | None = None,
                 fill_wait_secs: float = 0.2, close_wait_secs: float = 5.0, snapshot_ttl_secs: float = 5.0,
                 op_deadline_secs: float = 7.0, unresolved_settle_secs: float = 60.0) -> None:
        """`op_deadline_secs`: the real-time budget of each public operation (all its requests,
        retries and waits). `unresolved_settle_secs`: how long after its last POST an order of
        unknown outcome that Alpaca does not have is still looked for. `snapshot_ttl_secs`: how
        long (real time) account/positions readings are reused; every fill, submission and
        cancel drops them at once."""
        self._credentials, self._endpoints, self._clock = credentials, endpoints, clock
        self._client = make_trading_client(credentials, endpoints.trading_rest, request_timeout_secs)
        self._retry = retry or RetryPolicy()
        self._fill_wait_secs, self._close_wait_secs = fill_wait_secs, close_wait_secs
        self._ttl_secs = snapshot_ttl_secs
        self._op_secs = op_deadline_secs
        self._settle_secs = unresolved_settle_secs
        self._last_post: dict[str, float] = {}  # client id -> time.monotonic() of its last POST
        self._next_lookup: dict[str, float] = {}  # unresolved client id -> earliest next lookup
        self._cancel_wanted: set[str] = set()  # canceled while unresolved: canceled at Alpaca once found
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._book = OrderBook()
        self._version = 0  # moves on every event that changes cash or positions
        self._cache: dict[str, tuple[float, int, Any]] = {}
        self._rest_ok = True
        self._watch = StreamWatch("trading")
        self._earlier_reconnects = 0
        self._reconciled_reconnects = 0  # the stream's reconnects already followed by a reconcile
        self._runner: StreamRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def verify(self) -> None:
        """Read the account once (within the retry budget): BrokerAuthError if the keys are
        refused, BrokerUnavailableError if Alpaca does not answer. On Alpaca's own hosts with
        `paper` endpoints, an account whose number does not start with "PA" (a live account) is
        refused too (BrokerAuthError)."""
        numbers: list[str] = []

        def fetch() -> AccountSnapshot:
            raw = self._client.get_account()
            numbers.append(str(getattr(raw, "account_number", "") or ""))
            return parse_account(raw)

        with operation_budget(self._op_secs):
            self._snapshot("account", fetch, "GET /v2/account", stale_ok=False, fresh=True)
        if self._endpoints.on_alpaca and self._endpoints.paper and numbers and not numbers[-1].startswith("PA"):
            raise BrokerAuthError("paper = true but these keys reach a live Alpaca account (its number does not "
                                  f"start with PA): {AUTH_HINT}")

    def start(self) -> None:
        """Start the trade-updates stream and wait (a few seconds) until it is authorized."""
        if self._runner is not None and self._runner.alive:
            return
        self._earlier_reconnects += self._watch.reconnects
        self._watch = StreamWatch("trading")
        self._reconciled_reconnects = 0
        stream = WatchedTradingStream(self._credentials.key_id, self._credentials.secret,
                                      self._endpoints.trading_stream, self._watch)
        stream.subscribe_trade_updates(self._on_trade_update)
        self._runner = StreamRunner(stream, "alpaca-trade-updates")
        self._runner.start()
        self._watch.wait_outcome(_START_WAIT_SECS)
        if self._watch.connected:
            return
        self._runner.stop()
        if self._watch.auth_error is not None:
            raise BrokerAuthError(self._scrub(f"Alpaca's trade-updates stream refused the API keys: {AUTH_HINT}"))
        host = self._endpoints.trading_host
        raise BrokerUnavailableError(self._scrub(f"Alpaca's trade-updates stream at {host} did not authorize "
                                                 f"within {_START_WAIT_SECS:g} s"), host)

    def close(self) -> None:
        """Stop the stream (and any retry waiting); idempotent."""
        self._stop.set()
        if self._runner is not None:
            self._runner.stop()

    @property
    def reconnects(self) -> int:
        """Reconnections of the trade-updates stream since this broker was made."""
        return self._earlier_reconnects + self._watch.reconnects

    @property
    def connected(self) -> bool:
        """The stream is authorized and the last REST call got an answer."""
        return self._watch.connected and self._rest_ok and self._runner is not None and self._runner.alive

    @property
    def capabilities(self) -> BrokerCapabilities:
        return BrokerCapabilities(fractional=False, extended_hours=False, short_selling=True)

    # -- orders ----------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> Order:
        """Send the order; within `op_deadline_secs` of real time. REJECTED only for a refusal
        (ours, or Alpaca's 4xx answer to the POST); an outcome still unknown comes back NEW and
        unresolved (see the module's note)."""
        with self._lock:
            if request.client_order_id in self._book:
                raise ValueError(f"duplicate client_order_id {request.client_order_id}")
            refusal = local_refusal(request)
            if refusal is not None:
                order = Order(request, OrderStatus.REJECTED, reason=refusal[1], reject_category=refusal[0])
                self._book.add(order)
                return order
            self._book.add(Order(request, OrderStatus.NEW))  # before the POST: its updates may come first
            self._version += 1
        with operation_budget(self._op_secs):
            return self._send(request)

    def _send(self, request: OrderRequest) -> Order:
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
                answer = self._client.submit_order(body)
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                status = api_status(exc)
                if status == 429:  # this POST was refused before it was made: safe to send again
                    if attempt < self._retry.max_attempts and self._pause(attempt):
                        continue
                    if unknown:  # an earlier POST may have made it
                        return self._unresolve(cid)
                    return self._reject(cid, RejectCategory.OTHER, "Alpaca rate limit (429): the order was not made")
                if status is not None and status < 500:
                    return self._refused(request, exc, status, unknown > 0)
                unknown += 1
                self._rest_ok = not is_connection_failure(exc)
                log.warning("order_outcome_unknown", client_order_id=cid, error=type(exc).__name__, status=status)
                try:
                    found = self._lookup(cid)
                except BrokerError as lookup_exc:  # still unknown: resolved later
                    log.error("order_lookup_failed", client_order_id=cid, error=str(lookup_exc))
                    return self._unresolve(cid)
                if found is not None:
                    return self._adopt(found)
                if unknown >= 2:
                    return self._unresolve(cid)
                continue
            self._rest_ok = True
            return self._adopt(parse_order(answer))

    def _unresolve(self, client_order_id: str) -> Order:
        """The submission's outcome is unknown: open (NEW), flagged, looked up later."""
        log.error("order_outcome_unresolved", client_order_id=client_order_id)
        with self._lock:
            current = self._book.get(client_order_id)
            assert current is not None
            if self._book.broker_id(client_order_id) is not None:  # a trade update told us meanwhile
                return current
            self._next_lookup[client_order_id] = time.monotonic() + _RESOLVE_EVERY_SECS
            self._version += 1
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
                found = self._lookup(cid)
            except BrokerError:
                found = None
            return self._adopt(found) if found is not None else self._unresolve(cid)
        if status == 401:
            self._reject(cid, RejectCategory.OTHER, "Alpaca refused the API keys")
            raise BrokerAuthError(self._scrub(f"Alpaca refused the API keys (401) on POST /v2/orders: {AUTH_HINT}"))
        if sent_before:  # a refusal of the resend: the first POST may have made it (and used the buying power)
            try:
                found = self._lookup(cid)
            except BrokerError:
                return self._unresolve(cid)
            if found is not None:
                return self._adopt(found)
        return self._reject(cid, reject_category(status, message), self._scrub(f"Alpaca {status}: {message}"))

    def cancel(self, client_order_id: str) -> Order:
        """Cancel the order; within `op_deadline_secs` of real time (BrokerError if Alpaca does
        not answer in it). What it filled meanwhile is booked for `drain_fills()`."""
        with operation_budget(self._op_secs):
            return self._cancel(client_order_id)

    def _cancel(self, client_order_id: str) -> Order:
        with self._lock:
            order = self._book.get(client_order_id)
            if order is None:
                raise KeyError(f"no order {client_order_id}")
            if not order.status.is_open:
                return order
            broker_id = self._book.broker_id(client_order_id)
        if broker_id is None:  # its submission's outcome is still unknown
            found = self._lookup(client_order_id)
            if found is None:
                with self._lock:  # still looked for while unresolved: a later report of it counts
                    if self._book.is_unresolved(client_order_id):
                        self._cancel_wanted.add(client_order_id)
                        recent = time.monotonic() - self._last_post.get(client_order_id, 0.0) < self._settle_secs
                        if recent:  # a 404 seconds after the POST proves nothing: it stays open (NEW)
                            return self._book.get(client_order_id) or order
                    return self._book.cancel_unsent(client_order_id, "never reached Alpaca")
            self._adopt(found)
            broker_id = found.broker_id
            with self._lock:
                order = self._book.get(client_order_id)
            assert order is not None
            if not order.status.is_open:
                return order
        try:
            self._call(lambda: self._client.cancel_order_by_id(broker_id), f"DELETE /v2/orders/{broker_id}")
        except BrokerError as exc:
            if getattr(exc, "venue_status", None) not in (404, 422):  # 422: already filled, canceled or expired
                raise
        venue = self._call(lambda: parse_order(self._client.get_order_by_id(broker_id)),
                           f"GET /v2/orders/{broker_id}")
        self._adopt(venue)
        with self._lock:
            self._lock.wait_for(lambda: not self._is_open(client_order_id),
                                min(self._close_wait_secs, remaining_secs()))
            current = self._book.get(client_order_id)
        assert current is not None
        return current

    def orders(self) -> list[Order]:
        with self._lock:
            return self._book.orders()

    def cancel_left_open(self, prefix: str) -> int:
        """Cancel the orders still open at Alpaca whose client id starts with `prefix` and that
        this broker did not send: what an earlier day-run of the day (crashed, or restarted after
        a failure) left working. Returns how many were canceled."""
        with operation_budget(self._op_secs):
            venue = self._call(lambda: self._client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN,
                                                                                limit=500)), "GET /v2/orders")
            left = [o for o in venue if str(o.client_order_id).startswith(prefix)
                    and self._book.get(str(o.client_order_id)) is None]
            for order in left:
                log.warning("earlier_order_canceled", client_order_id=str(order.client_order_id),
                            symbol=order.symbol)
                try:
                    self._call(lambda o=order: self._client.cancel_order_by_id(o.id), f"DELETE /v2/orders/{order.id}")
                except BrokerError as exc:
                    if getattr(exc, "venue_status", None) not in (404, 422):  # 422: it filled or ended meanwhile
                        raise
            return len(left)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """The orders still working (no request: but orders of unknown outcome are looked up
        first, at most once a second each, within a short budget)."""
        self._resolve_unresolved()
        with self._lock:
            return self._book.open_orders(symbol)

    def positions(self) -> list[Position]:
        with operation_budget(self._op_secs):
            return self._snapshot("positions", lambda: sorted(
                (parse_position(p) for p in self._client.get_all_positions()), key=lambda p: p.symbol),
                "GET /v2/positions")

    def account(self) -> AccountSnapshot:
        with operation_budget(self._op_secs):
            return self._snapshot("account", lambda: parse_account(self._client.get_account()),
                                  "GET /v2/account")

    def drain_fills(self) -> list[Fill]:
        """Fills since the last call. After a reconnect of the trade-updates stream (whose
        missed updates Alpaca never replays) the open orders are first read over REST, and
        what filled meanwhile is booked (OrderBook.reconcile); orders of unknown outcome are
        looked up too (at most once a second each). Within `op_deadline_secs` of real time."""
        with operation_budget(self._op_secs):
            reconnects = self._watch.reconnects
            if (reconnects != self._reconciled_reconnects and self._watch.connected
                    and self._reconcile_orders(None)):  # every open order read: else again next time
                self._reconciled_reconnects = reconnects
            self._resolve_unresolved()
        with self._lock:
            return self._book.drain_fills()

    def _reconcile_orders(self, orders: list[Order] | None) -> bool:
        """Read `orders` (None: every open one) over REST and book what they filled; True if
        every one was read."""
        with self._lock:
            chosen = self._book.open_orders() if orders is None else orders
            ids = [(o.client_order_id, self._book.broker_id(o.client_order_id)) for o in chosen]
        complete = True
        for client_order_id, broker_id in ids:
            try:
                venue = (self._lookup(client_order_id) if broker_id is None else
                         self._call(lambda b=broker_id: parse_order(self._client.get_order_by_id(b)),
                                    f"GET /v2/orders/{broker_id}"))
            except BrokerError as exc:
                log.error("reconcile_failed", client_order_id=client_order_id, error=str(exc))
                complete = False
                continue
            if venue is not None:
                self._adopt(venue)
        return complete

    def _resolve_unresolved(self) -> None:
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
                    found = self._lookup(cid)
                except BrokerError as exc:
                    log.warning("unresolved_lookup_failed", client_order_id=cid, error=str(exc))
                    continue
                if found is not None:
                    log.info("order_outcome_resolved", client_order_id=cid, status=found.venue_status)
                    order = self._adopt(found)
                    if cid in self._cancel_wanted and order.status.is_open:  # canceled meanwhile: at Alpaca too
                        self._cancel_wanted.discard(cid)
                        try:
                            self._cancel(cid)
                        except BrokerError as exc:
                            log.error("resolved_cancel_failed", client_order_id=cid, error=str(exc))
                    continue
                sent = self._last_post.get(cid, 0.0)
                if time.monotonic() - sent >= self._settle_secs:
                    log.warning("order_never_made", client_order_id=cid, settle_secs=self._settle_secs)
                    with self._lock:
                        if self._book.is_unresolved(cid):
                            self._book.settle_unsent(
                                cid, f"never reached Alpaca (not found {self._settle_secs:g} s after it was sent)")
                            self._version += 1

    # -- market events ---------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """The venue has the market, so nothing is matched here. But the engine applies fills
        right after `on_bar`, before strategies see the bar, and a backtest fills a market order
        at the open of the first bar at or after its submission: so wait (at most
        `fill_wait_secs` of real time) until every open market order of `bar.symbol` sent by
        `bar.start_utc` has its fill update, which the venue made at this bar's open."""
        with self._lock:
            self._lock.wait_for(lambda: not self._book.waiting_market_orders(bar.symbol, bar.start_utc),
                                self._fill_wait_secs)

    def close_session(self, last_bars: dict[str, Bar]) -> None:
        """End the session for this account, within `op_deadline_secs` of real time.

        1. Wait (at most `close_wait_secs` of real time, and never past the budget less a
           reserve for step 2) for the open MARKET and MARKET_ON_CLOSE orders to fill: the
           engine's end-of-day and shutdown flatten sends market orders and then calls this, so
           they must go through. Those still open after the wait are read over REST, so what
           they filled is booked too. Their fills are in the next `drain_fills()`.
        2. Cancel the LIMIT and STOP orders still open (day orders: the venue would expire them
           at the close anyway).

        A market order is never canceled here: one still open afterwards is logged and left to
        the venue (it fills, or expires as a day order)."""
        with operation_budget(self._op_secs):
            market = (OrderType.MARKET, OrderType.MARKET_ON_CLOSE)

            def waiting() -> list[Order]:
                return [o for o in self._book.open_orders() if o.request.type in market]

            self._resolve_unresolved()
            with self._lock:
                self._lock.wait_for(lambda: not waiting(),
                                    min(self._close_wait_secs, max(0.0, remaining_secs() - _CANCEL_RESERVE_SECS)))
                still = waiting()
            if still:
                self._reconcile_orders(still)
            for order in self.open_orders():
                if order.request.type not in market:
                    try:
                        self._cancel(order.client_order_id)
                    except BrokerError as exc:
                        log.error("close_cancel_failed", client_order_id=order.client_order_id, error=str(exc))
            with self._lock:
                left = [o.client_order_id for o in self._book.open_orders()]
        if left:
            log.warning("orders_open_after_close", client_order_ids=left)

    # -- internals -------------------------------------------------------------------------

    async def _on_trade_update(self, update: TradeUpdate) -> None:
        # on the stream's loop: parse, then apply under the lock; nothing else happens here
        try:
            event = parse_trade_update(update)
        except ValueError as exc:
            log.error("trade_update_unreadable", error=str(exc))
            return
        with self._lock:
            if self._book.apply_event(event):
                self._version += 1
                self._lock.notify_all()

    def _is_open(self, client_order_id: str) -> bool:
        order = self._book.get(client_order_id)
        return order is not None and order.status.is_open

    def _adopt(self, venue: VenueOrder) -> Order:
        """Take a REST report of one of our orders, booking what it filled that no update told."""
        with self._lock:
            order = self._book.reconcile(venue, self._clock.now())
            self._version += 1
            self._lock.notify_all()
        assert order is not None
        return order

    def _reject(self, client_order_id: str, category: RejectCategory, reason: str) -> Order:
        with self._lock:
            return self._book.reject(client_order_id, category, reason)

    def _pause(self, attempt: int) -> bool:
        """Wait the policy's backoff (clock time); False if stopping or it would outlast the budget."""
        wait = timedelta(seconds=self._retry.backoff_secs(attempt))
        until = self._clock.now() + wait
        if self._clock.real_delay(until) > remaining_secs() - 0.1:
            return False
        return self._clock.sleep_until(until, self._stop)

    def _lookup(self, client_order_id: str) -> VenueOrder | None:
        """The order Alpaca has under `client_order_id`, None if it has none (404)."""
        try:
            return self._call(lambda: parse_order(self._client.get_order_by_client_id(client_order_id)),
                              "GET /v2/orders:by_client_order_id")
        except BrokerError as exc:
            if getattr(exc, "venue_status", None) == 404:
                return None
            raise

    def _call(self, fn: Callable[[], T], what: str) -> T:
        """`fn()` per the retry policy; its failure translated (the SDK's error as the cause)."""
        try:
            result = self._retry.call(fn, self._clock, what=what, stop=self._stop, deadline=operation_deadline())
        except Exception as exc:  # noqa: BLE001 - translated at the edge
            self._rest_ok = not is_connection_failure(exc)
            error = self._translate(exc, what)
            # never chained: another exception's text may hold a header, an API error's its body
            raise error from None
        self._rest_ok = True
        return result

    def _scrub(self, message: str) -> str:
        return scrub(message, self._credentials.key_id, self._credentials.secret)

    def _translate(self, exc: BaseException, what: str) -> BrokerError:
        """Our error for a failed call: never the exception's text (only its type's name), an
        API error's status and Alpaca's `message`; `venue_status` carries the HTTP status."""
        status = api_status(exc)
        host = self._endpoints.trading_host
        error: BrokerError
        if status in (401, 403):
            error = BrokerAuthError(self._scrub(f"Alpaca refused the API keys ({status}) on {what}: {AUTH_HINT}"))
        elif status is None and is_connection_failure(exc):
            error = BrokerUnavailableError(
                self._scrub(f"Alpaca at {host} did not answer {what} ({type(exc).__name__})"), host)
        elif status is not None and (status == 429 or status >= 500):
            error = BrokerUnavailableError(self._scrub(f"Alpaca at {host} kept failing {what} (HTTP {status})"), host)
        elif status is not None:
            error = BrokerError(self._scrub(f"Alpaca answered {what} with {status}: {api_message(exc)}"))
        else:
            error = BrokerError(self._scrub(f"{what} at {host} failed ({type(exc).__name__})"))
        error.venue_status = status  # type: ignore[attr-defined]
        return error

    def _snapshot(self, kind: str, fetch: Callable[[], T], what: str, *, stale_ok: bool = True,
                  fresh: bool = False) -> T:
        with self._lock:
            version = self._version
            cached = self._cache.get(kind)
        if not fresh and cached is not None and cached[1] == version and cached[0] > time.monotonic():
            return cached[2]  # type: ignore[no-any-return]
        try:
            value = self._call(fetch, what)
        except BrokerError as exc:
            if not stale_ok or cached is None or isinstance(exc, BrokerAuthError):
                raise
            log.warning("broker_snapshot_stale", what=what, error=str(exc))
            return cached[2]  # type: ignore[no-any-return]
        with self._lock:
            self._cache[kind] = (time.monotonic() + self._ttl_secs, version, value)
        return value
