"""AlpacaBroker: the Broker interface over Alpaca's trading REST API and its trade-updates stream.

State. Orders live in our own OrderBook, updated by REST answers and by trade updates (which
arrive on the stream's thread and are applied under the broker's lock), so `orders()` and
`open_orders()` cost no request. `account()` and `positions()` are read over REST and cached
for `snapshot_ttl_secs` of real time; every fill, submission and cancel invalidates the cache,
so the reading after a fill is always fresh. A failed refresh returns the last value read (and
`connected` turns false) rather than stopping the engine.

Money safety. alpaca-py's own retries are off (see rest.py). An order POST whose outcome is
unknown (timeout, connection reset, 5xx) is never resent blindly: the order is looked up by its
client_order_id; found, that is the order; a 404 means it was not made, and it is sent once
more (the same client_order_id: Alpaca refuses a second order with it, so even a race cannot
double it). A 429 was not made either: it is sent again after the policy's backoff. Reads and
lookups are retried per the RetryPolicy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

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
)
from mismarterad.integrations.alpaca.streams import StreamRunner, StreamWatch, WatchedTradingStream
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError
from mismarterad.integrations.retry_policy import RetryPolicy

__all__ = ["AlpacaBroker"]

log = structlog.get_logger(component="alpaca_broker")

T = TypeVar("T")
_START_WAIT_SECS = 5.0


class AlpacaBroker:
    """An Alpaca account (paper or live, or the emulator) behind the Broker interface."""

    def __init__(self, credentials: AlpacaCredentials, endpoints: AlpacaEndpoints, clock: Clock, *,
                 request_timeout_secs: float = 4.0, retry: RetryPolicy | None = None,
                 fill_wait_secs: float = 0.2, close_wait_secs: float = 5.0, snapshot_ttl_secs: float = 1.0) -> None:
        self._credentials, self._endpoints, self._clock = credentials, endpoints, clock
        self._client = make_trading_client(credentials, endpoints.trading_rest, request_timeout_secs)
        self._retry = retry or RetryPolicy()
        self._fill_wait_secs, self._close_wait_secs = fill_wait_secs, close_wait_secs
        self._ttl_secs = snapshot_ttl_secs
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
        refused, BrokerUnavailableError if Alpaca does not answer."""
        self._snapshot("account", lambda: parse_account(self._client.get_account()), "GET /v2/account",
                       stale_ok=False)

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
            raise BrokerAuthError(f"Alpaca's trade-updates stream refused the API keys: {AUTH_HINT}")
        host = self._endpoints.trading_host
        raise BrokerUnavailableError(f"Alpaca's trade-updates stream at {host} did not authorize within "
                                     f"{_START_WAIT_SECS:g} s", host)

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
        return self._send(request)

    def _send(self, request: OrderRequest) -> Order:
        cid = request.client_order_id
        body = to_alpaca_request(request)
        resent = False
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._client.submit_order(body)
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                status = api_status(exc)
                if status == 429:  # refused before it was made: safe to send again
                    if attempt < self._retry.max_attempts and self._pause(attempt):
                        continue
                    return self._reject(cid, RejectCategory.OTHER, "Alpaca rate limit (429): the order was not made")
                if status is not None and status < 500:
                    return self._refused(request, exc, status, resent)
                self._rest_ok = not is_connection_failure(exc)
                log.warning("order_outcome_unknown", client_order_id=cid, error=type(exc).__name__, status=status)
                try:
                    found = self._lookup(cid)
                except Exception as lookup_exc:  # noqa: BLE001 - still unknown: the stream will tell
                    log.error("order_lookup_failed", client_order_id=cid, error=type(lookup_exc).__name__)
                    with self._lock:
                        order = self._book.get(cid)
                    assert order is not None
                    return order
                if found is not None:
                    return self._adopt(found)
                if resent:
                    return self._reject(cid, RejectCategory.OTHER, "Alpaca did not take the order (sent twice)")
                resent = True
                continue
            self._rest_ok = True
            return self._adopt(parse_order(answer))

    def _refused(self, request: OrderRequest, exc: BaseException, status: int, resent: bool) -> Order:
        cid = request.client_order_id
        message = api_message(exc)
        if is_duplicate_client_order_id(status, message):
            if resent:  # our first POST made it after all
                found = self._lookup(cid)
                if found is not None:
                    return self._adopt(found)
            with self._lock:
                self._book.forget(cid)
            raise ValueError(f"duplicate client_order_id {cid}: Alpaca already has an order with this id")
        if status == 401:
            self._reject(cid, RejectCategory.OTHER, "Alpaca refused the API keys")
            raise BrokerAuthError(f"Alpaca refused the API keys (401) on POST /v2/orders: {AUTH_HINT}")
        return self._reject(cid, reject_category(status, message), f"Alpaca {status}: {message}")

    def cancel(self, client_order_id: str) -> Order:
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
                with self._lock:
                    return self._book.cancel_unsent(client_order_id, "never reached Alpaca")
            self._adopt(found)
            broker_id = found.broker_id
        try:
            self._call(lambda: self._client.cancel_order_by_id(broker_id), f"DELETE /v2/orders/{broker_id}")
        except BrokerError as exc:
            if api_status(exc.__cause__ or exc) not in (404, 422):  # 422: already filled, canceled or expired
                raise
        venue = self._call(lambda: parse_order(self._client.get_order_by_id(broker_id)),
                           f"GET /v2/orders/{broker_id}")
        with self._lock:
            self._book.apply(venue)
            self._version += 1
            self._lock.wait_for(lambda: not self._is_open(client_order_id), self._close_wait_secs)
            current = self._book.get(client_order_id)
        assert current is not None
        return current

    def orders(self) -> list[Order]:
        with self._lock:
            return self._book.orders()

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self._lock:
            return self._book.open_orders(symbol)

    def positions(self) -> list[Position]:
        return self._snapshot("positions", lambda: sorted(
            (parse_position(p) for p in self._client.get_all_positions()), key=lambda p: p.symbol),
            "GET /v2/positions")

    def account(self) -> AccountSnapshot:
        return self._snapshot("account", lambda: parse_account(self._client.get_account()), "GET /v2/account")

    def drain_fills(self) -> list[Fill]:
        """Fills since the last call. After a reconnect of the trade-updates stream (whose
        missed updates Alpaca never replays) the open orders are first read over REST, and
        what filled meanwhile is booked (OrderBook.reconcile)."""
        reconnects = self._watch.reconnects
        if reconnects != self._reconciled_reconnects and self._watch.connected:
            self._reconcile_open_orders()
            self._reconciled_reconnects = reconnects
        with self._lock:
            return self._book.drain_fills()

    def _reconcile_open_orders(self) -> None:
        with self._lock:
            ids = [(o.client_order_id, self._book.broker_id(o.client_order_id)) for o in self._book.open_orders()]
        for client_order_id, broker_id in ids:
            try:
                venue = (self._lookup(client_order_id) if broker_id is None else
                         self._call(lambda b=broker_id: parse_order(self._client.get_order_by_id(b)),
                                    f"GET /v2/orders/{broker_id}"))
            except BrokerError as exc:
                log.error("reconcile_failed", client_order_id=client_order_id, error=str(exc))
                continue
            if venue is not None:
                with self._lock:
                    self._book.reconcile(venue, self._clock.now())
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
        """Cancel the day orders still open; market-on-close orders are the venue's to fill at
        the close: wait (at most `close_wait_secs`) for their fill updates."""
        for order in self.open_orders():
            if order.request.type is not OrderType.MARKET_ON_CLOSE:
                try:
                    self.cancel(order.client_order_id)
                except BrokerError as exc:
                    log.error("close_cancel_failed", client_order_id=order.client_order_id, error=str(exc))
        with self._lock:
            self._lock.wait_for(lambda: not self._book.open_orders(), self._close_wait_secs)
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
        with self._lock:
            order = self._book.apply(venue)
            self._lock.notify_all()
        assert order is not None
        return order

    def _reject(self, client_order_id: str, category: RejectCategory, reason: str) -> Order:
        with self._lock:
            return self._book.reject(client_order_id, category, reason)

    def _pause(self, attempt: int) -> bool:
        wait = timedelta(seconds=self._retry.backoff_secs(attempt))
        return self._clock.sleep_until(self._clock.now() + wait, self._stop)

    def _lookup(self, client_order_id: str) -> VenueOrder | None:
        """The order Alpaca has under `client_order_id`, None if it has none (404)."""
        try:
            return self._call(lambda: parse_order(self._client.get_order_by_client_id(client_order_id)),
                              "GET /v2/orders:by_client_order_id")
        except BrokerError as exc:
            if api_status(exc.__cause__ or exc) == 404:
                return None
            raise

    def _call(self, fn: Callable[[], T], what: str) -> T:
        """`fn()` per the retry policy; its failure translated (the SDK's error as the cause)."""
        try:
            result = self._retry.call(fn, self._clock, what=what, stop=self._stop)
        except Exception as exc:  # noqa: BLE001 - translated at the edge
            self._rest_ok = not is_connection_failure(exc)
            raise self._translate(exc, what) from exc
        self._rest_ok = True
        return result

    def _translate(self, exc: BaseException, what: str) -> BrokerError:
        status = api_status(exc)
        host = self._endpoints.trading_host
        if status in (401, 403):
            return BrokerAuthError(f"Alpaca refused the API keys ({status}) on {what}: {AUTH_HINT}")
        if status is None and is_connection_failure(exc):
            return BrokerUnavailableError(f"Alpaca at {host} did not answer {what} ({type(exc).__name__})", host)
        if status is not None and (status == 429 or status >= 500):
            return BrokerUnavailableError(f"Alpaca at {host} kept failing {what} (HTTP {status})", host)
        if status is not None:
            return BrokerError(f"Alpaca answered {what} with {status}: {api_message(exc)}")
        return BrokerError(f"{what} failed: {type(exc).__name__}: {exc}")

    def _snapshot(self, kind: str, fetch: Callable[[], T], what: str, *, stale_ok: bool = True) -> T:
        with self._lock:
            version = self._version
            cached = self._cache.get(kind)
        if cached is not None and cached[1] == version and cached[0] > time.monotonic():
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
