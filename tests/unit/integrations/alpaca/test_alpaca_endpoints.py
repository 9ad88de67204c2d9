"""Endpoint derivation: Alpaca's hosts, or everything on one local base URL."""

from __future__ import annotations

import pytest

from mismarterad.integrations.alpaca import AlpacaEndpoints


def test_a_local_endpoint_carries_rest_and_both_streams() -> None:
    e = AlpacaEndpoints.derive("http://127.0.0.1:8700", paper=True, feed="iex")
    assert e == AlpacaEndpoints("http://127.0.0.1:8700", "http://127.0.0.1:8700", "ws://127.0.0.1:8700/v2/iex",
                                "ws://127.0.0.1:8700/stream")


def test_https_becomes_wss_and_a_trailing_slash_is_dropped() -> None:
    e = AlpacaEndpoints.derive("https://emu.example:443/", paper=False, feed="sip")
    assert (e.trading_rest, e.data_stream, e.trading_stream) == (
        "https://emu.example:443", "wss://emu.example:443/v2/sip", "wss://emu.example:443/stream")


@pytest.mark.parametrize(("paper", "trading"), [(True, "paper-api.alpaca.markets"), (False, "api.alpaca.markets")])
def test_alpacas_hosts_by_account(paper: bool, trading: str) -> None:
    e = AlpacaEndpoints.derive(None, paper=paper, feed="iex")
    assert e.trading_rest == f"https://{trading}" and e.trading_stream == f"wss://{trading}/stream"
    assert e.data_rest == "https://data.alpaca.markets"
    assert e.data_stream == "wss://stream.data.alpaca.markets/v2/iex"


@pytest.mark.parametrize("bad", ["127.0.0.1:8700", "ftp://h", "http://h/v2", "http://h:99999", "http://",
                                 "http://u:p@h", "http://h?x=1"])
def test_anything_but_scheme_host_port_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="http"):
        AlpacaEndpoints.derive(bad, paper=True, feed="iex")


@pytest.mark.parametrize("own", ["https://api.alpaca.markets", "https://paper-api.alpaca.markets",
                                 "https://API.Alpaca.Markets.", "https://data.alpaca.markets:443"])
def test_an_endpoint_on_alpacas_own_hosts_is_refused(own: str) -> None:
    with pytest.raises(ValueError, match="leave endpoint unset"):
        AlpacaEndpoints.derive(own, paper=True, feed="iex")


@pytest.mark.parametrize("remote", ["http://emu.example:8700", "http://10.0.0.5:8700", "http://[fe80::1]:80"])
def test_clear_text_is_refused_off_loopback(remote: str) -> None:
    with pytest.raises(ValueError, match="clear text"):
        AlpacaEndpoints.derive(remote, paper=True, feed="iex")


@pytest.mark.parametrize("local", ["http://127.0.0.1:8700", "http://127.5.0.1:1", "http://localhost:8700",
                                   "http://[::1]:8700", "https://emu.example"])
def test_loopback_or_https_is_taken(local: str) -> None:
    assert AlpacaEndpoints.derive(local, paper=False, feed="iex").paper is False

