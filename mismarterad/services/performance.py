"""Summary statistics of a run from its equity curve and trades.

Sharpe uses daily returns (equity at each session's last step), annualised with sqrt(252),
zero risk-free rate, sample standard deviation; it is None with fewer than two sessions or a
flat curve. Max drawdown is the largest peak-to-trough fall of the per-step equity, as a
fraction of the peak. Exposure is the share of steps with a position open.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from mismarterad.core.run_result import EquityPoint
from mismarterad.services.trade_matching import Trade

__all__ = ["Summary", "daily_returns", "drawdowns", "summarize"]


@dataclass(frozen=True, slots=True)
class Summary:
    initial_equity: float
    final_equity: float
    total_return: float | None  # None when the run started with no positive equity (nothing to return on)
    sharpe: float | None
    max_drawdown: float
    trades: int
    win_rate: float | None
    exposure: float
    bars_processed: int
    sessions: int
    sessions_skipped: int


def drawdowns(equity: Sequence[float]) -> list[float]:
    """Fall from the running peak at each point, as a fraction of that peak (0 at a new high)."""
    out, peak = [], -math.inf
    for value in equity:
        peak = max(peak, value)
        out.append(0.0 if peak <= 0 else (peak - value) / peak)
    return out


def daily_returns(initial_equity: float, session_end_equity: Sequence[float]) -> list[float]:
    """Each session's return on the equity it started from (the Sharpe ratio's and the
    probability engine's series); a session starting from zero equity has none."""
    daily = [initial_equity, *session_end_equity]
    return [b / a - 1 for a, b in zip(daily, daily[1:]) if a != 0]


def summarize(initial_equity: float, curve: Sequence[EquityPoint], session_days: Sequence[date],
              session_end_equity: Sequence[float], trades: Sequence[Trade], bars_processed: int,
              sessions_skipped: int) -> Summary:
    final = curve[-1].equity if curve else initial_equity
    returns = daily_returns(initial_equity, session_end_equity)
    sharpe = None
    if len(returns) >= 2 and statistics.stdev(returns) > 0:
        sharpe = statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(252)
    wins = sum(1 for t in trades if t.pnl > 0)
    return Summary(
        initial_equity=initial_equity,
        final_equity=final,
        total_return=final / initial_equity - 1 if initial_equity > 0 else None,
        sharpe=sharpe,
        max_drawdown=max(drawdowns([initial_equity, *(p.equity for p in curve)]), default=0.0),
        trades=len(trades),
        win_rate=wins / len(trades) if trades else None,
        exposure=sum(1 for p in curve if p.exposed) / len(curve) if curve else 0.0,
        bars_processed=bars_processed,
        sessions=len(session_days),
        sessions_skipped=sessions_skipped,
    )
