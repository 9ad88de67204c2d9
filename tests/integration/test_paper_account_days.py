"""Two consecutive day-runs of the daemon's paper account on real threads and a real SQLite
database: day 2's broker opens with the cash and the shares day 1 left (it was stopped without a
flatten), books those shares to "(account)" and closes them at its close; a day that ends without
a saved closing ends at its opening plus its journaled fills, the same to the cent as its broker.
Backtests never read or write the account."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mismarterad.config.daemon_config import DaemonConfig
from mismarterad.config.paper_config import PaperConfig
from mismarterad.config.session_config import load_session_config
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.orders import Position
from mismarterad.core.paper_account import PaperBalance
from mismarterad.managers.execution_manager import ACCOUNT_OWNER
from mismarterad.managers.system_manager import SystemManager
from mismarterad.runs.app import App
from mismarterad.runs.backtest_runner import run_backtest
from mismarterad.runs.day_run import DayRun
from mismarterad.runs.strategy_loading import resolve_strategies
from mismarterad.runs.venue import PaperVenue

NY = ZoneInfo("America/New_York")
REPO = Path(__file__).resolve().parents[2]
CHURN = REPO / "tests" / "support" / "churn_strategy.py"
DAY1, DAY2 = date(2011, 1, 4), date(2011, 1, 5)
STARTING_CASH = 100_000.0


def ny(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, dt_time(hh, mm), NY).astimezone(UTC)


@pytest.fixture
def session_config(tmp_path: Path) -> Path:
    """SPY, one strategy that buys 10 shares a minute after the open and holds them."""
    config = json.loads((REPO / "session_configs" / "spy_2011_backtest.json").read_text())
    config["strategies"] = [{"file": str(CHURN), "class": "Churn", "symbols": ["SPY"],
                             "params": {"every_minutes": 1000, "quantity": 10}}]
    path = tmp_path / "hold.json"
    path.write_text(json.dumps(config))
    return path


def daemon_parts(clock: SimClock, data_dir: Path, tmp_path: Path,
                 session_config: Path) -> tuple[App, PaperVenue, Callable[[date], DayRun]]:
    """What the daemon builds for its day-runs (app, paper venue) and a started day-run of a day."""
    app = App(settings=Settings(data_dir=data_dir, state_dir=tmp_path / "state"), clock=clock)
    tm = app.time_manager()
    system = SystemManager(tm, app.data_manager(tm))
    venue = PaperVenue(DaemonConfig(session_config=session_config, paper=PaperConfig(initial_cash=STARTING_CASH)), app)
    config = load_session_config(session_config)
    strategies = resolve_strategies(config, session_config.parent)

    def day_run(day: date) -> DayRun:
        run = DayRun(app, system, tm, config, strategies, venue, day, tmp_path / "reports")
        run.start()
        return run
    return app, venue, day_run


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_two_day_runs_carry_cash_and_shares_and_backtests_never_touch_the_account(
        data_dir: Path, tmp_path: Path, session_config: Path) -> None:
    clock = SimClock(ny(DAY1, 10, 0))
    app, venue, day_run = daemon_parts(clock, data_dir, tmp_path, session_config)
    config = load_session_config(session_config)

    def handled_until(run: DayRun, end: datetime) -> Callable[[], bool]:
        def done() -> bool:
            snapshot = run.pipeline_snapshot()
            return snapshot is not None and snapshot.trading.last_bar_end_utc == end
        return done

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
    _app, venue, day_run = daemon_parts(clock, data_dir, tmp_path, session_config)
    first = day_run(DAY1)
    first.stop("flatten", drain=False)  # SIGTERM at once, however far the replay got
    assert first.pipeline is not None
    assert not [o for o in first.pipeline.execution.orders() if "-c0" in o.client_order_id], \
        "no flatten at a past minute's prices"
    broker = first.pipeline.execution
    assert venue.paper.balance() == PaperBalance.of(broker.account().cash, broker.broker_positions()), \
        "the day ends as journaled: the broker's fills so far"
    second = day_run(DAY1)
    assert second.opening_equity == STARTING_CASH
    second.stop("flatten", drain=True)  # the scheduled stop: the replay reaches the close and flattens
    assert second.pipeline is not None
    closed = [o for o in second.pipeline.execution.orders() if o.client_order_id.endswith("-c0001")]
    assert [o.request.strategy for o in closed] == ["Churn#0"]
    balance = venue.paper.balance()
    assert balance is not None and balance.positions == () and balance.cash != STARTING_CASH
