"""AlpacaBroker: the Broker interface over Alpaca's trading REST API and its trade-updates stream.

State. Orders live in our own OrderBook, updated by REST answers and by trade updates (which
arrive on the stream's thread and are applied under the broker's lock), so `orders()` and
`open_orders()` cost no request. `account()` and `positions()` are read over REST and cached
for `snapshot_ttl_secs` of real time; every fill, submission and cancel invalidates the cache,
so the reading after a fill is always fresh. A failed refresh returns the last value read (and
`connected` turns false) rather than stopping the engine; for positions only while no order
event came since it (else BrokerError: a comparison must not take an old reading for a new one).

Every report of an order read over REST (the POST's answer, a lookup, the GET after a cancel)
goes through OrderBook.reconcile, so a fill learned that way is in the next `drain_fills()`
exactly once, even if its trade update comes too.

Time. Each public operation has ONE real-time budget, `op_deadline_secs` (7 s: the daemon's
watchdog allows 10 s), for all its requests, retries and waits: each request times out after
min(`request_timeout_secs`, what is left), and nothing is retried once it is spent.

Money safety. An order is never sent twice, and an order whose submission's outcome is unknown
is resolved by client_order_id: see order_resolution.py. The REST calls, their retries and the
scrubbing of secrets from every message are in venue_calls.py.

Adoption. `lookup(client_order_id, counted)` reads an order by our id and tracks it from then
on (a restart adopts the day's orders so): trade updates, `drain_fills`, `cancel` and
`open_orders` work for it as for one sent here, and only the shares beyond `counted` (what the
caller already booked) are booked, once. `venue_open_orders()` reads every order working at
Alpaca, ours or not, without touching the book (reconciliation compares it with the journal).
"""

from __future__ import annotations

import threading

import structlog
from alpaca.trading.models import TradeUpdate

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
)
from mismarterad.integrations.alpaca.credentials import AlpacaCredentials
from mismarterad.integrations.alpaca.endpoints import AlpacaEndpoints
from mismarterad.integrations.alpaca.order_resolution import OrderResolution
from mismarterad.integrations.alpaca.parse import (
    parse_account,
    parse_order,
    parse_position,
    parse_request,
    parse_trade_update,
)
from mismarterad.integrations.alpaca.rest import AUTH_HINT
from mismarterad.integrations.op_budget import operation_budget, remaining_secs
from mismarterad.integrations.alpaca.streams import StreamRunner, WatchedTradingStream
from mismarterad.integrations.alpaca.venue_calls import TradingRest
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.stream_watch import StreamWatch
from mismarterad.integrations.venue_broker import VenueBroker
from mismarterad.integrations.venue_orders import VenueOrder

__all__ = ["AlpacaBroker"]

log = structlog.get_logger(component="alpaca_broker")

_START_WAIT_SECS = 5.0
_CANCEL_RESERVE_SECS = 2.0  # of close_session's budget, kept for the cancels after its wait


