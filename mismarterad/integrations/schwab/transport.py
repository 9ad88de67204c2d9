"""Where the Schwab adapter connects, and the HTTP transport that takes it there.

schwab-py builds every URL as `https://api.schwabapi.com` + path (its token endpoint too) and
has no URL override. So the adapter hands schwab-py an HTTP session whose transport sends
requests for that host to the configured `endpoint` (an emulator; loopback `http://` or any
`https://`, never Schwab's own hosts: leave it unset for them). Production code never patches
the library: an unset endpoint leaves every URL as it is.

The transport also applies the running operation budget (integrations/op_budget.py): each
request times out after min(its own timeout, what is left), and one started with nothing left
fails at once with a timeout (nothing was sent).

authlib's OAuth2Client (the session schwab-py is given) is built on httpx2 where it is
installed (it is, for anthropic): the transport is an httpx2 transport, and its errors are
httpx2's.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2

from mismarterad.integrations.endpoint_urls import local_base_url
from mismarterad.integrations.op_budget import remaining_secs

__all__ = ["SCHWAB_HOST", "SchwabEndpoint", "VenueTransport"]

SCHWAB_HOST = "api.schwabapi.com"
_MIN_REQUEST_SECS = 0.05  # less than this left of the budget: the request is not started


@dataclass(frozen=True, slots=True)
class SchwabEndpoint:
    """Schwab's own host (`base` None), or one base URL every REST call goes to instead."""

    base: str | None = None

    @classmethod
    def derive(cls, endpoint: str | None) -> SchwabEndpoint:
        """ValueError naming what is wrong with `endpoint`."""
        if endpoint is None:
            return cls(None)
        return cls(local_base_url(endpoint, "Schwab", _is_schwab_host, example="http://127.0.0.1:8800",
                                  own_host_hint="leave endpoint unset for Schwab's own hosts",
                                  secret_name="the tokens"))

    @property
    def host(self) -> str:
        """host[:port] the REST calls reach, for messages."""
        return SCHWAB_HOST if self.base is None else urlsplit(self.base).netloc

    def shown(self, url: str) -> str:
        """`url` (one of Schwab's) as this endpoint serves it, for a person to open."""
        if self.base is None:
            return url
        parts = urlsplit(url)
        base = urlsplit(self.base)
        return parts._replace(scheme=base.scheme, netloc=base.netloc).geturl()


class VenueTransport(httpx2.BaseTransport):
    """Sends Schwab's host to the endpoint and applies the operation budget (see the module docstring)."""

    def __init__(self, endpoint: SchwabEndpoint) -> None:
        self._endpoint = endpoint
        self._inner = httpx2.HTTPTransport()
        base = urlsplit(endpoint.base) if endpoint.base is not None else None
        self._target = None if base is None else (base.scheme, base.hostname or "", base.port)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        left = remaining_secs()
        if left < _MIN_REQUEST_SECS:
            raise httpx2.TimeoutException("the operation's time budget is spent (request not sent)", request=request)
        timeouts = request.extensions.get("timeout")
        if isinstance(timeouts, dict) and left != float("inf"):
            request.extensions["timeout"] = {k: (left if v is None else min(v, left)) for k, v in timeouts.items()}
        if self._target is not None and request.url.host == SCHWAB_HOST:
            scheme, host, port = self._target
            request.url = request.url.copy_with(scheme=scheme, host=host, port=port)
            request.headers["Host"] = host if port is None else f"{host}:{port}"
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _is_schwab_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in ("schwab.com", "schwabapi.com") or host.endswith((".schwab.com", ".schwabapi.com"))
