"""Run the Alpaca emulator: Alpaca's REST API, both streams and the controls on one port
(`venue_emulator/serving.py` runs the process)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from mismarterad.core.bar_store import BarStore
from mismarterad.core.clock import Clock
from mismarterad.integrations.alpaca_emulator.server import Keys, build_app
from mismarterad.integrations.alpaca_emulator.streams import StreamHub
from mismarterad.integrations.venue_emulator.control_routes import RequestLog
from mismarterad.integrations.venue_emulator.exchange import Exchange
from mismarterad.integrations.venue_emulator.faults import FaultBook
from mismarterad.integrations.venue_emulator.serving import Hub, ServeAt, serve_emulator

__all__ = ["AlpacaServer", "run_emulator"]


@dataclass(frozen=True)
class AlpacaServer:
    """The Alpaca side of an emulator process (a `VenueServer`)."""

    keys: Keys
    numeric_ids: bool = False

    def hub(self, loop: asyncio.AbstractEventLoop, faults: FaultBook) -> StreamHub:
        return StreamHub(loop, faults, self.keys.match)

    def app(self, exchange: Exchange, hub: Hub, requests: RequestLog) -> web.Application:
        assert isinstance(hub, StreamHub)
        return build_app(exchange, hub, self.keys, requests)


def run_emulator(at: ServeAt, keys: Keys, clock: Clock, store: BarStore, on_listening: Callable[[str], None]) -> int:
    """Serve Alpaca's API over the bars of `store` until SIGTERM/SIGINT (see serve_emulator)."""
    return serve_emulator(at, clock, store, AlpacaServer(keys), on_listening)
