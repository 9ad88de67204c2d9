"""The day's profit and loss per strategy: realized by its closed trades, unrealized on what it holds.

Realized is the sum of the strategy's round trips matched first in, first out
(`match_fills`, the same matching as the report's trades.csv), net of the commissions of the
shares they closed. Unrealized marks the shares it still holds at the latest price, against the
prices its open lots were bought or sold at, net of those lots' commissions (already paid), so
realized + unrealized is what the day's fills made or lost. Shares carried from an earlier day
or adopted from the broker come as opening lots at their average price ahead of the fills
(core/orders.Fill, `carried`), so their close is a trade like any; shares nothing explains are
marked against the broker's average price. No price yet for a held symbol: unrealized is
unknown (None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mismarterad.core.orders import Fill, Position
from mismarterad.core.read_model import StrategyPosition
from mismarterad.services.trade_matching import OpenLot, match_fills

__all__ = ["DayPnl", "StrategyPnl", "day_pnl"]


@dataclass(frozen=True, slots=True)
class StrategyPnl:
    strategy: str
    realized: float
    unrealized: float | None  # None: a held symbol has no price yet (or no known cost)
    fees: float  # the commissions of the strategy's fills today (both figures are net of them)
    trades: int  # round trips closed

    @property
    def total(self) -> float | None:
        return None if self.unrealized is None else self.realized + self.unrealized


@dataclass(frozen=True, slots=True)
class DayPnl:
    strategies: tuple[StrategyPnl, ...]
    total: StrategyPnl  # named "total": the sum of the rows


def day_pnl(fills: Sequence[Fill], held: Iterable[StrategyPosition], broker_positions: Iterable[Position],
            prices: Mapping[str, float], strategies: Sequence[str] = ()) -> DayPnl:
    """P&L per strategy: `strategies` first in their order (listed even when idle), then every
    other owner of a fill or a position (such as "(account)") by name."""
    matched = match_fills(fills)
    others = ({f.strategy for f in fills} | {p.strategy for p in held if p.quantity}) - set(strategies)
    owners = [*dict.fromkeys(strategies), *sorted(others)]
    lots: dict[tuple[str, str], list[OpenLot]] = {}
    for lot in matched.open_lots:
        lots.setdefault((lot.strategy, lot.symbol), []).append(lot)
    holdings = {(p.strategy, p.symbol): p.quantity for p in held if p.quantity}
    average = {p.symbol: p.avg_price for p in broker_positions}
    rows = []
    for owner in owners:
        closed = [t for t in matched.trades if t.strategy == owner]
        marks = [_unrealized(lots.get(key, []), quantity, prices.get(key[1]), average.get(key[1]))
                 for key, quantity in holdings.items() if key[0] == owner]
        unrealized = None if None in marks else sum(m for m in marks if m is not None)
        rows.append(StrategyPnl(owner, sum(t.pnl for t in closed), unrealized,
                                sum(f.commission for f in fills if f.strategy == owner), len(closed)))
    unknown = any(r.unrealized is None for r in rows)
    total = StrategyPnl("total", sum(r.realized for r in rows),
                        None if unknown else sum(r.unrealized or 0.0 for r in rows),
                        sum(r.fees for r in rows), sum(r.trades for r in rows))
    return DayPnl(tuple(rows), total)


def _unrealized(lots: list[OpenLot], quantity: int, price: float | None, broker_average: float | None) -> float | None:
    """The held `quantity` (signed) marked at `price`: its newest same-side lots give the cost
    (the oldest ones are what closing fills took first), the broker's average the rest."""
    if price is None:
        return None
    direction = 1 if quantity > 0 else -1
    left, value = abs(quantity), 0.0
    for lot in reversed(lots):
        if not left:
            break
        if lot.direction != direction:
            continue
        shares = min(lot.quantity, left)
        value += ((price - lot.price) * direction - lot.commission_per_share) * shares
        left -= shares
    if left:
        if broker_average is None:
            return None
        value += (price - broker_average) * direction * left
    return value
