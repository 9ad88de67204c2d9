"""Where the Alpaca adapter connects: Alpaca's own hosts, or one local base URL (the emulator).

alpaca-py appends `/v2` to REST base URLs itself, so REST URLs here have no path; the streams
take full URLs (`/v2/{feed}` for market data, `/stream` for trade updates).

An `endpoint` is for emulators and proxies only: one on Alpaca's own hosts (`*.alpaca.markets`)
is refused, so `paper = true` can never be pointed at the live host (leave it unset: `paper`
picks the account). Plain `http://` is allowed only for loopback hosts (127.0.0.0/8, ::1,
localhost): the keys never cross a network in clear text.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from mismarterad.integrations.endpoint_urls import local_base_url

__all__ = ["AlpacaEndpoints"]

_TRADING_PAPER = "https://paper-api.alpaca.markets"
_TRADING_LIVE = "https://api.alpaca.markets"
_DATA = "https://data.alpaca.markets"
_DATA_STREAM = "wss://stream.data.alpaca.markets"


@dataclass(frozen=True, slots=True)
class AlpacaEndpoints:
    trading_rest: str
    data_rest: str
    data_stream: str
    trading_stream: str
    paper: bool = True  # the account `derive` was asked for (checked by AlpacaBroker.verify)

    @classmethod
    def derive(cls, endpoint: str | None, paper: bool, feed: str) -> AlpacaEndpoints:
        """Alpaca's hosts (paper or live trading), or every URL on `endpoint` (`http(s)://host[:port]`,
        e.g. the emulator's `http://127.0.0.1:8700`). ValueError names what is wrong with it."""
        if endpoint is None:
            trading = _TRADING_PAPER if paper else _TRADING_LIVE
            return cls(trading, _DATA, f"{_DATA_STREAM}/v2/{feed}", "wss" + trading.removeprefix("https") + "/stream",
                       paper)
        base = _base_url(endpoint)
        ws = ("wss" if base.startswith("https:") else "ws") + base[base.index(":"):]
        return cls(base, base, f"{ws}/v2/{feed}", f"{ws}/stream", paper)

    @property
    def trading_host(self) -> str:
        """host[:port] of the trading API, for messages."""
        return urlsplit(self.trading_rest).netloc

    @property
    def data_host(self) -> str:
        return urlsplit(self.data_rest).netloc


def _base_url(endpoint: str) -> str:
    return local_base_url(endpoint, "Alpaca", _is_alpaca_host, example="http://127.0.0.1:8700",
                          own_host_hint="leave endpoint unset for Alpaca's own hosts; paper = true/false picks the "
                                        "account", secret_name="the API keys")


def _is_alpaca_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "alpaca.markets" or host.endswith(".alpaca.markets")
