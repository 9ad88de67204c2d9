"""The Schwab broker under the broker contract: a SchwabBroker against a real emulator process
(venue_rig.py: the emulator is the market). The emulator's replay clock starts inside the
contract's session (2011-01-03, 09:30 New York) at real speed.

The venue's test controls: `fault` arms one of the emulator's faults, `place_elsewhere` places
an order as another client of the account (schwab-py's own Client: Schwab calls it
`schwab-<order id>`), and `restarted` is a second SchwabBroker on the same account and the same
order ledger, as a daemon restarted mid-session would make.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from schwab.utils import Utils

from mismarterad.core.clock import ReplayClock
from mismarterad.core.orders import OrderRequest, OrderType
from mismarterad.integrations.schwab import SchwabSettings, TokenFile, connect
from mismarterad.integrations.schwab.broker import FOREIGN_PREFIX
from mismarterad.integrations.schwab.parse import to_schwab_order
from contract.venue_rig import VenueRig, start_rig
from support.schwab_emulator import ACCOUNT_NUMBER, SchwabEmulator, start_schwab_emulator

SESSION_START = "2011-01-03T14:30:00+00:00"


class SchwabRig(VenueRig):
    def __init__(self, emulator: SchwabEmulator, root: Path, shared: bool = False) -> None:
        super().__init__(None if shared else root)
        self.emulator, self._ledger_root = emulator, root
        clock = ReplayClock(datetime.fromisoformat(SESSION_START), speed=1.0)
        settings = SchwabSettings(ACCOUNT_NUMBER, TokenFile(emulator.token_file), root / "schwab-orders.jsonl",
                                  emulator.endpoint)
        # generous waits: a loaded test machine may take a while to answer
        self.connection = connect(emulator.credentials, settings, clock, fill_wait_secs=5.0, close_wait_secs=5.0,
                                  snapshot_ttl_secs=0.0)
        self.broker = self.connection.broker

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
        return SchwabRig(self.emulator, self._ledger_root, shared=True)

    def close_broker(self) -> None:
        self.connection.close()


def start_schwab_rig() -> SchwabRig:
    return start_rig("schwab-contract-",
                     lambda root: start_schwab_emulator(root / "data", root / "state", clock_start=SESSION_START,
                                                        speed=1.0),
                     SchwabRig)
