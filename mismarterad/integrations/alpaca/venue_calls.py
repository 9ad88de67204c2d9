"""The trading REST calls the Alpaca broker makes, each per the retry policy within the running
operation budget, with every failure translated into our errors at this one edge.

Secrets. No message built here carries an exception's text: a non-API failure is named by its
type and the operation/host, an API error by its status and Alpaca's `message`; and every
BrokerError message passes through `scrub` (the key id and secret replaced) on its way out.
The SDK's error is never chained either (its text may hold a header, an API error's its body).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest

from mismarterad.core.clock import Clock
from mismarterad.core.errors import BrokerError
from mismarterad.integrations.alpaca.credentials import AlpacaCredentials
from mismarterad.integrations.alpaca.endpoints import AlpacaEndpoints
from mismarterad.integrations.alpaca.parse import parse_order
from mismarterad.integrations.alpaca.rest import (
    AUTH_HINT,
    api_message,
    api_status,
    is_connection_failure,
    make_trading_client,
)
from mismarterad.integrations.op_budget import operation_deadline, remaining_secs
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError, scrub
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.venue_orders import VenueOrder

__all__ = ["OPEN_ORDERS_LIMIT", "TradingRest"]

log = structlog.get_logger(component="alpaca_broker")

T = TypeVar("T")
OPEN_ORDERS_LIMIT = 500  # Alpaca's largest page of GET /v2/orders


class TradingRest:
    """alpaca-py's TradingClient (`client`) behind the retry policy and our error types.
    `rest_ok` says whether the last call got an answer (the broker's `connected` reads it)."""

    def __init__(self, credentials: AlpacaCredentials, endpoints: AlpacaEndpoints, clock: Clock, *,
                 request_timeout_secs: float, retry: RetryPolicy, stop: threading.Event) -> None:
        self._credentials, self._endpoints, self._clock = credentials, endpoints, clock
        self.client: Any = make_trading_client(credentials, endpoints.trading_rest, request_timeout_secs)
        self.retry = retry
        self._stop = stop
        self.rest_ok = True

    def call(self, fn: Callable[[], T], what: str) -> T:
        """`fn()` per the retry policy; its failure translated (the SDK's error as the cause)."""
        try:
            result = self.retry.call(fn, self._clock, what=what, stop=self._stop, deadline=operation_deadline())
        except Exception as exc:  # noqa: BLE001 - translated at the edge
            self.rest_ok = not is_connection_failure(exc)
            error = self.translate(exc, what)
            raise error from None  # never chained: see the module docstring
        self.rest_ok = True
        return result

    def lookup(self, client_order_id: str) -> VenueOrder | None:
        """The order Alpaca has under `client_order_id`, None if it has none (404)."""
        found = self.find(client_order_id)
        return None if found is None else found[1]

    def find(self, client_order_id: str) -> tuple[Any, VenueOrder] | None:
        """alpaca-py's model of the order Alpaca has under `client_order_id` and its parse, None
        if Alpaca has none (404)."""
        def fetch() -> tuple[Any, VenueOrder]:
            raw = self.client.get_order_by_client_id(client_order_id)
            return raw, parse_order(raw)

        try:
            return self.call(fetch, "GET /v2/orders:by_client_order_id")
        except BrokerError as exc:
            if getattr(exc, "venue_status", None) == 404:
                return None
            raise

    def get(self, broker_id: str) -> VenueOrder:
        return self.call(lambda: parse_order(self.client.get_order_by_id(broker_id)), f"GET /v2/orders/{broker_id}")

    def open_orders(self) -> list[Any]:
        """Every order working at Alpaca now, all symbols, as alpaca-py's models."""
        found = self.call(lambda: self.client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN,
                                                                            limit=OPEN_ORDERS_LIMIT)),
                          "GET /v2/orders?status=open")
        if len(found) >= OPEN_ORDERS_LIMIT:
            log.warning("open_orders_page_full", limit=OPEN_ORDERS_LIMIT)  # older ones may be left out
        return list(found)

    def pause(self, attempt: int) -> bool:
        """Wait the policy's backoff (clock time); False if stopping or it would outlast the budget."""
        wait = timedelta(seconds=self.retry.backoff_secs(attempt))
        until = self._clock.now() + wait
        if self._clock.real_delay(until) > remaining_secs() - 0.1:
            return False
        return self._clock.sleep_until(until, self._stop)

    def scrub(self, message: str) -> str:
        return scrub(message, self._credentials.key_id, self._credentials.secret)

    def translate(self, exc: BaseException, what: str) -> BrokerError:
        """Our error for a failed call: never the exception's text (only its type's name), an
        API error's status and Alpaca's `message`; `venue_status` carries the HTTP status."""
        status = api_status(exc)
        host = self._endpoints.trading_host
        error: BrokerError
        if status in (401, 403):
            error = BrokerAuthError(self.scrub(f"Alpaca refused the API keys ({status}) on {what}: {AUTH_HINT}"))
        elif status is None and is_connection_failure(exc):
            error = BrokerUnavailableError(
                self.scrub(f"Alpaca at {host} did not answer {what} ({type(exc).__name__})"), host)
        elif status is not None and (status == 429 or status >= 500):
            error = BrokerUnavailableError(self.scrub(f"Alpaca at {host} kept failing {what} (HTTP {status})"), host)
        elif status is not None:
            error = BrokerError(self.scrub(f"Alpaca answered {what} with {status}: {api_message(exc)}"))
        else:
            error = BrokerError(self.scrub(f"{what} at {host} failed ({type(exc).__name__})"))
        error.venue_status = status  # type: ignore[attr-defined]
        return error
