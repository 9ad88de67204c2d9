"""The Schwab broker under the broker contract: a SchwabBroker against a real emulator process.

As the Alpaca rig (alpaca_rig.py): `on_bar(bar)` first streams the bar from the emulator
(`POST /_emulator/bars`: orders match) and then calls `SchwabBroker.on_bar`, which reads the
orders the bar fills; `close_session` runs the emulator's session close first. The emulator's
replay clock starts inside the contract's session (2011-01-03, 09:30 New York) at real speed.

The venue's test controls: `fault` arms one of the emulator's faults, `place_elsewhere` places
an order as another client of the account (schwab-py's own Client: Schwab calls it
`schwab-<order id>`), and `restarted` is a second SchwabBroker on the same account and the same
order ledger, as a daemon restarted mid-session would make.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from schwab.utils import Utils

from mismarterad.core.clock import ReplayClock
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderRequest, OrderType
from mismarterad.integrations.schwab import SchwabConnection, SchwabSettings, TokenFile, connect
from mismarterad.integrations.schwab.broker import FOREIGN_PREFIX
from mismarterad.integrations.schwab.parse import to_schwab_order
from support.schwab_emulator import ACCOUNT_NUMBER, SchwabEmulator, start_schwab_emulator

SESSION_START = "2011-01-03T14:30:00+00:00"


class SchwabRig:
    """A Broker: the SchwabBroker's interface, with on_bar/close_session driving the emulator first."""

    def __init__(self, emulator: SchwabEmulator, ledger: Path, root: Path | None) -> None:
        """`root`: the emulator's directory, removed (and the emulator stopped) by `close`; None
        for a rig that shares another's emulator."""
        self.emulator, self._ledger, self._root = emulator, ledger, root
        clock = ReplayClock(datetime.fromisoformat(SESSION_START), speed=1.0)
        settings = SchwabSettings(ACCOUNT_NUMBER, TokenFile(emulator.token_file), ledger, emulator.endpoint)
        # generous waits: a loaded test machine may take a while to answer
        self.connection: SchwabConnection = connect(emulator.credentials, settings, clock, fill_wait_secs=5.0,
                                                    close_wait_secs=5.0, snapshot_ttl_secs=0.0)
        self.broker = self.connection.broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)

    def on_bar(self, bar: Bar) -> None:
        self.emulator.inject_bars([bar])
        self.broker.on_bar(bar)

    def close_session(self, last_bars: dict[str, Bar]) -> None:
        self.emulator.close_session(list(last_bars.values()))
        self.broker.close_session(last_bars)

    def fault(self, kind: str, **params: Any) -> bool:
        """Arm an emulator fault (venue_emulator/faults.py); True: this venue has faults."""
        self.emulator.fault(kind, **params)
        return True

    def place_elsewhere(self, request: OrderRequest) -> str:
        """Place a limit order as another client of this account would (not through the broker)."""
        assert request.type is OrderType.LIMIT and request.limit_price is not None
        session = self.emulator.session()
        try:
            account = self.emulator.account_hash()
            response = session.client.place_order(account, to_schwab_order(request))
            return f"{FOREIGN_PREFIX}{Utils(session.client, account).extract_order_id(response)}"
        finally:
            session.close()

    def restarted(self) -> SchwabRig:
        """A second broker on this account and ledger; closing it leaves the emulator."""
        return SchwabRig(self.emulator, self._ledger, None)

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            if self._root is not None:
                self.emulator.stop()
                shutil.rmtree(self._root, ignore_errors=True)


def start_schwab_rig() -> SchwabRig:
    root = Path(tempfile.mkdtemp(prefix="schwab-contract-"))
    emulator = start_schwab_emulator(root / "data", root / "state", clock_start=SESSION_START, speed=1.0)
    try:
        return SchwabRig(emulator, root / "schwab-orders.jsonl", root)
    except BaseException:
        emulator.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
