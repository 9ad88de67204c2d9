"""A replayed day through the real daemon and the real Schwab emulator (support/venue_day.py):
the emulator writes the daemon's token file (its default place, the daemon's state directory),
the app's key and secret are in the daemon's environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from support.schwab_emulator import ACCOUNT_NUMBER, APP_KEY, APP_SECRET, SchwabEmulator, start_schwab_emulator
from support.venue_day import VenueDay, daemon_at, emulator_start

from mismarterad.integrations.schwab import LEDGER_FILE_NAME, TOKEN_FILE_NAME


@dataclass
class SchwabDay(VenueDay):
    emulator: SchwabEmulator

    def posted(self) -> list[dict[str, Any]]:
        """The order POSTs the emulator received: what each asked, the order id it became."""
        return [r for r in self.venue_requests() if r["method"] == "POST" and r["path"].endswith("/orders")]

    def ledger(self) -> dict[str, str]:
        """The daemon's order ledger read from outside: Schwab order id -> our client order id."""
        return ledger_bindings(self.daemon.root / "state" / LEDGER_FILE_NAME)


def ledger_bindings(path: Path) -> dict[str, str]:
    """Schwab order id -> client order id, from an order ledger file (a torn last line skipped)."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        try:
            bound = json.loads(line).get("bound")
        except ValueError:
            continue
        if bound:
            out[str(bound["order_id"])] = str(bound["client_order_id"])
    return out


def start_schwab_day(root: Path, emulator_data: Path, session_config: Path, *, day: str, start: time,
                     speed: float, app_secret: str = APP_SECRET,
                     **daemon_config: Any) -> SchwabDay:
    """The emulator on its replay clock (running early enough for the daemon to be up by `start`,
    New York, of `day`: venue_day.emulator_start), its token written where the daemon reads it,
    and the daemon (not started yet) on a clock anchored to the emulator's."""
    root.mkdir(parents=True, exist_ok=True)
    token_file = root / "daemon" / "state" / TOKEN_FILE_NAME
    emulator = start_schwab_emulator(emulator_data, root / "emulator-state", token_file,
                                     clock_start=emulator_start(day, start, speed), speed=speed)
    daemon = daemon_at(emulator, root, session_config, speed, "schwab",
                       {"account_number": ACCOUNT_NUMBER},
                       {"SCHWAB_APP_KEY": APP_KEY, "SCHWAB_APP_SECRET": app_secret}, **daemon_config)
    return SchwabDay(emulator, daemon, root / "daemon-data")