class AlpacaBroker(VenueBroker):
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
        self._stop = threading.Event()
        self._rest = TradingRest(credentials, endpoints, clock, request_timeout_secs=request_timeout_secs,
                                 retry=retry or RetryPolicy(), stop=self._stop)
        self._fill_wait_secs, self._close_wait_secs = fill_wait_secs, close_wait_secs
        super().__init__("Alpaca", op_deadline_secs=op_deadline_secs, snapshot_ttl_secs=snapshot_ttl_secs,
                         call=self._rest.call)
        self._resolution = OrderResolution(self._rest, self._lock, self._book, adopt=self._adopt,
                                           changed=self._changed, cancel=self._cancel,
                                           settle_secs=unresolved_settle_secs, op_secs=op_deadline_secs)
        self._watch = StreamWatch("trading")
        self._earlier_reconnects = 0
        self._reconciled_reconnects = 0  # the stream's reconnects already followed by a reconcile
        self._runner: StreamRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def verify(self) -> None:
        """Read the account once (within the retry budget): BrokerAuthError if the keys are
        refused, BrokerUnavailableError if Alpaca does not answer. With `paper`, an account whose
        number does not start with "PA" (a live account) is refused too (BrokerAuthError), on
        any endpoint: one in front of a live account must not trade it unconfirmed (the
        emulator's account is PAEMULATOR)."""
        numbers: list[str] = []

        def fetch() -> AccountSnapshot:
            raw = self._rest.client.get_account()
            numbers.append(str(getattr(raw, "account_number", "") or ""))
            return parse_account(raw)

        with operation_budget(self._op_secs):
            self._readings.read("account", fetch, "GET /v2/account", stale_ok=False, fresh=True)
        if self._endpoints.paper and numbers and not numbers[-1].startswith("PA"):
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
            raise BrokerAuthError(self._rest.scrub(f"Alpaca's trade-updates stream refused the API keys: {AUTH_HINT}"))
        host = self._endpoints.trading_host
        raise BrokerUnavailableError(self._rest.scrub(f"Alpaca's trade-updates stream at {host} did not authorize "
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
        return self._watch.connected and self._rest.rest_ok and self._runner is not None and self._runner.alive

    @property
    def capabilities(self) -> BrokerCapabilities:
        return BrokerCapabilities(fractional=False, extended_hours=False, short_selling=True)

    # -- orders ----------------------------------------------------------------------------

    def _send(self, request: OrderRequest) -> Order:
        return self._resolution.send(request)

    def _cancel(self, client_order_id: str) -> Order:
        with self._lock:
            order, broker_id = self._book.cancel_target(client_order_id)
        if not order.status.is_open:
            return order
        if broker_id is None:  # its submission's outcome is still unknown
            found = self._resolution.cancel_unresolved(client_order_id, order)
            if isinstance(found, Order):
                return found
            self._adopt(found)
            broker_id = found.broker_id
            with self._lock:
                order = self._book.get(client_order_id)
            assert order is not None
            if not order.status.is_open:
                return order
        try:
            self._rest.call(lambda: self._rest.client.cancel_order_by_id(broker_id), f"DELETE /v2/orders/{broker_id}")
        except BrokerError as exc:
            if getattr(exc, "venue_status", None) not in (404, 422):  # 422: already filled, canceled or expired
                raise
        self._adopt(self._rest.get(broker_id))
        with self._lock:
            self._lock.wait_for(lambda: not self._is_open(client_order_id),
                                min(self._close_wait_secs, remaining_secs()))
            current = self._book.get(client_order_id)
        assert current is not None
        return current

    def lookup(self, client_order_id: str, counted: Order | None = None) -> Order | None:
        """Alpaca's current report of the order with our id `client_order_id` (GET by client id,
        within `op_deadline_secs`; BrokerError if Alpaca does not answer), None if Alpaca has none
        and this broker never held it. An order held already is refreshed (what it filled
        meanwhile is booked) and `counted` is ignored: the book knows what it booked. An order
        not held is adopted: tracked from then on (trade updates, fills, cancel by our id), with
        `counted.filled_quantity` shares at `counted.avg_fill_price` taken as booked already, so
        only the shares beyond them come out of `drain_fills()`, once; its request is
        `counted.request` if given, else read from Alpaca (strategy "")."""
        with operation_budget(self._op_secs):
            found = self._rest.find(client_order_id)
            with self._lock:
                held = self._book.get(client_order_id)
            if found is None:
                return held
            raw, venue = found
            adopted = False
            if held is None:
                request = counted.request if counted is not None else parse_request(raw)
                with self._lock:
                    if client_order_id not in self._book:  # else another lookup raced us: it is held now
                        self._book.adopt(Order(request, OrderStatus.SUBMITTED),
                                         counted.filled_quantity if counted is not None else 0,
                                         counted.avg_fill_price if counted is not None else None)
                        adopted = True
                log.info("order_adopted", client_order_id=client_order_id, status=venue.venue_status,
                         filled=venue.filled_quantity, counted=counted.filled_quantity if counted is not None else 0)
            order = self._adopt(venue)
            if adopted and order.status.is_open:
                # a trade update that came between the GET and the adoption was not ours yet (so
                # ignored): read it again, now that every later update is applied (BrokerError
                # if that fails: a retried lookup finds it held and reads it again)
                order = self._adopt(self._rest.get(venue.broker_id))
            self._resolution.found(client_order_id, order)
            with self._lock:
                return self._book.get(client_order_id)

    def venue_open_orders(self) -> list[Order]:
        """Every order working at Alpaca now, all symbols, ours or not (GET /v2/orders?status=
        open, within `op_deadline_secs`; BrokerError if Alpaca does not answer). Read afresh and
        never taken into the book: an order the book holds has its request (and strategy), any
        other the request read from Alpaca (strategy "")."""
        with operation_budget(self._op_secs):
            found = self._rest.open_orders()
        out = []
        for raw in found:
            try:
                venue = parse_order(raw)
                with self._lock:
                    held = self._book.get(venue.client_order_id)
                request = held.request if held is not None else parse_request(raw)
            except ValueError as exc:  # never a partial view: reconciliation must know it has none
                raise BrokerError(f"an open order at Alpaca is unreadable ({exc})") from None
            out.append(Order(request, venue.status, venue.filled_quantity, venue.avg_fill_price, venue.filled_utc))
        return out

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """The orders still working (no request: but orders of unknown outcome are looked up
        first, at most once a second each, within a short budget)."""
        self._resolution.resolve_due()
        with self._lock:
            return self._book.open_orders(symbol)

    def positions(self) -> list[Position]:
        """Alpaca's positions (cached as the module says). A failed refresh returns the last
        reading only if no order event came since (else BrokerError): positions are compared
        with ours right after fills (reconciliation), and a reading from before them would be
        a false difference."""
        with operation_budget(self._op_secs):
            return self._readings.read("positions", lambda: sorted(
                (parse_position(p) for p in self._rest.client.get_all_positions()), key=lambda p: p.symbol),
                "GET /v2/positions", stale_after_events=False)

    def account(self) -> AccountSnapshot:
        with operation_budget(self._op_secs):
            return self._readings.read("account", lambda: parse_account(self._rest.client.get_account()),
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
            self._resolution.resolve_due()
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
                venue = self._rest.lookup(client_order_id) if broker_id is None else self._rest.get(broker_id)
            except BrokerError as exc:
                log.error("reconcile_failed", client_order_id=client_order_id, error=str(exc))
                complete = False
                continue
            if venue is not None:
                self._adopt(venue)
        return complete

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

            self._resolution.resolve_due()
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
            if self._book.apply_event(event) or event.execution is not None:  # another client's fill moves
                self._readings.moved()  # positions too: no reading taken before it is returned after it
                self._lock.notify_all()

    def _is_open(self, client_order_id: str) -> bool:
        order = self._book.get(client_order_id)
        return order is not None and order.status.is_open

    def _changed(self) -> None:
        """Cash or positions may have moved: cached readings are not returned again (under the lock)."""
        self._readings.moved()

    def _adopt(self, venue: VenueOrder) -> Order:
        """Take a REST report of one of our orders, booking what it filled that no update told."""
        with self._lock:
            order = self._book.reconcile(venue, self._clock.now())
            self._readings.moved()
            self._lock.notify_all()
        assert order is not None
        return order
