"""The transport schwab-py's session runs on: Schwab's hard-coded host goes to the endpoint
(other hosts untouched), a request starts only inside the time budget and times out with it,
and an endpoint is loopback http or https, never Schwab's own hosts."""

from __future__ import annotations

import httpx2
import pytest

from mismarterad.integrations.op_budget import operation_budget
from mismarterad.integrations.schwab.transport import SchwabEndpoint, VenueTransport


def _seen(endpoint: SchwabEndpoint, url: str, timeout: float = 30.0) -> httpx2.Request:
    transport = VenueTransport(endpoint)
    got: list[httpx2.Request] = []
    transport._inner = httpx2.MockTransport(lambda request: got.append(request) or httpx2.Response(200))
    with httpx2.Client(transport=transport, timeout=timeout) as client:
        client.get(url)
    return got[0]


def test_schwab_s_host_goes_to_the_endpoint_and_others_are_untouched() -> None:
    emulator = SchwabEndpoint.derive("http://127.0.0.1:8800")
    request = _seen(emulator, "https://api.schwabapi.com/trader/v1/accounts?x=1")
    assert str(request.url) == "http://127.0.0.1:8800/trader/v1/accounts?x=1" and request.headers["Host"] == "127.0.0.1:8800"
    assert str(_seen(emulator, "https://example.org/a").url) == "https://example.org/a"
    assert str(_seen(SchwabEndpoint.derive(None), "https://api.schwabapi.com/v1/oauth/token").url) == \
        "https://api.schwabapi.com/v1/oauth/token"
    assert emulator.shown("https://api.schwabapi.com/v1/oauth/authorize?a=b") == \
        "http://127.0.0.1:8800/v1/oauth/authorize?a=b"


def test_requests_run_inside_the_operation_budget() -> None:
    endpoint = SchwabEndpoint.derive(None)
    with operation_budget(1.5):
        request = _seen(endpoint, "https://api.schwabapi.com/x")
    assert max(request.extensions["timeout"].values()) <= 1.5
    with operation_budget(0.0), pytest.raises(httpx2.TimeoutException, match="budget"):
        _seen(endpoint, "https://api.schwabapi.com/x")


@pytest.mark.parametrize(("endpoint", "expected"), [
    ("https://api.schwabapi.com", "leave endpoint unset"),
    ("https://streamer-api.schwab.com", "leave endpoint unset"),
    ("http://10.0.0.5:8800", "clear text"),
    ("http://127.0.0.1:8800/path", "no path"),
])
def test_an_endpoint_is_local_or_https_never_schwab_s_own(endpoint: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        SchwabEndpoint.derive(endpoint)
    assert SchwabEndpoint.derive("https://proxy.example:8443").host == "proxy.example:8443"
