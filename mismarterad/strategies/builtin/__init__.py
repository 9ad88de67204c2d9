"""Strategies shipped with mismarterad, registered by name."""

from mismarterad.strategies.builtin.opening_range_breakout import OpeningRangeBreakout
from mismarterad.strategies.builtin.sma_cross import SmaCross

__all__ = ["OpeningRangeBreakout", "SmaCross"]
