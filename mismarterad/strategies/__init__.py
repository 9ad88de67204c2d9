"""Strategies: the public `Strategy` base class, its data requests and the built-ins."""

from mismarterad.strategies.base import EdgeEstimate, Strategy
from mismarterad.strategies.data_requests import IndicatorRequest, StrategyRequests, collect_requests
from mismarterad.strategies.strategy_log import StrategyLog

__all__ = ["EdgeEstimate", "IndicatorRequest", "Strategy", "StrategyLog", "StrategyRequests", "collect_requests"]
