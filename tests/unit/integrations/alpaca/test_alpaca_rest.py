"""alpaca-py's REST clients as the adapter builds them: a request timeout and no SDK retries
(checks the private hooks the exact pin allows us to rely on)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from mismarterad.integrations.alpaca import AlpacaCredentials
from mismarterad.integrations.alpaca.rest import make_data_client, make_trading_client


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_trading_client_times_out_and_never_retries_by_itself(silent_server: str) -> None:
    client = make_trading_client(AlpacaCredentials("k", "s"), silent_server, timeout_secs=0.3)
    assert client._retry == 0
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        client.get_account()
    assert time.monotonic() - started < 2


def test_data_client_has_the_same_settings() -> None:
    client = make_data_client(AlpacaCredentials("k", "s"), "http://127.0.0.1:1", timeout_secs=0.3)
    assert client._retry == 0
    with pytest.raises(requests.ConnectionError):
        client._request("GET", "/stocks/bars")
