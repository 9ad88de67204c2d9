"""Round-trip trades from fills, matched first in, first out per (strategy, symbol).

A fill that reduces a position closes the oldest open lots first; each (lot, closing fill)
pair is one trade row. Commissions are shared pro rata by quantity and taken off the P&L.
What no fill has closed yet stays as open lots (the P&L of the day marks them to a price).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mismarterad.core.orders import Fill

__all__ = ["Matched", "OpenLot", "Trade", "match_fills", "match_trades"]


@dataclass(frozen=True, slots=True)
class Trade:
    symbol: str
    direction: int  # +1 long, -1 short
    entry_utc: datetime
    entry_price: float
    exit_utc: datetime
    exit_price: float
    quantity: int
    pnl: float
    strategy: str = ""  # the strategy whose fills opened and closed it


@dataclass(frozen=True, slots=True)
class OpenLot:
    """Shares a fill opened that no later fill of the same strategy and symbol has closed."""

    strategy: str
    symbol: str
    direction: int  # +1 long, -1 short
    quantity: int
    price: float
    ts_utc: datetime
    commission_per_share: float  # the opening fill's commission, already paid


@dataclass(frozen=True, slots=True)
class Matched:
    trades: list[Trade]  # in the order they were closed
    open_lots: list[OpenLot]  # per (strategy, symbol) in first-fill order, oldest lot first


@dataclass(slots=True)
class _Lot:
    direction: int
    quantity: int
    price: float
    ts_utc: datetime
    commission_per_share: float


def match_fills(fills: Iterable[Fill]) -> Matched:
    """The closed trades and the lots still open after `fills`."""
    lots: dict[tuple[str, str], deque[_Lot]] = {}
    trades: list[Trade] = []
    for fill in fills:
        book = lots.setdefault((fill.strategy, fill.symbol), deque())
        direction = fill.side.sign
        remaining = fill.quantity
        fee = fill.commission / fill.quantity
        while remaining and book and book[0].direction != direction:
            lot = book[0]
            qty = min(lot.quantity, remaining)
            gross = (fill.price - lot.price) * qty * lot.direction
            pnl = gross - (lot.commission_per_share + fee) * qty
            trades.append(Trade(fill.symbol, lot.direction, lot.ts_utc, lot.price, fill.ts_utc, fill.price, qty, pnl,
                                fill.strategy))
            lot.quantity -= qty
            remaining -= qty
            if lot.quantity == 0:
                book.popleft()
        if remaining:
            book.append(_Lot(direction, remaining, fill.price, fill.ts_utc, fee))
    open_lots = [OpenLot(strategy, symbol, lot.direction, lot.quantity, lot.price, lot.ts_utc, lot.commission_per_share)
                 for (strategy, symbol), book in lots.items() for lot in book]
    return Matched(trades, open_lots)


def match_trades(fills: Iterable[Fill]) -> list[Trade]:
    """Closed trades in the order they were closed; open lots are not trades yet."""
    return match_fills(fills).trades
