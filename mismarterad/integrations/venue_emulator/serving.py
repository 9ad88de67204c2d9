"""Run an emulator process: build the venue, serve it on one port, replay the market, stop on a signal.

aiohttp owns the process's main thread and its event loop (the one place of an emulator where
asyncio runs: a library's, inside its own process, as an adapter may); the market replay is a
plain thread. SIGTERM and SIGINT stop both cleanly. What differs between venues is given as a
`VenueServer`: its stream hub (where trade updates and bars go) and its aiohttp application.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog
from aiohttp import web

from mismarterad.core.bar_store import BarStore
from mismarterad.core.clock import Clock
from mismarterad.core.errors import ConfigError
from mismarterad.integrations.venue_emulator.account import Account
from mismarterad.integrations.venue_emulator.control_routes import RequestLog
from mismarterad.integrations.venue_emulator.exchange import Exchange, Publisher
from mismarterad.integrations.venue_emulator.faults import FaultBook
from mismarterad.integrations.venue_emulator.market import MarketReplay
from mismarterad.integrations.venue_emulator.sessions import Sessions
from mismarterad.integrations.venue_emulator.state_store import StateStore

__all__ = ["Hub", "ServeAt", "VenueServer", "serve_emulator"]

log = structlog.get_logger(component="emulator")


@dataclass(frozen=True, slots=True)
class ServeAt:
    host: str
    port: int  # 0: any free port
    data_dir: Path
    state_dir: Path


class Hub(Publisher, Protocol):
    """A venue's streams: publishes from any thread, sends from its task on the loop."""

    async def run_sender(self) -> None: ...

    async def close_all(self) -> None: ...


class VenueServer(Protocol):
    numeric_ids: bool  # the venue names orders with numbers (else UUIDs)

    def hub(self, loop: asyncio.AbstractEventLoop, faults: FaultBook) -> Hub: ...

    def app(self, exchange: Exchange, hub: Hub, requests: RequestLog) -> web.Application: ...


def serve_emulator(at: ServeAt, clock: Clock, store: BarStore, venue: VenueServer,
                   on_listening: Callable[[str], None]) -> int:
    """Serve the bars of `store` (the one in `at.data_dir`) until SIGTERM/SIGINT;
    `on_listening(base_url)` once the port is bound. Returns 0.

    Raises StorageError if the account cannot be read or written, ConfigError if the address
    cannot be bound.
    """
    state = StateStore(at.state_dir)
    account = state.load(numeric_ids=venue.numeric_ids)  # also proves the state directory writable
    return asyncio.run(_serve(at, clock, store, state, account, venue, on_listening))


async def _serve(at: ServeAt, clock: Clock, store: BarStore, state: StateStore, account: Account,
                 venue: VenueServer, on_listening: Callable[[str], None]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    faults = FaultBook()
    hub = venue.hub(loop, faults)
    exchange = Exchange(account, state, Sessions(), clock, store, faults, hub)
    runner = web.AppRunner(venue.app(exchange, hub, RequestLog()), handle_signals=False, access_log=None,
                           shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, at.host, at.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"--host/--port: cannot listen on {at.host}:{at.port}: {exc.strerror}") from None
    port = runner.addresses[0][1]
    sender = asyncio.create_task(hub.run_sender())
    market = MarketReplay(exchange, clock)
    market.start()
    base_url = f"http://{at.host}:{port}"
    log.info("emulator_listening", url=base_url, data_dir=str(at.data_dir), state_dir=str(at.state_dir))
    on_listening(base_url)
    await stop.wait()
    log.info("emulator_stopping")
    await loop.run_in_executor(None, market.stop)
    await hub.close_all()
    sender.cancel()
    await runner.cleanup()
    return 0
