"""Buy and hold: what the run's starting cash would have made by simply holding its symbols.

The definition, also in docs/decisions.md ("Report figures"): the initial cash is split equally
among the symbols; each share buys the symbol at its first price of the run (fractional shares,
no commission or slippage) and holds it to the run's last step, nights included. Its value at
each step is its shares at the step's price (its cash until it has a price). P&L, max drawdown
(in currency and as a fraction of the high) and exposure (the share of steps holding shares)
are defined as for the run's own rows (services/breakdown.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mismarterad.services.breakdown import max_drawdown_usd
from mismarterad.services.performance import drawdowns

__all__ = ["Benchmark", "Holding", "buy_and_hold"]


@dataclass(frozen=True, slots=True)
class Holding:
    symbol: str
    cash: float  # its share of the starting cash
    shares: float
    entry_price: float | None  # None: the run never had a price for it (the cash stayed cash)
    exit_price: float | None
    pnl: float
    max_drawdown_usd: float
    exposure: float


@dataclass(frozen=True, slots=True)
class Benchmark:
    holdings: tuple[Holding, ...]
    curve: tuple[float, ...]  # the benchmark account's value at the end of each step
    pnl: float
    max_drawdown_usd: float
    max_drawdown: float  # fraction of the high
    exposure: float


def buy_and_hold(initial_cash: float, closes: Mapping[str, Sequence[float | None]], steps: int) -> Benchmark:
    """The benchmark over `steps` steps; `closes[symbol][i]` is the symbol's price at step i's end
    (None: no price yet)."""
    symbols = sorted(closes)
    share = initial_cash / len(symbols) if symbols else initial_cash
    holdings, curves, first_held = [], [], steps
    for symbol in symbols:
        prices = [p if p is not None and p > 0 else None for p in closes[symbol][:steps]]
        prices += [None] * (steps - len(prices))
        bought = next((i for i, p in enumerate(prices) if p is not None), steps)  # steps: never
        entry = prices[bought] if bought < steps else None
        shares = share / entry if entry is not None else 0.0
        curve, last = [share] * bought, entry
        for price in prices[bought:]:
            last = last if price is None else price
            curve.append(shares * last)
        curves.append(curve)
        first_held = min(first_held, bought)
        holdings.append(Holding(symbol, share, shares, entry, last, (curve[-1] if curve else share) - share,
                                max_drawdown_usd(share, curve), (steps - bought) / steps if steps else 0.0))
    total = [sum(values) for values in zip(*curves, strict=True)] if curves else [initial_cash] * steps
    return Benchmark(
        holdings=tuple(holdings),
        curve=tuple(total),
        pnl=(total[-1] if total else initial_cash) - initial_cash,
        max_drawdown_usd=max_drawdown_usd(initial_cash, total),
        max_drawdown=max(drawdowns([initial_cash, *total]), default=0.0),
        exposure=(steps - first_held) / steps if steps else 0.0,
    )
