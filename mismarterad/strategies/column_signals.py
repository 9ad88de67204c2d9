"""A built-in strategy's vectorised signal path: the bars at which it may act, found over columns.

A strategy whose `on_bar` only updates running figures until a signal appears can say where the
signals are for a whole block of bars at once (`column_signals`) and act there only
(`on_signal`). The engine then calls `on_signal` at those bars, in the order it would have
called `on_bar`, and nothing at the others; the running figures are kept by `column_signals`
exactly as `on_bar` keeps them, so the two paths may follow each other within a session. The
decisions must be identical to `on_bar`'s: that is the built-in's burden (its reference tests
and the golden reports check it). User strategies keep `on_bar`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from mismarterad.core.market_data import Bar

__all__ = ["ColumnSignals"]


@runtime_checkable
class ColumnSignals(Protocol):
    def column_signals(self, symbol: str, interval: str, closes: np.ndarray, last_bar: np.ndarray) -> np.ndarray | None:
        """Take the next bars of a subscribed series (their closes, and which is the session's last
        bar) as `on_bar` would, and return the positions among them at which to call `on_signal`,
        ascending; None: call `on_bar` for each of them instead."""
        ...

    def on_signal(self, symbol: str, interval: str, bar: Bar) -> None:
        """Act on the next position `column_signals` returned (its bar): what `on_bar` does there."""
        ...
