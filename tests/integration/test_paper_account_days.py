"""Two consecutive day-runs of the daemon's paper account on real threads and a real SQLite
database: day 2's broker opens with the cash and the shares day 1 left (it was stopped without a
flatten), books those shares to "(account)" and closes them at its close; a day that ends without
a saved closing ends at its opening plus its journaled fills, the same to the cent as its broker.
Backtests never read or write the account."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from support.paper_day import DAY1, DAY2, STARTING_CASH, PaperDaemon, handled_until, hold_config, ny, wait_for

from mismarterad.config.session_config import load_session_config
from mismarterad.core.clock import SimClock
from mismarterad.core.orders import Position
from mismarterad.core.paper_account import PaperBalance
from mismarterad.managers.execution_manager import ACCOUNT_OWNER
from mismarterad.runs.app import App
from mismarterad.runs.backtest_runner import run_backtest
from mismarterad.runs.day_run import DayRun


@pytest.fixture
def session_config(tmp_path: Path) -> Path:
    """SPY, one strategy that buys 10 shares a minute after the open and holds them."""
    return hold_config(tmp_path / "hold.json")


def test_two_day_runs_carry_cash_and_shares_and_backtests_never_touch_the_account(
        data_dir: Path, tmp_path: Path, session_config: Path) -> None:
    clock = SimClock(ny(DAY1, 10, 0))
    daemon = PaperDaemon.build(clock, data_dir, tmp_path, session_config)
    app, venue = daemon.app, daemon.venue
    config = load_session_config(session_config)

    def day_run(day: date) -> DayRun:
        return daemon.day_run(day, session_config)

    # day 1: started at 10:00 (the morning caught up), traded live to 10:10, stopped leaving its shares
    first = day_run(DAY1)
    wait_for("the catch-up to 10:00", handled_until(first, ny(DAY1, 10, 0)))
    clock.set(ny(DAY1, 10, 10))
    wait_for("the live bars to 10:10", handled_until(first, ny(DAY1, 10, 10)))
    assert first.pipeline is not None
    day1_end = first.pipeline.execution.account()
    first.stop("leave", drain=False)
    carried = venue.paper.balance()
    assert carried is not None and carried.positions == (Position("SPY", 10, carried.positions[0].avg_price),)
    assert carried.cash == day1_end.cash and carried.cash < STARTING_CASH
    assert venue.paper.balance() == app.paper_account_repository.day("paper", DAY1).closing, "saved: it traded live"

    # day 2: started after its close; the catch-up replays the whole day, so no closing is saved
    clock.set(ny(DAY2, 16, 10))
    second = day_run(DAY2)
    assert second.opening_equity == carried.equity
    wait_for("day 2's last bar", handled_until(second, ny(DAY2, 16, 0)))
    assert second.pipeline is not None
    execution = second.pipeline.execution
    assert execution.strategy_positions() == {(ACCOUNT_OWNER, "SPY"): 10, ("Churn#0", "SPY"): 10}, \
        "the shares carried overnight are the account's, as on a real account"
    assert execution.position_mismatches() == []
    second.stop("flatten", drain=True)  # the scheduled stop: the close flattens every holder
    closed = {o.request.strategy for o in execution.orders() if o.client_order_id.endswith("-c0001")}
    assert closed == {ACCOUNT_OWNER, "Churn#0"} and execution.broker_positions() == []
    day2_end = PaperBalance.of(execution.account().cash, execution.broker_positions())
    assert app.paper_account_repository.day("paper", DAY2).closing is None, "not caught up: the journal ends the day"
    assert venue.paper.balance() == day2_end, "the day's opening plus its journaled fills: the broker's own figures"
    assert second.report_path is not None
    summary = json.loads((second.report_path / "summary.json").read_text())
    assert summary["initial_equity"] == round(carried.equity, 6), "the day's report starts from the kept account"
    rows = {r["strategy"]: r for r in summary["performance"]["rows"]}
    assert rows[ACCOUNT_OWNER]["trades"] == 1 and rows[ACCOUNT_OWNER]["exposure"] > 0.9, \
        "the carried shares are a trade from their cost, held from the open: no short opened by the flatten"
    assert round(sum(r["pnl"] for r in rows.values()), 4) == round(summary["performance"]["account"]["pnl"], 4)

    # a backtest of the same days starts from its own initial_cash and leaves the account alone
    stored = app.paper_account_repository.day("paper", DAY2)
    backtest_app = App(settings=app.settings, clock=SimClock(ny(DAY1, 0, 0)))
    result = run_backtest(backtest_app, config, session_config.parent, DAY1, DAY2).result
    assert config.backtest_config is not None
    assert result.initial_cash == result.equity[0].cash == config.backtest_config.initial_cash != STARTING_CASH
    assert app.paper_account_repository.day("paper", DAY2) == stored
    assert app.paper_account_repository.latest_day("paper").day == DAY2


def test_a_day_run_stopped_while_replaying_is_not_settled_and_the_next_one_finishes_the_day(
        data_dir: Path, tmp_path: Path, session_config: Path) -> None:
    clock = SimClock(ny(DAY1, 16, 10))  # started after the close: every bar of the day is a catch-up
    daemon = PaperDaemon.build(clock, data_dir, tmp_path, session_config)
    venue = daemon.venue
    first = daemon.day_run(DAY1, session_config)
    first.stop("flatten", drain=False)  # SIGTERM at once, however far the replay got
    assert first.pipeline is not None
    assert not [o for o in first.pipeline.execution.orders() if "-c0" in o.client_order_id], \
        "no flatten at a past minute's prices"
    broker = first.pipeline.execution
    assert venue.paper.balance() == PaperBalance.of(broker.account().cash, broker.broker_positions()), \
        "the day ends as journaled: the broker's fills so far"
    second = daemon.day_run(DAY1, session_config)
    assert second.opening_equity == STARTING_CASH
    second.stop("flatten", drain=True)  # the scheduled stop: the replay reaches the close and flattens
    assert second.pipeline is not None
    closed = [o for o in second.pipeline.execution.orders() if o.client_order_id.endswith("-c0001")]
    assert [o.request.strategy for o in closed] == ["Churn#0"]
    balance = venue.paper.balance()
    assert balance is not None and balance.positions == () and balance.cash != STARTING_CASH
