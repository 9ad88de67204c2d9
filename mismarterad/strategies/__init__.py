"""Strategies: the public `Strategy` base class and the built-ins."""

from mismarterad.strategies.base import IndicatorRequest, Strategy

__all__ = ["IndicatorRequest", "Strategy"]
