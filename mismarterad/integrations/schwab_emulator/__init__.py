"""An emulator of Schwab's trader and market-data APIs, its OAuth and its streamer, for offline
rehearsals and adapter tests.

The real schwab-py clients reach it through the adapter's transport (schwab-py's host is
hard-coded); `docs/emulator.md` lists every way it differs from Schwab. Its account, market and
faults are the shared `venue_emulator`'s, so its fills follow the Alpaca emulator's rules.
"""

from mismarterad.integrations.schwab_emulator.service import DEFAULT_ACCOUNT_NUMBER, run_emulator
from mismarterad.integrations.schwab_emulator.tokens import TokenIssuer

__all__ = ["DEFAULT_ACCOUNT_NUMBER", "TokenIssuer", "run_emulator"]
