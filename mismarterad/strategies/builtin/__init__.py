"""Strategies shipped with mismarterad, registered by name."""

from mismarterad.strategies.base import Strategy
from mismarterad.strategies.builtin.opening_range_breakout import OpeningRangeBreakout
from mismarterad.strategies.builtin.sma_cross import SmaCross

__all__ = ["BUILTIN_STRATEGIES", "OpeningRangeBreakout", "SmaCross"]

BUILTIN_STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in (SmaCross, OpeningRangeBreakout)}
