"""Today's profit and loss as one record, for the REST API's `/pnl` and the console's chart.

A pure function of one `DaemonSnapshot`, like daemon/views.py. Realized P&L is that of the
round trips matched from the day-run's fills (as `trades` shows them, net of commissions);
unrealized is the broker's value of the open positions less their cost; equity is the
account's. `day_pnl` is shared with the metrics view, so `/pnl` and `mismarterad_*_pnl`
can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mismarterad.core.read_model import TradingSnapshot
from mismarterad.daemon.control import DaemonSnapshot
from mismarterad.services.trade_matching import match_trades

__all__ = ["DayPnl", "day_pnl", "pnl_view"]


@dataclass(frozen=True, slots=True)
class DayPnl:
    realized: float
    unrealized: float
    equity: float  # 0.0 before the broker reported an account
    cash: float
    commissions: float
    trades: int
    realized_by_strategy: tuple[tuple[str, float], ...]


def day_pnl(trading: TradingSnapshot) -> DayPnl:
    trades = match_trades(trading.fills)
    by_strategy: dict[str, float] = {}
    for t in trades:
        by_strategy[t.strategy] = by_strategy.get(t.strategy, 0.0) + t.pnl
    unrealized = equity = cash = 0.0
    if trading.account is not None:
        cost = sum(p.quantity * p.avg_price for p in trading.broker_positions)
        unrealized, equity, cash = trading.account.positions_value - cost, trading.account.equity, trading.account.cash
    return DayPnl(sum(t.pnl for t in trades), unrealized, equity, cash, sum(f.commission for f in trading.fills),
                  len(trades), tuple(sorted(by_strategy.items())))


def pnl_view(s: DaemonSnapshot) -> dict[str, Any]:
    """The running (or last) day-run's P&L; zeros and no date between day-runs."""
    pipeline = s.day_run.pipeline if s.day_run is not None else None
    pnl = day_pnl(pipeline.trading) if pipeline is not None else DayPnl(0.0, 0.0, 0.0, 0.0, 0.0, 0, ())
    return {"session_date": s.day_run.day.isoformat() if s.day_run is not None else None,
            "clock": s.clock_utc.astimezone(s.timezone).isoformat(), "timezone": s.timezone.key,
            "realized": round(pnl.realized, 6), "unrealized": round(pnl.unrealized, 6),
            "total": round(pnl.realized + pnl.unrealized, 6), "equity": round(pnl.equity, 6),
            "cash": round(pnl.cash, 6), "commissions": round(pnl.commissions, 6), "trades": pnl.trades,
            "by_strategy": [{"strategy": name, "realized": round(v, 6)} for name, v in pnl.realized_by_strategy]}
