"""Two strategies trade SPY at once on the bundled January 2011 data: each keeps its own book,
and each one's trades are exactly those of a run with that strategy alone."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from mismarterad.config.session_config import SessionConfig
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.errors import MismarteradError
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.runs.app import App
from mismarterad.runs.backtest_runner import run_backtest
from mismarterad.runs.reports import write_backtest_report
from support.step_watch import at_every_step

REPO = Path(__file__).resolve().parents[2]
SMA = {"name": "sma_cross", "symbols": ["SPY"], "params": {"fast": 10, "slow": 30, "quantity": 100, "interval": "1m"}}
ORB = {"name": "opening_range_breakout", "symbols": ["SPY"], "params": {"minutes": 15, "quantity": 70, "stop": 0.2}}
SMA_FAST = {"name": "sma_cross", "symbols": ["SPY"], "params": {"fast": 3, "slow": 8, "quantity": 40, "interval": "1m"}}


def config(strategies: list[dict[str, Any]]) -> SessionConfig:
    return SessionConfig.model_validate({
        "session_name": "two on SPY", "exchange_group": "US_EQUITY", "asset_class": "EQUITY", "mode": "backtest",
        "backtest_config": {"start_date": "2011-01-03", "end_date": "2011-01-14", "prefetch_days": 2,
                            "initial_cash": 1_000_000},
        "session_data_config": {"symbols": ["SPY"], "streams": ["bars_1m"],
                                "historical": {"data": [{"intervals": ["1m"], "trailing_days": 2}]}},
        "strategies": strategies,
    })


def _books_add_up(execution: ExecutionManager, step_end_utc: datetime) -> None:
    """Rebuild each strategy's position from the fills and their orders' strategies,
    independently of ExecutionManager's own books, and compare with its books and with the
    broker's net positions."""
    strategy_of = {o.client_order_id: o.request.strategy for o in execution.orders()}
    books: dict[tuple[str, str], int] = {}
    for f in execution.fills():
        key = (strategy_of[f.client_order_id], f.symbol)
        books[key] = books.get(key, 0) + f.side.sign * f.quantity
    books = {k: q for k, q in books.items() if q}
    assert books == execution.strategy_positions(), step_end_utc
    net: dict[str, int] = {}
    for (_, symbol), q in books.items():
        net[symbol] = net.get(symbol, 0) + q
    assert net == {p.symbol: p.quantity for p in execution.broker_positions()}, step_end_utc


