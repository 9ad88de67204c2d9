"""alpaca-py's REST clients as the adapter needs them: a request timeout, and no retries of
their own (ours are in RetryPolicy, and an order POST is never resent blindly).

alpaca-py 0.44 has no timeout setting and retries 429/504 three times with a blocking
`time.sleep(3)`, which could resend an order. `RESTClient` keeps its `requests.Session` in
`_session` and its retry count in `_retry` (alpaca/common/rest.py): the session is replaced by
one that adds a default timeout to every request, and `_retry` is set to 0. The pin on
alpaca-py is exact, so these private names are checked by the unit tests.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.trading.client import TradingClient

from mismarterad.integrations.alpaca.credentials import KEY_ID_VAR, SECRET_VAR, AlpacaCredentials

__all__ = [
    "AUTH_HINT",
    "api_message",
    "api_status",
    "is_connection_failure",
    "make_data_client",
    "make_trading_client",
]

AUTH_HINT = f"check {KEY_ID_VAR} and {SECRET_VAR} (paper keys for the paper account, live keys for live)"


class _TimeoutSession(requests.Session):
    """A Session whose requests time out after `timeout_secs` unless the caller says otherwise."""

    def __init__(self, timeout_secs: float) -> None:
        super().__init__()
        self._timeout_secs = timeout_secs

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_secs)
        return super().request(method, url, *args, **kwargs)


def _configure(client: Any, timeout_secs: float) -> None:
    client._session.close()
    client._session = _TimeoutSession(timeout_secs)
    client._retry = 0


def make_trading_client(credentials: AlpacaCredentials, base_url: str, timeout_secs: float) -> TradingClient:
    client = TradingClient(credentials.key_id, credentials.secret, url_override=base_url)
    _configure(client, timeout_secs)
    return client


def make_data_client(credentials: AlpacaCredentials, base_url: str, timeout_secs: float) -> StockHistoricalDataClient:
    client = StockHistoricalDataClient(credentials.key_id, credentials.secret, url_override=base_url)
    _configure(client, timeout_secs)
    return client


def api_status(exc: BaseException) -> int | None:
    """The HTTP status of an alpaca-py APIError, None for anything else."""
    return exc.status_code if isinstance(exc, APIError) else None


def api_message(exc: BaseException) -> str:
    """Alpaca's `message` of an error body (the body itself if it is not Alpaca's JSON), short."""
    if not isinstance(exc, APIError):
        return type(exc).__name__
    text = str(exc)
    try:
        body = json.loads(text)
    except ValueError:
        return text[:200]
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:200] if message is not None else text[:200]


def is_connection_failure(exc: BaseException) -> bool:
    """The venue did not answer at all (refused, reset, timed out): the call's outcome is unknown."""
    return isinstance(exc, requests.ConnectionError | requests.Timeout | ConnectionError | TimeoutError)
