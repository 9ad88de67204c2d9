"""A replayed day through the real daemon and the real Alpaca emulator (support/venue_day.py),
the daemon's keys in its environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from alpaca.trading.client import TradingClient
from support.alpaca_emulator import KEY_ID, SECRET, AlpacaEmulator, start_emulator
from support.venue_day import (  # noqa: F401 -- the Alpaca tests' and bench's names for the shared helpers
    VenueDay,
    backtest_trades,
    daemon_at,
    emulator_start,
    import_emulator_store,
    regular_session_bars,
)
from support.venue_day import venue_session_config as alpaca_session_config  # noqa: F401


@dataclass
class AlpacaDay(VenueDay):
    emulator: AlpacaEmulator

    def client(self) -> TradingClient:
        return TradingClient(self.emulator.key_id, self.emulator.secret, url_override=self.emulator.base_url)

    def posted_ids(self) -> list[str]:
        return [r["client_order_id"] for r in self.venue_requests() if r["method"] == "POST" and r["path"] == "/v2/orders"]


def start_alpaca_day(root: Path, emulator_data: Path, session_config: Path, *, day: str, start: time,
                     speed: float, secret: str = SECRET,
                     **daemon_config: Any) -> AlpacaDay:
    """The emulator on its replay clock (running early enough for the daemon to be up by `start`,
    New York, of `day`: venue_day.emulator_start), and the daemon (not started yet) on a clock
    anchored to the emulator's."""
    root.mkdir(parents=True, exist_ok=True)
    emulator = start_emulator(emulator_data, root / "emulator-state", clock_start=emulator_start(day, start, speed),
                              speed=speed)
    daemon = daemon_at(emulator, root, session_config, speed, "alpaca", {},
                       {"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": secret}, **daemon_config)
    return AlpacaDay(emulator, daemon, root / "daemon-data")
