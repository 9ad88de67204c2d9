"""How ExecutionManager takes a block of bars: the bars that can fill one by one, the rest in bulk.

Part of ExecutionManager (a mixin: its state is the manager's, set in its __init__). With a
simulated broker (core/bulk_marking.py) the engine shows `on_bar` only the bars of symbols with
an open order and hands over the other closes at once (`show_prices`); it values the account at
every step of the block from the broker's `holdings` and the closes, and records the points with
`record_marks`. It asks here which steps need the whole per-step treatment: those where an open
order can fill (`open_order_symbols`, re-read when `order_changes` moves), the first step at or
after a close rule's time (`next_rule_utc`), and every step while the daily loss limit watches
a held position (`watching_loss`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np

from mismarterad.core.bulk_marking import BulkMarking
from mismarterad.core.market_data import Bar

__all__ = ["BlockMixin", "Holdings"]

Holdings = tuple[float, tuple[tuple[str, int], ...], bool]  # cash, positions in valuation order, exposed


class BlockMixin:
    @property
    def marks_in_bulk(self) -> bool:
        """Whether bars without an open order may be shown as prices only, and steps valued here.
        Not with a journal (a daemon's day-run): a resumed day books the journal's fills, and
        tells the refusals of the minutes passed, at the steps they belong to, so every step is
        walked in full (live blocks are one minute long anyway)."""
        return self._journaling is None and isinstance(self._broker, BulkMarking)

    @property
    def order_changes(self) -> int:
        """Moves whenever an order is sent, canceled or filled (the open orders may have changed)."""
        return self._order_changes

    def open_order_symbols(self) -> frozenset[str]:
        with self._book:
            return frozenset(o.request.symbol for o in self._working())

    def show_prices(self, closes: Mapping[str, float]) -> None:
        """The last closes of bars shown in bulk: no order of their symbols could fill on them."""
        with self._book:
            self._prices.update(closes)
            self._broker.mark_prices(closes)

    def show_last_bars(self, bars: Mapping[str, Bar]) -> None:
        """Each symbol's latest bar of the session shown in bulk (the close fills at its close)."""
        with self._book:
            self._last_bar.update(bars)

    def holdings(self) -> Holdings:
        with self._book:
            cash, positions = self._broker.holdings()
            return cash, positions, self._holdings.exposed()

    def valuation_price(self, symbol: str) -> float | None:
        with self._book:
            return self._broker.valuation_price(symbol)

    def recorded_prices(self) -> dict[str, float]:
        """Every symbol's last price as steps record it (seeded from history where no bar came yet)."""
        with self._book:
            return dict(self._prices)

    def record_marks(self, ends_us: np.ndarray, cash: np.ndarray, positions_value: np.ndarray, equity: np.ndarray,
                     exposed: np.ndarray, prices: Mapping[str, np.ndarray]) -> None:
        """Record the points of a block's steps at once (what `mark` would have recorded at each)."""
        with self._book:
            self.record.extend(ends_us, cash, positions_value, equity, exposed, prices)

    def next_rule_utc(self) -> datetime | None:
        """The earliest instant at which `begin_step` still has a close rule to apply this session."""
        return self._risk.next_rule_utc()

    def watching_loss(self) -> bool:
        """Whether the daily loss limit can still be passed this session (a limit, not yet halted,
        a position held): then every step's equity is checked."""
        with self._book:
            return self._risk.loss_watch_armed() and any(q for _, q in self._broker.holdings()[1])
