"""The live bar feed boundary: bars pushed to a consumer as the market (or the clock) makes them.

The broker adapters bring venue feeds; `integrations/store_replay_feed.py` is the in-memory twin
that replays the store against a Clock. DataManager starts and stops subscriptions by id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mismarterad.core.market_data import Bar

__all__ = ["BarFeed", "FeedSubscription"]


class FeedSubscription(Protocol):
    @property
    def active(self) -> bool: ...

    @property
    def error(self) -> str | None:
        """Why the subscription ended by itself (e.g. the consumer raised), or None."""
        ...

    def stop(self) -> None:
        """Stop delivering; returns once no more bars will be delivered."""
        ...


class BarFeed(Protocol):
    @property
    def name(self) -> str: ...

    def subscribe(self, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> FeedSubscription:
        """Deliver each new 1m bar of `symbols` to `on_bar`, in time order, from a feed thread:
        from the minute in progress at the call (delivered once it ends), each bar once."""
        ...
