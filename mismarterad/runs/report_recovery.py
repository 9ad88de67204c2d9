"""At daemon start: clear half-written report folders and rebuild lost reports from the database.

A day-run marks its run `completed` and then writes `<state>/reports/<date>/` through a staging
folder beside it (`.<date>.XXXXXXXX`, and `.<date>.old` while the new folder is swapped in:
`runs/reports.py`). A process killed in between leaves the staging folder behind and no report
(or the previous day-run's report) in place. At the next start, with the state directory locked
(`daemon/state_lock.py`), so no other writer can be busy there:

1. every staging folder under the reports folder is removed;
2. for every trading day of the last `LOOKBACK_DAYS` whose latest live run of this session has
   no report folder (or one written by an earlier run of that day), the report is rebuilt from
   what the database holds of the day: the journal's orders and fills of the day (every
   day-run of it: a resumed day is journaled across its runs), or for a day from before the
   journal, the run's own rows. The latest run is a completed one, or one abandoned (its
   process killed) when the day's window has ended: no day-run will finish that day any more,
   and its report says so (`"status": "abandoned"`).

The equity curve and the data-quality rows are never stored, so a rebuilt report has
`trades.csv`, `orders.csv`, `summary.json` (equity figures null; its `performance` has the
realized P&L per strategy and symbol, no drawdown, exposure or buy and hold) and `run.json` with
`"rebuilt_from_database": true`, and no `equity.csv`, `validation.csv`, `equity.png` or
`report.html`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import structlog

from mismarterad.config.session_config import SessionConfig
from mismarterad.core.errors import CalendarError
from mismarterad.core.orders import OrderStatus
from mismarterad.core.risk import Refusal, RiskCheck
from mismarterad.core.run_result import RunResult
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.order_journal import SqlOrderJournal
from mismarterad.repositories.run_repository import RunRecord
from mismarterad.runs.app import App

# the report writer's own helpers, so a rebuilt file has exactly the format of a written one
from mismarterad.runs.report_table import performance_figures
from mismarterad.runs.reports import (
    probability_figures,
    remove_stale_staging,
    risk_figures,
    strategy_figures,
    write_rebuilt_report,
)
from mismarterad.runs.session_pipeline import DEFAULT_INITIAL_CASH
from mismarterad.services.order_ids import day_prefix
from mismarterad.services.session_plan import session_window
from mismarterad.services.trade_matching import match_trades

__all__ = ["LOOKBACK_DAYS", "REBUILT_FILES", "RecoveredReport", "recover_reports"]

log = structlog.get_logger(component="report_recovery")

LOOKBACK_DAYS = 10  # calendar days (daemon clock) of runs whose missing report is rebuilt
REBUILT_FILES = ("trades.csv", "orders.csv", "summary.json", "run.json")
MISSING_FILES = ("equity.csv", "validation.csv", "equity.png", "report.html")


@dataclass(frozen=True)
class RecoveredReport:
    day: date
    run_id: int
    path: Path
    reason: str


def recover_reports(app: App, time_manager: TimeManager, config: SessionConfig, reports_dir: Path,
                    lead: timedelta, lag: timedelta) -> list[RecoveredReport]:
    """Clear staging folders, then rebuild the missing reports of this session's recent
    completed live runs from the database; return the rebuilt ones."""
    remove_stale_staging(reports_dir)
    now = app.clock.now()
    latest: dict[date, RunRecord] = {}
    for run in app.run_repository.runs("live", config.session_name, now - timedelta(days=LOOKBACK_DAYS)):
        if run.status not in ("completed", "abandoned"):
            continue
        day = _run_day(time_manager, run.started_utc, lead, lag)
        if day is not None and (day not in latest or run.id > latest[day].id):
            latest[day] = run
    latest = {day: run for day, run in latest.items()
              if run.status == "completed" or _window_ended(time_manager, day, lead, lag, now)}
    rebuilt = []
    for day, run in sorted(latest.items()):
        folder = reports_dir / day.isoformat()
        reason = _missing_reason(folder, run.id)
        if reason is None:
            continue
        path = _rebuild(app, time_manager, config, run, day, folder, reason)
        log.warning("report_rebuilt", day=day.isoformat(), run_id=run.id, path=str(path), reason=reason,
                    note="rebuilt from the stored orders and fills: no equity curve or data quality")
        rebuilt.append(RecoveredReport(day, run.id, path, reason))
    return rebuilt


def _run_day(tm: TimeManager, started_utc: datetime, lead: timedelta, lag: timedelta) -> date | None:
    """The trading day a day-run was started for: the first whose window had not ended yet
    (a start may come before the window's start, by `mismarterctl start`, never after its end)."""
    local = started_utc.astimezone(tm.timezone).date()
    try:
        for day in tm.trading_days(local - timedelta(days=1), local + timedelta(days=1)):
            if session_window(tm.get_trading_session(day), lead, lag).stop_utc >= started_utc:
                return day
    except CalendarError as exc:
        log.warning("report_recovery_day_unknown", started_utc=started_utc.isoformat(), error=str(exc))
    return None


def _window_ended(tm: TimeManager, day: date, lead: timedelta, lag: timedelta, now: datetime) -> bool:
    return session_window(tm.get_trading_session(day), lead, lag).stop_utc <= now


def _missing_reason(folder: Path, run_id: int) -> str | None:
    """Why `folder` does not hold run `run_id`'s report, or None when it does (or a later run's)."""
    if not folder.exists():
        return "the report folder is missing"
    try:
        written = json.loads((folder / "run.json").read_text()).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None  # not the writer's folder as we know it: leave the operator's files alone
    if isinstance(written, int) and written < run_id:
        return f"the report folder holds an earlier run ({written})"
    return None


def _day_records(app: App, config: SessionConfig, run: RunRecord, day: date) -> tuple[tuple, tuple]:  # type: ignore[type-arg]
    """The day's orders (in the order they were made) and fills (as booked)."""
    prefix = day_prefix(day, config.session_name)
    accounts = app.order_repository.journal_accounts(prefix)
    if not accounts:
        return tuple(app.order_repository.orders(run.id)), tuple(app.order_repository.fills(run.id))
    orders, fills = [], []
    for account in accounts:
        journaled = SqlOrderJournal(app.db_sessions, account, run.id).day(prefix)
        orders.extend(journaled.orders)
        fills.extend(j.fill for j in journaled.fills)
    return tuple(sorted(orders, key=lambda o: (o.request.submitted_utc, o.client_order_id))), tuple(fills)


def _rebuild(app: App, tm: TimeManager, config: SessionConfig, run: RunRecord, day: date, folder: Path,
             reason: str) -> Path:
    orders, fills = _day_records(app, config, run, day)
    positions = [p for p in app.order_repository.positions(run.id) if p.quantity != 0]
    bt = config.backtest_config
    initial_cash = bt.initial_cash if bt else DEFAULT_INITIAL_CASH
    checks = {c.value for c in RiskCheck}
    refusals = tuple(  # the check is stored as the order's reason; its limit and value are not
        Refusal(o.request.submitted_utc, o.client_order_id, o.request.strategy, o.request.symbol,
                o.request.side.value, o.request.quantity, RiskCheck(o.reason), None, None, "")
        for o in orders if o.status is OrderStatus.REFUSED and o.reason in checks)
    result = RunResult(session_name=config.session_name, mode="live", first_day=day, last_day=day,
                       initial_cash=initial_cash, orders=orders, fills=fills, equity=(), quality=(),
                       bars_processed=0, sessions_run=(day,), sessions_skipped=(), refusals=refusals)
    trades = match_trades(list(fills))
    wins = sum(1 for t in trades if t.pnl > 0)
    summary = {
        "session_name": config.session_name,
        "mode": "live",
        "first_day": day.isoformat(),
        "last_day": day.isoformat(),
        "initial_equity": round(initial_cash, 6),
        "final_equity": None,  # the equity curve is not stored
        "total_return": None,
        "sharpe": None,
        "max_drawdown": None,
        "trades": len(trades),
        "win_rate": round(wins / len(trades), 10) if trades else None,
        **probability_figures([], trades),  # the interval of the win rate; no daily returns are stored
        "exposure": None,
        "bars_processed": None,
        "orders": len(orders),
        "fills": len(fills),
        "sessions": 1,
        "sessions_skipped": [],
        "strategies": strategy_figures(result, trades),
        "risk": risk_figures(result, tm.timezone),  # loss halts are not stored: listed in the live report only
        "realized_pnl": round(sum(t.pnl for t in trades), 6),
        "open_positions": {p.symbol: p.quantity for p in positions},
        "rebuilt_from_database": True,
        # the trade figures per strategy and symbol; no drawdown, exposure or buy and hold
        "performance": performance_figures(result, trades, None),
    }
    # no stored error text is copied (one could quote a database URL)
    run_info = {"run_id": run.id, "day": day.isoformat(), "status": run.status,
                "error": None if run.status == "completed" else "the day's last day-run was killed and its "
                "window ended before another could finish the day",
                "rebuilt_from_database": True, "rebuilt_reason": reason, "rebuilt_at_utc": app.clock.now(),
                "missing_files": list(MISSING_FILES), "elapsed_secs": None, "bars_processed": None}
    return write_rebuilt_report(folder, result, tm.timezone, summary, run_info)
