"""alpaca-py's REST clients as the adapter needs them: a request timeout, and no retries of
their own (ours are in RetryPolicy, and an order POST is never resent blindly).

Budgets (integrations/op_budget.py): every request made inside an operation's budget times
out after min(its own timeout, what is left), and one started with nothing left fails at once
with requests.Timeout (a connection failure: the outcome of nothing is unknown, and nothing
was sent).

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
from mismarterad.integrations.op_budget import remaining_secs

__all__ = [
    "AUTH_HINT",
    "api_message",
    "api_status",
    "is_connection_failure",
    "make_data_client",
    "make_trading_client",
]

AUTH_HINT = f"check {KEY_ID_VAR} and {SECRET_VAR} (paper keys for the paper account, live keys for live)"


_MIN_REQUEST_SECS = 0.05  # less than this left: the request is not started


class _TimeoutSession(requests.Session):
    """A Session whose requests time out after `timeout_secs` (or what is left of the running
    operation budget, if less) unless the caller says otherwise."""

    def __init__(self, timeout_secs: float) -> None:
        super().__init__()
        self._timeout_secs = timeout_secs

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        left = remaining_secs()
        if left < _MIN_REQUEST_SECS:
            raise requests.Timeout("the operation's time budget is spent (request not sent)")
        kwargs.setdefault("timeout", min(self._timeout_secs, left))
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
    """Alpaca's `message` field of an error body, short; never the body itself (nor, for any
    other exception, its text: only its type's name), so nothing echoed can reach a message."""
    if not isinstance(exc, APIError):
        return type(exc).__name__
    try:
        body = json.loads(str(exc))
    except ValueError:
        return "(no message)"
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:200] if message is not None else "(no message)"


def is_connection_failure(exc: BaseException) -> bool:
    """The venue did not answer at all (refused, reset, timed out): the call's outcome is unknown."""
    return isinstance(exc, requests.ConnectionError | requests.Timeout | ConnectionError | TimeoutError)
