"""Run the emulator: build the venue, serve it on one port, replay the market, stop on a signal.

aiohttp owns the process's main thread and its event loop (the one place of the emulator where
asyncio runs: a library's, inside its own process, as an adapter may); the market replay is a
plain thread. SIGTERM and SIGINT stop both cleanly.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web

from mismarterad.core.bar_store import BarStore
from mismarterad.core.clock import Clock
from mismarterad.core.errors import ConfigError
from mismarterad.integrations.alpaca_emulator.account import Account
from mismarterad.integrations.alpaca_emulator.exchange import Exchange
from mismarterad.integrations.alpaca_emulator.faults import FaultBook
from mismarterad.integrations.alpaca_emulator.market import MarketReplay
from mismarterad.integrations.alpaca_emulator.emulator_routes import RequestLog
from mismarterad.integrations.alpaca_emulator.server import Keys, build_app
from mismarterad.integrations.alpaca_emulator.sessions import Sessions
from mismarterad.integrations.alpaca_emulator.state_store import StateStore
from mismarterad.integrations.alpaca_emulator.streams import StreamHub

__all__ = ["EmulatorConfig", "run_emulator"]

log = structlog.get_logger(component="emulator")


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    host: str
    port: int  # 0: any free port
    keys: Keys
    data_dir: Path
    state_dir: Path


def run_emulator(config: EmulatorConfig, clock: Clock, store: BarStore, on_listening: Callable[[str], None]) -> int:
    """Serve the bars of `store` (the one in `config.data_dir`) until SIGTERM/SIGINT;
    `on_listening(base_url)` once the port is bound. Returns 0.

    Raises StorageError if the account cannot be read or written, ConfigError if the address
    cannot be bound.
    """
    state = StateStore(config.state_dir)
    account = state.load()  # also proves the state directory writable
    return asyncio.run(_serve(config, clock, store, state, account, on_listening))


async def _serve(config: EmulatorConfig, clock: Clock, store: BarStore, state: StateStore, account: Account,
                 on_listening: Callable[[str], None]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    faults = FaultBook()
    hub = StreamHub(loop, faults, config.keys.match)
    exchange = Exchange(account, state, Sessions(), clock, store, faults, hub)
    runner = web.AppRunner(build_app(exchange, hub, config.keys, RequestLog()), handle_signals=False,
                           access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"--host/--port: cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
    port = runner.addresses[0][1]
    sender = asyncio.create_task(hub.run_sender())
    market = MarketReplay(exchange, clock)
    market.start()
    base_url = f"http://{config.host}:{port}"
    log.info("emulator_listening", url=base_url, data_dir=str(config.data_dir), state_dir=str(config.state_dir))
    on_listening(base_url)
    await stop.wait()
    log.info("emulator_stopping")
    await loop.run_in_executor(None, market.stop)
    await hub.close_all()
    sender.cancel()
    await runner.cleanup()
    return 0
