"""The report's table of figures: per strategy and symbol, the whole account, and buy and hold.

`performance_figures` computes it from a RunResult (services/breakdown.py and
services/benchmark.py hold the definitions) as summary.json's `performance` object;
`render_table` prints that object in at most 80 columns, so the terminal, the HTML report and
later tools all show the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mismarterad.core.run_result import RunResult
from mismarterad.services.benchmark import Benchmark, buy_and_hold
from mismarterad.services.breakdown import Figures, account_figures, strategy_symbol_rows
from mismarterad.services.curve_columns import curve_columns
from mismarterad.services.trade_matching import Trade

__all__ = ["WIDTH", "benchmark_of", "final_equity_shown", "performance_figures", "render_edge", "render_table",
           "table_cells"]

WIDTH = 80
HEADER = ("strategy", "symbol", "trades", "win%", "P&L", "PF", "max DD", "exposure")
MIN_NAME = 8  # a strategy id is cut (with "…") to no fewer characters than this
NO_CURVE = {"max_drawdown_usd": None, "exposure": None}


def benchmark_of(result: RunResult) -> Benchmark | None:
    """Buy and hold over the run's steps; None when the run kept no prices (a rebuilt report)."""
    if not result.closes:
        return None
    return buy_and_hold(result.initial_cash, {c.symbol: c.closes for c in result.closes}, len(result.equity))


def performance_figures(result: RunResult, trades: Sequence[Trade], benchmark: Benchmark | None) -> dict[str, Any]:
    """summary.json's `performance`: `rows` per (strategy, symbol), `account`, `buy_and_hold`."""
    ordered = {(o.request.strategy, o.request.symbol) for o in result.orders}
    columns = curve_columns(result.equity)
    rows = strategy_symbol_rows(result.matched_fills(), trades, columns.ts_us,
                                {c.symbol: c.closes for c in result.closes}, ordered)
    account = account_figures(result.initial_cash, columns.equity, columns.exposed, trades)
    out: dict[str, Any] = {
        "rows": [{"strategy": r.strategy, "symbol": r.symbol, **_figures(r.figures)} for r in rows],
        "account": {**_figures(account), "return": _return(account.pnl, result.initial_cash)},
        "buy_and_hold": None,
    }
    if not result.equity:  # a report rebuilt from the database: P&L realized, no curve figures
        for row, r in zip(out["rows"], rows, strict=True):
            row.update(pnl=_money(r.figures.gross_profit - r.figures.gross_loss), **NO_CURVE)
        out["account"].update(pnl=_money(account.gross_profit - account.gross_loss), **NO_CURVE, **{"return": None})
    if benchmark is not None:
        out["buy_and_hold"] = {
            "symbols": [{"symbol": h.symbol, "cash": _money(h.cash), "shares": _fraction(h.shares),
                         "entry_price": h.entry_price, "exit_price": h.exit_price, "pnl": _money(h.pnl),
                         "return": _fraction(h.pnl / h.cash) if h.cash else None,
                         "max_drawdown_usd": _money(h.max_drawdown_usd), "exposure": _fraction(h.exposure)}
                        for h in benchmark.holdings],
            "pnl": _money(benchmark.pnl),
            "return": _return(benchmark.pnl, result.initial_cash),
            "max_drawdown_usd": _money(benchmark.max_drawdown_usd),
            "max_drawdown": _fraction(benchmark.max_drawdown),
            "exposure": _fraction(benchmark.exposure),
        }
    return out


def _figures(f: Figures) -> dict[str, Any]:
    return {"trades": f.trades, "win_rate": None if f.win_rate is None else _fraction(f.win_rate),
            "pnl": _money(f.pnl), "gross_profit": _money(f.gross_profit), "gross_loss": _money(f.gross_loss),
            "profit_factor": None if f.profit_factor is None else _fraction(f.profit_factor),
            "max_drawdown_usd": _money(f.max_drawdown_usd), "exposure": _fraction(f.exposure)}


def _money(value: float) -> float:
    return round(value, 6)


def _fraction(value: float) -> float:
    return round(value, 10)


def _return(pnl: float, start: float) -> float | None:
    """P&L over the equity it started from; None from none (a kept paper account can open at 0 or less)."""
    return _fraction(pnl / start) if start > 0 else None


def final_equity_shown(initial_equity: float, final_equity: float, performance: Mapping[str, Any] | None) -> float:
    """The final equity as the table states it: the initial equity plus the account row's P&L
    to the cent (`final_equity` where the row has none), so a line above the table never
    rounds a half cent the other way (1,000,112.32 over a P&L of +112.33)."""
    pnl = (performance or {}).get("account", {}).get("pnl")
    return final_equity if pnl is None else initial_equity + round(pnl, 2)


def table_cells(performance: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The table's rows as text cells (header first): the strategy rows, the account, then buy
    and hold per symbol and, with more than one symbol, in all."""
    cells = [HEADER]
    cells += [_cells(r["strategy"], r["symbol"], r) for r in performance["rows"]]
    cells.append(_cells("account", "all", performance["account"]))
    bench = performance.get("buy_and_hold")
    if bench is not None:
        cells += [_cells("buy & hold", h["symbol"], h) for h in bench["symbols"]]
        if len(bench["symbols"]) > 1:
            cells.append(_cells("buy & hold", "all", bench))
    return cells


def _cells(name: str, symbol: str, f: Mapping[str, Any]) -> tuple[str, ...]:
    trades = f.get("trades")
    win = f.get("win_rate")
    return (name, symbol, "-" if trades is None else str(trades), "-" if win is None else f"{win:.1%}",
            "-" if f["pnl"] is None else f"{f['pnl']:+,.2f}", _profit_factor(f),
            "-" if f["max_drawdown_usd"] is None else f"{f['max_drawdown_usd']:,.2f}",
            "-" if f["exposure"] is None else f"{f['exposure']:.1%}")


def _profit_factor(f: Mapping[str, Any]) -> str:
    if f.get("profit_factor") is not None:
        return f"{f['profit_factor']:.2f}"
    return "inf" if f.get("gross_profit") and not f.get("gross_loss") else "-"


def render_table(performance: Mapping[str, Any], width: int = WIDTH) -> str:
    """The table as text lines of at most `width` columns (long strategy ids are cut)."""
    cells = table_cells(performance)
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
    spare = width - (sum(widths) + 2 * (len(widths) - 1))
    if spare < 0:
        widths[0] = max(MIN_NAME, widths[0] + spare)
    lines = []
    for row in cells:
        name = row[0] if len(row[0]) <= widths[0] else row[0][: widths[0] - 1] + "…"
        parts = [name.ljust(widths[0]), row[1].ljust(widths[1])]
        parts += [cell.rjust(w) for cell, w in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def render_edge(summary: Mapping[str, Any]) -> str:
    """The probability engine's line under the table (summary.json's figures): the chance the
    mean daily return is above zero, the deflated Sharpe ratio, the win rate's 95% interval."""

    def pct(key: str) -> str:
        value = summary.get(key)
        return "-" if value is None else f"{value:.1%}"

    interval = "-" if summary.get("win_rate_low") is None else f"{pct('win_rate_low')}-{pct('win_rate_high')}"
    return (f"P(mean day > 0) {pct('p_positive_edge')}, deflated Sharpe {pct('deflated_sharpe')}, "
            f"win rate 95% CI {interval}")
