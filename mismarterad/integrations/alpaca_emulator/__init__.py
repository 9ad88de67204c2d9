"""An emulator of Alpaca's trading and market-data APIs, for offline rehearsals and adapter tests.

The real alpaca-py clients point at it with `url_override`; `docs/emulator.md` lists every way it
differs from Alpaca. Its account, market and faults are the shared `venue_emulator`'s.
"""

from mismarterad.integrations.alpaca_emulator.server import Keys
from mismarterad.integrations.alpaca_emulator.service import run_emulator

__all__ = ["Keys", "run_emulator"]
