"""Counting day trades for the pattern-day-trader rule.

A day trade is an order that shrinks the account's net position in a symbol on a day on which
that symbol's position was opened or increased earlier the same day. It is counted once per
order, however many fills the order has. The account is one: the strategies' positions are
netted per symbol, as the broker (and FINRA) sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from mismarterad.core.orders import Fill

__all__ = ["DayTradeTally", "count_day_trades"]


@dataclass
class DayTradeTally:
    """Day trades per day, fed fill by fill in time order (the ExecutionManager's running count
    and `count_day_trades` share it)."""

    by_day: dict[date, int] = field(default_factory=dict)
    _net: dict[str, int] = field(default_factory=dict)
    _added: dict[date, set[str]] = field(default_factory=dict)  # symbols opened or increased, by day
    _counted: set[str] = field(default_factory=set)  # order ids already counted

    def add(self, fill: Fill, day: date) -> None:
        before = self._net.get(fill.symbol, 0)
        after = before + fill.side.sign * fill.quantity
        self._net[fill.symbol] = after
        shrank = abs(after) < abs(before) or (before and (before > 0) != (after > 0))
        if shrank and fill.symbol in self._added.get(day, ()) and fill.client_order_id not in self._counted:
            self._counted.add(fill.client_order_id)
            self.by_day[day] = self.by_day.get(day, 0) + 1
        # after the count: the part of a flip that opens the other side is opened by this fill
        if abs(after) > abs(before) or (before and after and (before > 0) != (after > 0)):
            self._added.setdefault(day, set()).add(fill.symbol)  # opened, increased, or flipped through zero

    def open_from(self, day: date) -> set[str]:
        """Symbols opened or increased on `day` and still held: each is a day trade to come."""
        return {symbol for symbol in self._added.get(day, ()) if self._net.get(symbol, 0)}

    def count(self, days: Iterable[date]) -> int:
        return sum(self.by_day.get(d, 0) for d in set(days))


def count_day_trades(fills: Iterable[Fill], day_of: Callable[[datetime], date]) -> dict[date, int]:
    """Day trades per trading day of `fills` (time order), `day_of` giving a fill's market date."""
    tally = DayTradeTally()
    for fill in fills:
        tally.add(fill, day_of(fill.ts_utc))
    return dict(tally.by_day)
