"""An emulator of Alpaca's trading and market-data APIs, for offline rehearsals and adapter tests.

The real alpaca-py clients point at it with `url_override`; `docs/emulator.md` lists every way it
differs from Alpaca.
"""

from mismarterad.integrations.alpaca_emulator.server import Keys
from mismarterad.integrations.alpaca_emulator.service import EmulatorConfig, run_emulator

__all__ = ["EmulatorConfig", "Keys", "run_emulator"]
