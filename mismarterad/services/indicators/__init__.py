"""Technical indicators: batch functions and O(1)-per-update incremental classes."""

from mismarterad.services.indicators.atr import Atr, atr
from mismarterad.services.indicators.bollinger import Bands, Bollinger, bollinger
from mismarterad.services.indicators.factory import make_indicator
from mismarterad.services.indicators.moving_averages import Ema, Sma, ema, sma
from mismarterad.services.indicators.rsi import Rsi, rsi
from mismarterad.services.indicators.trailing_average import trailing_average
from mismarterad.services.indicators.vwap import Vwap, vwap

__all__ = [
    "Atr", "Bands", "Bollinger", "Ema", "Rsi", "Sma", "Vwap", "atr", "bollinger", "ema", "make_indicator", "rsi",
    "sma", "trailing_average", "vwap",
]
