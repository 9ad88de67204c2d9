"""The Alpaca broker under the broker contract: an AlpacaBroker against a real emulator process.

The contract drives a broker with synthetic bars. A live broker has no `on_bar` market of its
own, so the rig plays the market too: `on_bar(bar)` first streams the bar from the emulator
(`POST /_emulator/bars`: orders match, trade updates go out) and then calls
`AlpacaBroker.on_bar`, which waits for those fills; `close_session` runs the emulator's session
close (`POST /_emulator/close`) before `AlpacaBroker.close_session`. The emulator's replay
clock starts inside the contract's session (2011-01-03, 09:30 New York) at real speed, so it
takes orders as a regular session would.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from mismarterad.core.clock import ReplayClock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.alpaca import AlpacaBroker, AlpacaCredentials, AlpacaEndpoints
from support.alpaca_emulator import AlpacaEmulator, start_emulator

SESSION_START = "2011-01-03T14:30:00+00:00"


class AlpacaRig:
    """A Broker: the AlpacaBroker's interface, with on_bar/close_session driving the emulator first."""

    def __init__(self, emulator: AlpacaEmulator, root: Path) -> None:
        self.emulator, self._root = emulator, root
        clock = ReplayClock(datetime.fromisoformat(SESSION_START), speed=1.0)
        endpoints = AlpacaEndpoints.derive(emulator.base_url, paper=True, feed="iex")
        # generous waits: a loaded test machine may take a while to carry an update over the socket
        self.broker = AlpacaBroker(AlpacaCredentials(emulator.key_id, emulator.secret), endpoints, clock,
                                   fill_wait_secs=5.0, close_wait_secs=5.0, snapshot_ttl_secs=0.0)
        self.broker.verify()
        self.broker.start()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)

    def on_bar(self, bar: Bar) -> None:
        self.emulator.inject_bars([bar])
        self.broker.on_bar(bar)

    def close_session(self, last_bars: dict[str, Bar]) -> None:
        self.emulator.close_session(list(last_bars.values()))
        self.broker.close_session(last_bars)

    def close(self) -> None:
        try:
            self.broker.close()
        finally:
            self.emulator.stop()
            shutil.rmtree(self._root, ignore_errors=True)


def start_alpaca_rig() -> AlpacaRig:
    root = Path(tempfile.mkdtemp(prefix="alpaca-contract-"))
    emulator = start_emulator(root / "data", root / "state", clock_start=SESSION_START, speed=1.0)
    try:
        return AlpacaRig(emulator, root)
    except BaseException:
        emulator.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