def backtest(data_dir: Path, tmp_path: Path, name: str, strategies: list[dict[str, Any]]) -> tuple[Path, App, int]:
    app = App(settings=Settings(data_dir=data_dir, state_dir=tmp_path / name / "state"),
              clock=SimClock(datetime(1970, 1, 1, tzinfo=UTC)))
    with structlog.testing.capture_logs() as logs, at_every_step(_books_add_up) as checked:
        outcome = run_backtest(app, config(strategies), REPO)
    # every instant at which a fill changed the books was checked (the steps between only move prices)
    assert checked[0] >= len({f.ts_utc for f in outcome.result.fills}) > 0
    assert any(e.get("event") == "backtest_finished" for e in logs)  # the capture sees the run
    mismatches = [e for e in logs if e.get("event") == "position_mismatch"]
    assert mismatches == [], mismatches
    tz = app.time_manager().timezone
    return write_backtest_report(tmp_path / name / "report", outcome.result, tz, outcome.run_info), app, outcome.run_id


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_each_strategys_trades_equal_its_run_alone(data_dir: Path, tmp_path: Path) -> None:
    both, app, run_id = backtest(data_dir, tmp_path, "both", [SMA, ORB, SMA_FAST])
    trades = rows(both / "trades.csv")
    header = next(csv.reader((both / "trades.csv").open()))
    assert header == ["symbol", "entry_time", "entry_price", "exit_time", "exit_price", "quantity", "pnl", "strategy"]
    assert {t["strategy"] for t in trades} == {"sma_cross#0", "opening_range_breakout#1", "sma_cross#2"}
    orders = rows(both / "orders.csv")
    assert list(orders[0])[-2:] == ["strategy", "reason"] and all(o["strategy"] for o in orders)
    summary = json.loads((both / "summary.json").read_text())
    for position, (entry, name) in enumerate([(SMA, "sma_cross#0"), (ORB, "opening_range_breakout#1"),
                                              (SMA_FAST, "sma_cross#2")]):
        alone, _, _ = backtest(data_dir, tmp_path, f"alone{position}", [entry])
        alone_id = f"{entry['name']}#0"
        expected = [{**t, "strategy": ""} for t in rows(alone / "trades.csv")]
        own = [{**t, "strategy": ""} for t in trades if t["strategy"] == name]
        assert own == expected and len(own) > 3, name
        alone_summary = json.loads((alone / "summary.json").read_text())
        assert summary["strategies"][name] == alone_summary["strategies"][alone_id]
        # its row in the table: the same trades and P&L as its run alone (flat at every close)
        [row] = [r for r in summary["performance"]["rows"] if r["strategy"] == name]
        [alone_row] = alone_summary["performance"]["rows"]
        assert {k: row[k] for k in ("symbol", "trades", "win_rate", "pnl", "profit_factor")} == \
            {k: alone_row[k] for k in ("symbol", "trades", "win_rate", "pnl", "profit_factor")}
        assert row["pnl"] == summary["strategies"][name]["pnl"]
        assert alone_summary["strategies"][alone_id]["trades"] == alone_summary["trades"]
        assert alone_summary["strategies"][alone_id]["orders"] == alone_summary["orders"]
    assert summary["trades"] == len(trades) == sum(s["trades"] for s in summary["strategies"].values())
    # the rows add up to the account, marked at the prices the run kept for every step
    performance = summary["performance"]
    assert abs(sum(r["pnl"] for r in performance["rows"]) - performance["account"]["pnl"]) < 1e-6
    assert performance["account"]["pnl"] == round(summary["final_equity"] - summary["initial_equity"], 6)
    assert performance["account"]["exposure"] == summary["exposure"]
    assert max(r["exposure"] for r in performance["rows"]) <= summary["exposure"]
    assert performance["buy_and_hold"]["symbols"][0]["exposure"] == 1.0
    assert summary["orders"] == len(orders) == sum(s["orders"] for s in summary["strategies"].values())
    assert summary["fills"] == sum(s["fills"] for s in summary["strategies"].values())
    # the database tells the strategies apart too, and the books are closed after the flatten
    assert {f.strategy for f in app.order_repository.fills(run_id)} == set(summary["strategies"])
    assert app.order_repository.strategy_positions(run_id) == {}
    assert all(p.quantity == 0 for p in app.order_repository.positions(run_id))


OWN_ORDERS_ONLY = """
from mismarterad.strategies import Strategy

import sys
import types

# the Placer's ids, which the Canceller tries to cancel (each strategy entry loads the file anew,
# so the list lives in one shared module)
PLACED = sys.modules.setdefault("own_orders_shared", types.ModuleType("own_orders_shared")).__dict__.setdefault(
    "placed", [])


class Placer(Strategy):
    def on_session_start(self):
        self.placed = None

    def on_bar(self, symbol, interval, bar):
        if self.placed is None:
            self.placed = self.buy(symbol, 1, limit=1.0)
            PLACED.append(self.placed)  # buy() answers with the order id


class Canceller(Strategy):
    def on_bar(self, symbol, interval, bar):
        self.cancel(PLACED[0])  # the Placer's first order, made just before
"""


def test_a_strategy_cannot_cancel_another_strategys_order(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "own.py").write_text(OWN_ORDERS_ONLY)
    entries = [{"file": str(tmp_path / "own.py"), "class": name, "symbols": ["SPY"]} for name in ("Placer",
                                                                                                  "Canceller")]
    with pytest.raises(MismarteradError, match=r"Canceller#1 raised in on_bar.*cancel \S+-SPY-o0001, which is an order "
                                               r"of Placer#0"):
        backtest(data_dir, tmp_path, "cancel", entries)
