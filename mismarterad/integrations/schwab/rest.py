"""The Schwab REST calls of the adapter, each per the retry policy inside the running operation
budget, with every failure translated into our errors at this one edge.

schwab-py returns the raw response of every call; here a 429 or 5xx is retried (then
BrokerUnavailableError), a 401 makes the session refresh its access token once and the call
is made again (Schwab may end an access token early), a refused refresh token or a 403 is
BrokerAuthError saying to run `mismarterad auth schwab`, and any other status is a BrokerError
with Schwab's message and `venue_status`. An order POST never goes through `call`: it is sent
once (broker.py).

Secrets. No message built here carries an exception's text: a failure is named by its type and
the host, an HTTP error by its status and Schwab's `message`; every message is scrubbed of the
app key and secret and of the tokens, and no error is chained.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx2
import structlog
from authlib.common.errors import AuthlibBaseError

from mismarterad.core.clock import Clock
from mismarterad.core.errors import BrokerError, ConfigError
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError, scrub
from mismarterad.integrations.op_budget import operation_deadline
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.schwab.parse import reject_message
from mismarterad.integrations.schwab.session import SchwabSession
from mismarterad.integrations.schwab.tokens import AUTH_HINT

__all__ = ["SchwabHttpError", "SchwabRest", "is_connection_failure"]

log = structlog.get_logger(component="schwab_rest")


class SchwabHttpError(Exception):
    """A response with an error status (for the retry policy, which reads `status_code`)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code, self.message = status_code, message


def is_connection_failure(exc: BaseException) -> bool:
    """Schwab did not answer at all (refused, reset, timed out): the call's outcome is unknown."""
    return isinstance(exc, httpx2.TransportError | ConnectionError | TimeoutError)


def _transient(exc: BaseException) -> bool:
    if is_connection_failure(exc):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


class SchwabRest:
    """`session.client` (schwab-py) behind the retry policy and our errors; `rest_ok` says
    whether the last call got an answer (the broker's `connected` reads it)."""

    def __init__(self, session: SchwabSession, clock: Clock, *, retry: RetryPolicy | None = None,
                 stop: threading.Event | None = None) -> None:
        self.session, self.client = session, session.client
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._stop = stop or threading.Event()
        self.rest_ok = True

    @property
    def host(self) -> str:
        return self.session.endpoint.host

    def call(self, fn: Callable[[], httpx2.Response], what: str) -> httpx2.Response:
        """`fn()` (a schwab-py call) per the retry policy, its status checked: the response if
        2xx, else our error (see the module docstring)."""
        refreshed = False
        while True:
            try:
                response = self.retry.call(lambda: self._checked(fn), self._clock, what=what, stop=self._stop,
                                           transient=_transient, deadline=operation_deadline())
            except SchwabHttpError as exc:
                if exc.status_code == 401 and not refreshed:
                    refreshed = True
                    self.refresh(what)
                    continue
                self.rest_ok = True
                raise self.translate(exc, what) from None
            except Exception as exc:  # noqa: BLE001 - translated at the edge, never chained
                self.rest_ok = not is_connection_failure(exc)
                raise self.translate(exc, what) from None
            self.rest_ok = True
            return response

    def json(self, fn: Callable[[], httpx2.Response], what: str) -> Any:
        """The JSON body of `call(fn)`; BrokerError if it is not JSON."""
        response = self.call(fn, what)
        try:
            return response.json()
        except ValueError:
            raise BrokerError(f"Schwab answered {what} with a body that is not JSON") from None

    def refresh(self, what: str) -> None:
        """Refresh the access token now; BrokerAuthError if Schwab refuses the refresh token."""
        log.info("schwab_token_refresh", after=what)
        try:
            self.session.refresh()
        except Exception as exc:  # noqa: BLE001 - translated at the edge, never chained
            raise self.translate(exc, f"the token refresh after {what}") from None

    @staticmethod
    def checked(response: httpx2.Response) -> httpx2.Response:
        """`response` if 2xx, else SchwabHttpError with Schwab's message."""
        if response.status_code < 300:
            return response
        try:
            body = response.json()
        except ValueError:
            body = None
        raise SchwabHttpError(response.status_code, reject_message(body))

    def _checked(self, fn: Callable[[], httpx2.Response]) -> httpx2.Response:
        return self.checked(fn())

    def account_hash(self, account_number: str) -> str:
        """The hash Schwab addresses `account_number` by (`get_account_numbers`); ConfigError
        naming the accounts these credentials reach (their last 3 digits) if it is not one."""
        rows = self.json(self.client.get_account_numbers, "GET /trader/v1/accounts/accountNumbers")
        try:
            found = {str(r["accountNumber"]): str(r["hashValue"]) for r in rows}
        except (KeyError, TypeError):
            raise BrokerError("Schwab's account numbers answer is not a list of accountNumber/hashValue") from None
        if account_number in found:
            return found[account_number]
        reach = ", ".join(f"…{n[-3:]}" for n in sorted(found)) or "none"
        raise ConfigError(f"schwab.account_number: the account ending in …{account_number[-3:]} is not one these "
                          f"credentials reach (they reach: {reach})")

    def scrub(self, message: str) -> str:
        token = self.session.metadata.token or {}
        return scrub(message, *self.session.credentials.values,
                     *(str(token.get(k, "")) for k in ("access_token", "refresh_token", "id_token")))

    def translate(self, exc: BaseException, what: str) -> BrokerError:
        """Our error for a failed call: never the exception's text (see the module docstring);
        `venue_status` carries the HTTP status."""
        status = exc.status_code if isinstance(exc, SchwabHttpError) else None
        error: BrokerError
        if isinstance(exc, AuthlibBaseError):
            code = str(getattr(exc, "error", "") or "refused")[:40]
            error = BrokerAuthError(self.scrub(f"Schwab refused the refresh token ({code}) on {what}: {AUTH_HINT}"))
        elif status in (401, 403):
            error = BrokerAuthError(self.scrub(f"Schwab refused the access token ({status}) on {what}: {AUTH_HINT}"))
        elif status is None and is_connection_failure(exc):
            error = BrokerUnavailableError(self.scrub(f"Schwab at {self.host} did not answer {what} "
                                                      f"({type(exc).__name__})"), self.host)
        elif isinstance(exc, httpx2.HTTPStatusError):  # a refresh answered 5xx
            error = BrokerUnavailableError(self.scrub(f"Schwab at {self.host} failed {what} "
                                                      f"(HTTP {exc.response.status_code})"), self.host)
        elif isinstance(exc, SchwabHttpError) and (exc.status_code == 429 or exc.status_code >= 500):
            error = BrokerUnavailableError(self.scrub(f"Schwab at {self.host} kept failing {what} "
                                                      f"(HTTP {exc.status_code})"), self.host)
        elif isinstance(exc, SchwabHttpError):
            error = BrokerError(self.scrub(f"Schwab answered {what} with {exc.status_code}: {exc.message}"))
        else:
            error = BrokerError(self.scrub(f"{what} at {self.host} failed ({type(exc).__name__})"))
        error.venue_status = status  # type: ignore[attr-defined]
        return error
