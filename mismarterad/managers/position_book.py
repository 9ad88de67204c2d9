"""PositionBook: each strategy's own shares per symbol, beside the broker's one net position.

The broker holds one net position per symbol; strategies trading the same symbol each see, sell
and are flattened on their own shares only. The book is fed the fills (stamped with their
order's strategy) and compared with the broker after each change: a difference is logged once
per distinct value and listed while it lasts. Kept by the ExecutionManager, under its lock.
"""

from __future__ import annotations

import structlog

from mismarterad.core.orders import Fill, Position
from mismarterad.core.read_model import PositionMismatch

__all__ = ["PositionBook"]

log = structlog.get_logger(component="execution_manager")


class PositionBook:
    def __init__(self) -> None:
        self._positions: dict[tuple[str, str], int] = {}  # (strategy, symbol) -> signed shares
        self._mismatch_seen: set[PositionMismatch] = set()  # logged once per distinct value
        self._net: dict[str, int] | None = None  # net() until the next change: every order's checks read it

    def apply(self, fill: Fill) -> None:
        key = (fill.strategy, fill.symbol)
        self._positions[key] = self._positions.get(key, 0) + fill.side.sign * fill.quantity
        self._net = None

    def adopt(self, owner: str, symbol: str, quantity: int) -> None:
        """Book shares no fill of this run explains (held at the broker when the run started)."""
        key = (owner, symbol)
        self._positions[key] = self._positions.get(key, 0) + quantity
        self._net = None

    def of(self, strategy_id: str, symbol: str) -> int:
        return self._positions.get((strategy_id, symbol), 0)

    def exposed(self) -> bool:
        return any(self._positions.values())

    def by_strategy(self) -> dict[tuple[str, str], int]:
        """Open positions per (strategy, symbol), sorted."""
        return {k: q for k, q in sorted(self._positions.items()) if q != 0}

    def net(self) -> dict[str, int]:
        """Net open positions per symbol (the strategies' sum), sorted (a copy: the caller's own)."""
        if self._net is None:
            net: dict[str, int] = {}
            for (_strategy, symbol), quantity in self._positions.items():
                net[symbol] = net.get(symbol, 0) + quantity
            self._net = {s: q for s, q in sorted(net.items()) if q != 0}
        return dict(self._net)

    def held_by_symbol(self) -> dict[str, list[tuple[str, int]]]:
        """Open positions grouped by symbol, symbols and strategies sorted."""
        held: dict[str, list[tuple[str, int]]] = {}
        for (strategy_id, symbol), quantity in sorted(self._positions.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if quantity:
                held.setdefault(symbol, []).append((strategy_id, quantity))
        return held

    def mismatches(self, broker_positions: list[Position]) -> list[PositionMismatch]:
        """The symbols where the strategies' sum differs from the broker; each new one logged."""
        broker = {p.symbol: p.quantity for p in broker_positions}
        ours_by_symbol = self.net()
        if broker == ours_by_symbol:  # the usual case, after every fill
            return []
        found = []
        for symbol in sorted(broker.keys() | ours_by_symbol.keys()):
            ours, theirs = ours_by_symbol.get(symbol, 0), broker.get(symbol, 0)
            if ours == theirs:
                continue
            mismatch = PositionMismatch(symbol, ours, theirs)
            found.append(mismatch)
            if mismatch not in self._mismatch_seen:
                self._mismatch_seen.add(mismatch)
                log.error("position_mismatch", symbol=symbol, strategies_total=ours, broker_quantity=theirs,
                          strategies={s: q for (s, sym), q in sorted(self._positions.items()) if sym == symbol and q})
        return found
