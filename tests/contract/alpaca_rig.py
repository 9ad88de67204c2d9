"""The Alpaca broker under the broker contract: an AlpacaBroker against a real emulator process
(venue_rig.py: the emulator is the market). The emulator's replay clock starts inside the
contract's session (2011-01-03, 09:30 New York) at real speed, so it takes orders as a regular
session would.

The venue's test controls the contract uses where a venue has them (a broker without them, the
paper broker, skips or simplifies those cases): `fault` arms one of the emulator's faults,
`place_elsewhere` places an order as another client of the account (alpaca-py's own
TradingClient), and `restarted` is a second AlpacaBroker on the same account, as a daemon
restarted mid-session would make.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest

from mismarterad.core.clock import ReplayClock
from mismarterad.core.orders import OrderRequest, OrderType, Side
from mismarterad.integrations.alpaca import AlpacaBroker, AlpacaCredentials, AlpacaEndpoints
from contract.venue_rig import VenueRig, start_rig
from support.alpaca_emulator import AlpacaEmulator, start_emulator, trading_client

SESSION_START = "2011-01-03T14:30:00+00:00"


class AlpacaRig(VenueRig):
    def __init__(self, emulator: AlpacaEmulator, root: Path | None) -> None:
        super().__init__(root)
        self.emulator = emulator
        clock = ReplayClock(datetime.fromisoformat(SESSION_START), speed=1.0)
        endpoints = AlpacaEndpoints.derive(emulator.base_url, paper=True, feed="iex")
        # generous waits: a loaded test machine may take a while to carry an update over the socket
        self.broker = AlpacaBroker(AlpacaCredentials(emulator.key_id, emulator.secret), endpoints, clock,
                                   fill_wait_secs=5.0, close_wait_secs=5.0, snapshot_ttl_secs=0.0)
        self.broker.verify()
        self.broker.start()

    def place_elsewhere(self, request: OrderRequest) -> str:
        """Place a limit order as another client of this account would (not through the broker)."""
        assert request.type is OrderType.LIMIT and request.limit_price is not None
        side = OrderSide.BUY if request.side is Side.BUY else OrderSide.SELL
        trading_client(self.emulator).submit_order(LimitOrderRequest(
            symbol=request.symbol, qty=request.quantity, side=side, time_in_force=TimeInForce.DAY,
            limit_price=request.limit_price, client_order_id=request.client_order_id))
        return request.client_order_id

    def restarted(self) -> AlpacaRig:
        """A second broker on this account (its own book, its own stream); closing it leaves the emulator."""
        return AlpacaRig(self.emulator, None)


def start_alpaca_rig() -> AlpacaRig:
    return start_rig("alpaca-contract-",
                     lambda root: start_emulator(root / "data", root / "state", clock_start=SESSION_START, speed=1.0),
                     AlpacaRig)
