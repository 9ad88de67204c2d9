"""The built-in sma_cross plus real-time indicators it does not trade on, so the benchmark
exercises the DataProcessor's indicator path (RSI on 1m, EMA on the derived 5m) as well."""

from mismarterad.strategies.base import IndicatorRequest
from mismarterad.strategies.builtin.sma_cross import SmaCross


class SmaCrossWithIndicators(SmaCross):
    def indicator_requests(self) -> list[IndicatorRequest]:
        return [IndicatorRequest(kind="rsi", interval="1m", period=14),
                IndicatorRequest(kind="ema", interval="5m", period=20)]
