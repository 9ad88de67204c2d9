"""What a simulated broker offers so that a block of bars can be shown to it in bulk.

A bar on which no order of its symbol is open changes nothing at a broker but the symbol's last
price. So the engine shows a simulated broker only the bars that can fill an order, one by one,
and the closes of the others at once (`mark_prices`); it values the account at every step from
the broker's cash and positions (`holdings`, in the order `account()` adds them up) and prices.
A real venue (which values the account itself) is shown every bar, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["BulkMarking"]


@runtime_checkable
class BulkMarking(Protocol):
    def mark_prices(self, closes: Mapping[str, float]) -> None:
        """Take these last closes of bars shown in bulk (no order of their symbols was open)."""
        ...

    def holdings(self) -> tuple[float, tuple[tuple[str, int], ...]]:
        """The cash and every position (symbol, signed shares; 0 once closed), in the order
        `account()` sums their values (it skips the zeros)."""
        ...

    def valuation_price(self, symbol: str) -> float | None:
        """The price `account()` values a share of `symbol` at now (None: none known)."""
        ...
