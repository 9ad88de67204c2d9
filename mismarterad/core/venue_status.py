"""What the daemon's venue (the broker and its streams) says about its connections, as one value
that metrics, status and `mismarterctl` read."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STREAMS", "VenueStatus"]

STREAMS = ("data", "trading")  # the label values of mismarterad_stream_reconnects_total


@dataclass(frozen=True, slots=True)
class VenueStatus:
    """Counters are for the daemon's lifetime (every day-run added up); `connected` is now.

    The paper venue has no connection to lose: connected, and every counter zero."""

    broker: str = "paper"
    connected: bool = True
    data_reconnects: int = 0
    trading_reconnects: int = 0
    stalls: int = 0  # silent data streams forced to reconnect
    gaps_filled: int = 0  # missing minutes fetched over REST
    gaps_unfilled: int = 0  # missing minutes delivered around after the retries ran out
    token_age_secs: float | None = None  # wall-clock seconds since the OAuth login (Schwab); None: none

    def reconnects(self, stream: str) -> int:
        return self.data_reconnects if stream == "data" else self.trading_reconnects
