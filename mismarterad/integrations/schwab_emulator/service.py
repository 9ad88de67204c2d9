"""Run the Schwab emulator: Schwab's REST API, OAuth, streamer and the controls on one port
(`venue_emulator/serving.py` runs the process)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from mismarterad.core.bar_store import BarStore
from mismarterad.core.clock import Clock
from mismarterad.integrations.schwab.tokens import TokenFile
from mismarterad.integrations.schwab_emulator.server import build_app
from mismarterad.integrations.schwab_emulator.streamer import StreamerHub
from mismarterad.integrations.schwab_emulator.tokens import TokenIssuer
from mismarterad.integrations.schwab_emulator.wire import customer_id
from mismarterad.integrations.venue_emulator.control_routes import RequestLog
from mismarterad.integrations.venue_emulator.exchange import Exchange
from mismarterad.integrations.venue_emulator.faults import FaultBook
from mismarterad.integrations.venue_emulator.serving import Hub, ServeAt, serve_emulator

__all__ = ["DEFAULT_ACCOUNT_NUMBER", "SchwabServer", "run_emulator"]

DEFAULT_ACCOUNT_NUMBER = "12345678"


@dataclass(frozen=True)
class SchwabServer:
    """The Schwab side of an emulator process (a `VenueServer`); `clock` stamps streamed frames."""

    issuer: TokenIssuer
    account_number: str
    clock: Clock
    numeric_ids: bool = True

    def hub(self, loop: asyncio.AbstractEventLoop, faults: FaultBook) -> StreamerHub:
        return StreamerHub(loop, self.clock, self.issuer.access_ok, customer_id(self.account_number))

    def app(self, exchange: Exchange, hub: Hub, requests: RequestLog) -> web.Application:
        assert isinstance(hub, StreamerHub)
        return build_app(exchange, hub, self.issuer, self.account_number, requests)


def run_emulator(at: ServeAt, issuer: TokenIssuer, token_file: TokenFile, clock: Clock, store: BarStore,
                 on_listening: Callable[[str], None], account_number: str = DEFAULT_ACCOUNT_NUMBER) -> int:
    """Write a token file of a fresh login to `token_file` (mode 0600), then serve Schwab's API
    over the bars of `store` until SIGTERM/SIGINT (see serve_emulator)."""
    token_file.write(issuer.wrapped())
    return serve_emulator(at, clock, store, SchwabServer(issuer, account_number, clock), on_listening)
