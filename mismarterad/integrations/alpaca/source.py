"""AlpacaSource: historical bars from Alpaca's market-data REST API (a MarketDataSource).

alpaca-py pages through `next_page_token` itself; prices are raw (not split-adjusted), like the
stream. Alpaca's `end` is inclusive, ours is not: bars are cut to [start, end) here. No error
message carries an exception's text (a header may hold the secret): a non-API failure is named
by its type and the host, an API error by its status and Alpaca's `message`, and every message
is scrubbed of the key id and secret.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.requests import StockBarsRequest

from mismarterad.core.clock import Clock, SystemClock
from mismarterad.core.errors import DataError
from mismarterad.core.market_data import Bar
from mismarterad.integrations.alpaca.credentials import AlpacaCredentials
from mismarterad.integrations.alpaca.endpoints import AlpacaEndpoints
from mismarterad.integrations.alpaca.parse import parse_bar, timeframe
from mismarterad.integrations.alpaca.rest import AUTH_HINT, api_message, api_status, is_connection_failure, \
    make_data_client
from mismarterad.integrations.op_budget import operation_deadline
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError, scrub
from mismarterad.integrations.retry_policy import RetryPolicy

__all__ = ["AlpacaSource"]


class AlpacaSource:
    def __init__(self, credentials: AlpacaCredentials, endpoints: AlpacaEndpoints, *, feed: str = "iex",
                 request_timeout_secs: float = 10.0, retry: RetryPolicy | None = None,
                 clock: Clock | None = None) -> None:
        self._client = make_data_client(credentials, endpoints.data_rest, request_timeout_secs)
        self._secrets = (credentials.key_id, credentials.secret)
        self._host = endpoints.data_host
        self._feed = DataFeed(feed)
        self._retry = retry or RetryPolicy()
        self._clock = clock or SystemClock()

    @property
    def name(self) -> str:
        return "alpaca"

    def fetch_bars(self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime, *,
                   stop: threading.Event | None = None) -> Sequence[Bar]:
        """Bars of `symbol` with start in [start_utc, end_utc), sorted; DataError for a request
        Alpaca refuses, BrokerAuthError / BrokerUnavailableError for keys and outages. A set
        `stop` abandons the retries at once."""
        try:
            frame = timeframe(interval)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        if end_utc <= start_utc:
            return []
        request = StockBarsRequest(symbol_or_symbols=symbol, timeframe=frame, start=start_utc, end=end_utc,
                                   adjustment=Adjustment.RAW, feed=self._feed)
        what = f"Alpaca bars {symbol} {interval} {start_utc.isoformat()}..{end_utc.isoformat()}"
        try:
            barset = self._retry.call(lambda: self._client.get_stock_bars(request), self._clock, what=what,
                                      stop=stop, deadline=operation_deadline())
        except Exception as exc:  # noqa: BLE001 - translated at the edge
            error = self._translate(exc, what)
            # never chained: another exception's text may hold a header, an API error's its body
            raise error from None
        bars = (parse_bar(b, interval) for b in barset.data.get(symbol, []))
        return sorted((b for b in bars if start_utc <= b.start_utc < end_utc), key=lambda b: b.start_utc)

    def _translate(self, exc: BaseException, what: str) -> Exception:
        status = api_status(exc)
        message = api_message(exc)
        error: Exception
        if status == 401 or (status == 403 and "subscription" not in message.lower()):
            error = BrokerAuthError(self._scrub(f"{what}: Alpaca refused the API keys ({status}): {AUTH_HINT}"))
        elif status is None and is_connection_failure(exc):
            error = BrokerUnavailableError(
                self._scrub(f"{what}: Alpaca at {self._host} did not answer ({type(exc).__name__})"), self._host)
        elif status is not None and (status == 429 or status >= 500):
            error = BrokerUnavailableError(self._scrub(f"{what}: Alpaca at {self._host} kept failing (HTTP {status})"),
                                           self._host)
        elif status is not None:
            error = DataError(self._scrub(f"{what}: Alpaca answered {status}: {message}"))
        else:
            error = DataError(self._scrub(f"{what}: the request to {self._host} failed ({type(exc).__name__})"))
        return error

    def _scrub(self, message: str) -> str:
        return scrub(message, *self._secrets)
