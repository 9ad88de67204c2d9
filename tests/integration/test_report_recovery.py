"""A report lost to a kill during its write is rebuilt from a real SQLite database at daemon start."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mismarterad.config.session_config import load_session_config
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.runs.report_recovery import recover_reports
from mismarterad.runs.reports import remove_stale_staging
from mismarterad.runs.app import App
from mismarterad.runs.reports import write_failure_report

SESSION_CONFIG = Path(__file__).resolve().parents[2] / "session_configs" / "spy_2011_backtest.json"
OPEN = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)  # 09:30 New York
LEAD, LAG = timedelta(minutes=30), timedelta(minutes=5)


def _app(tmp_path: Path, now: datetime) -> App:
    return App(settings=Settings(state_dir=tmp_path / "state", data_dir=tmp_path / "data"), clock=SimClock(now),
               wall_clock=SimClock(now))


def _completed_run(app: App, session_name: str, started: datetime, quantity: int = 100) -> int:
    """A day-run as DayRun leaves it in the database: orders, fills, positions, then `completed`."""
    runs, repo = app.run_repository, app.order_repository
    run_id = runs.start("live", session_name, "0" * 64, started)
    t1, t2 = OPEN + timedelta(minutes=11), OPEN + timedelta(hours=6, minutes=30)
    buy = OrderRequest("o000001", "SPY", Side.BUY, quantity, OrderType.MARKET, None, None, t1, "sma_cross#0")
    sell = OrderRequest("o000002", "SPY", Side.SELL, quantity, OrderType.MARKET_ON_CLOSE, None, None, t2,
                        "sma_cross#0")
    orders = [Order(buy, OrderStatus.FILLED, quantity, 127.0, t1 + timedelta(minutes=1)),
              Order(sell, OrderStatus.FILLED, quantity, 127.5, t2)]
    fills = [Fill("o000001", "SPY", Side.BUY, quantity, 127.0, 0.0, t1 + timedelta(minutes=1), "sma_cross#0"),
             Fill("o000002", "SPY", Side.SELL, quantity, 127.5, 0.0, t2, "sma_cross#0")]
    repo.save_orders(run_id, orders)
    repo.save_fills(run_id, fills, 1)
    repo.save_positions(run_id, [Position("SPY", 0, 0.0)], ["SPY"], t2)
    runs.finish(run_id, "completed", t2 + LAG)
    return run_id


def test_a_completed_run_without_its_report_is_rebuilt_and_staging_folders_are_removed(tmp_path: Path) -> None:
    app = _app(tmp_path, OPEN + timedelta(days=1))
    config = load_session_config(SESSION_CONFIG)
    run_id = _completed_run(app, config.session_name, OPEN - timedelta(minutes=30))
    reports = app.settings.state_dir / "reports"
    staging = reports / ".2011-01-04.k3j_x9q2"  # killed while writing: half a report
    staging.mkdir(parents=True)
    (staging / "trades.csv").write_text("symbol,entry_")
    old = reports / ".2011-01-04.old"
    old.mkdir()
    unrelated = reports / "notes"
    unrelated.mkdir()

    tm = app.time_manager()
    rebuilt = recover_reports(app, tm, config, reports, LEAD, LAG)

    assert [(r.day.isoformat(), r.run_id) for r in rebuilt] == [("2011-01-04", run_id)]
    folder = reports / "2011-01-04"
    assert sorted(p.name for p in folder.iterdir()) == ["orders.csv", "risk.csv", "run.json", "summary.json", "trades.csv"]
    assert not staging.exists() and not old.exists() and unrelated.is_dir()
    run_info = json.loads((folder / "run.json").read_text())
    assert run_info["rebuilt_from_database"] is True and run_info["run_id"] == run_id
    assert run_info["status"] == "completed" and "equity.csv" in run_info["missing_files"]
    [trade] = list(csv.DictReader((folder / "trades.csv").open()))
    assert trade["entry_time"] == "2011-01-04T09:42:00-05:00" and trade["exit_time"] == "2011-01-04T16:00:00-05:00"
    assert (trade["quantity"], trade["pnl"], trade["strategy"]) == ("100", "50", "sma_cross#0")
    orders = list(csv.DictReader((folder / "orders.csv").open()))
    assert [o["client_order_id"] for o in orders] == ["o000001", "o000002"]
    assert orders[1]["type"] == "market_on_close" and orders[1]["status"] == "filled"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["rebuilt_from_database"] is True and summary["mode"] == "live"
    assert (summary["trades"], summary["orders"], summary["fills"], summary["realized_pnl"]) == (1, 2, 2, 50.0)
    assert summary["final_equity"] is None and summary["open_positions"] == {}
    assert summary["strategies"]["sma_cross#0"]["pnl"] == 50.0
    [row] = summary["performance"]["rows"]  # realized figures only: no curve was stored
    assert (row["strategy"], row["symbol"], row["trades"], row["pnl"]) == ("sma_cross#0", "SPY", 1, 50.0)
    assert row["max_drawdown_usd"] is None and row["exposure"] is None
    assert summary["performance"]["account"]["return"] is None and summary["performance"]["buy_and_hold"] is None

    # a second start finds the report in place and changes nothing
    before = (folder / "run.json").read_text()
    assert recover_reports(app, tm, config, reports, LEAD, LAG) == []
    assert (folder / "run.json").read_text() == before


def test_a_report_of_an_earlier_day_run_is_replaced_by_the_latest_completed_one(tmp_path: Path) -> None:
    app = _app(tmp_path, OPEN + timedelta(days=1))
    config = load_session_config(SESSION_CONFIG)
    first = _completed_run(app, config.session_name, OPEN - timedelta(minutes=30), quantity=10)
    reports = app.settings.state_dir / "reports"
    write_failure_report(reports / "2011-01-04", {"run_id": first, "status": "completed"})
    second = _completed_run(app, config.session_name, OPEN + timedelta(hours=2), quantity=20)  # restarted day
    app.run_repository.start("live", config.session_name, "0" * 64, OPEN + timedelta(hours=3))  # still running
    _completed_run(app, "another session", OPEN - timedelta(minutes=30))  # not ours: never touched

    [rebuilt] = recover_reports(app, app.time_manager(), config, reports, LEAD, LAG)

    assert rebuilt.run_id == second and "earlier run" in rebuilt.reason
    assert json.loads((reports / "2011-01-04" / "run.json").read_text())["run_id"] == second
    [trade] = list(csv.DictReader((reports / "2011-01-04" / "trades.csv").open()))
    assert trade["quantity"] == "20"


def test_a_day_whose_last_run_was_killed_gets_its_report_once_its_window_has_ended(tmp_path: Path) -> None:
    config = load_session_config(SESSION_CONFIG)
    reports = tmp_path / "state" / "reports"
    during = _app(tmp_path, OPEN + timedelta(hours=6, minutes=32))  # the window ends at close + LAG
    run_id = _completed_run(during, config.session_name, OPEN - timedelta(minutes=30))
    during.run_repository.finish(run_id, "abandoned", OPEN + timedelta(hours=6, minutes=31), "killed")
    assert recover_reports(during, during.time_manager(), config, reports, LEAD, LAG) == [], \
        "a day-run restarted in the window finishes the day itself"
    after = _app(tmp_path, OPEN + timedelta(hours=6, minutes=36))
    [rebuilt] = recover_reports(after, after.time_manager(), config, reports, LEAD, LAG)
    assert rebuilt.run_id == run_id
    run_info = json.loads((reports / "2011-01-04" / "run.json").read_text())
    assert run_info["status"] == "abandoned" and "killed" in run_info["error"]
    assert json.loads((reports / "2011-01-04" / "summary.json").read_text())["trades"] == 1


def test_runs_older_than_the_lookback_and_failed_runs_are_left_alone(tmp_path: Path) -> None:
    app = _app(tmp_path, OPEN + timedelta(days=30))  # the operator pruned old reports: not resurrected
    config = load_session_config(SESSION_CONFIG)
    _completed_run(app, config.session_name, OPEN - timedelta(minutes=30))
    failed = app.run_repository.start("live", config.session_name, "0" * 64, OPEN + timedelta(days=28))
    app.run_repository.finish(failed, "failed", OPEN + timedelta(days=28, hours=1), "boom")
    reports = app.settings.state_dir / "reports"
    assert recover_reports(app, app.time_manager(), config, reports, LEAD, LAG) == []
    assert not reports.exists() or list(reports.iterdir()) == []


def test_a_start_before_midnight_belongs_to_the_next_trading_day(tmp_path: Path) -> None:
    lead = timedelta(minutes=600)  # window of 2011-01-04 opens 2011-01-03 23:30 New York
    app = _app(tmp_path, OPEN + timedelta(days=1))
    config = load_session_config(SESSION_CONFIG)
    run_id = _completed_run(app, config.session_name, OPEN - timedelta(minutes=590))
    reports = app.settings.state_dir / "reports"
    [rebuilt] = recover_reports(app, app.time_manager(), config, reports, lead, LAG)
    assert (rebuilt.day.isoformat(), rebuilt.run_id) == ("2011-01-04", run_id)


def test_remove_stale_staging_ignores_a_missing_reports_folder(tmp_path: Path) -> None:
    assert remove_stale_staging(tmp_path / "nowhere") == []


def test_run_repository_lists_one_sessions_recent_runs(db_sessions) -> None:  # type: ignore[no-untyped-def]
    from mismarterad.repositories.run_repository import RunRepository

    runs = RunRepository(db_sessions)
    old = runs.start("live", "SPY", "0" * 64, OPEN - timedelta(days=20))
    mine = [runs.start("live", "SPY", "0" * 64, OPEN), runs.start("live", "SPY", "0" * 64, OPEN + timedelta(hours=1))]
    runs.start("backtest", "SPY", "0" * 64, OPEN)
    runs.start("live", "QQQ", "0" * 64, OPEN)
    runs.finish(mine[0], "completed", OPEN + timedelta(hours=7))
    listed = runs.runs("live", "SPY", OPEN - timedelta(days=10))
    assert [r.id for r in listed] == mine and old not in [r.id for r in listed]
    assert [r.status for r in listed] == ["completed", "running"] and listed[0].started_utc == OPEN
