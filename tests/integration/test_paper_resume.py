"""A restarted paper day-run rebuilds the kept account from the day's order journal, whatever its
strategies decide on the replay: started halted, with changed params, after an operator's
flatten, or killed after it diverged. In each case the broker's cash and positions are the
day's opening plus the journaled fills, each once (real threads, a real SQLite database).

Every day-run here is started as the daemon starts one: the first at 10:00 of 2011-01-04 (the
morning caught up: the strategy buys 10 SPY at 09:31), live to 10:10, then left for a
supervised restart (`leave`: the daemon's restart after a thread failure); the restart comes at
10:20 and its catch-up replays the morning."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paper_day import DAY1, STARTING_CASH, PaperDaemon, handled_until, hold_config, kill, ny, wait_for

from mismarterad.config.paper_config import PaperConfig
from mismarterad.core.clock import SimClock
from mismarterad.core.orders import OrderStatus, Position, Side
from mismarterad.core.paper_account import PaperBalance
from mismarterad.runs.day_run import DayRun


@pytest.fixture
def morning(data_dir: Path, tmp_path: Path) -> PaperDaemon:
    """The daemon after its first day-run of DAY1 bought 10 SPY and was left for a restart at 10:20."""
    clock = SimClock(ny(DAY1, 10, 0))
    daemon = PaperDaemon.build(clock, data_dir, tmp_path, hold_config(tmp_path / "hold.json"))
    first = daemon.day_run(DAY1, tmp_path / "hold.json")
    wait_for("the catch-up to 10:00", handled_until(first, ny(DAY1, 10, 0)))
    clock.set(ny(DAY1, 10, 10))
    wait_for("the live bars to 10:10", handled_until(first, ny(DAY1, 10, 10)))
    first.stop("leave", drain=False)
    [bought] = daemon.journal(DAY1).fills
    assert (bought.fill.side, bought.fill.quantity) == (Side.BUY, 10)
    clock.set(ny(DAY1, 10, 20))
    return daemon


def broker_balance(run: DayRun) -> PaperBalance:
    assert run.pipeline is not None
    execution = run.pipeline.execution
    return PaperBalance.of(execution.account().cash, execution.broker_positions())


def restart_until(daemon: PaperDaemon, config: Path, *, halted: bool = False) -> DayRun:
    run = daemon.day_run(DAY1, config, halted=halted)
    wait_for("the restart's catch-up and first live step", handled_until(run, ny(DAY1, 10, 20)))
    return run


def settle(daemon: PaperDaemon, run: DayRun) -> PaperBalance:
    """The scheduled stop after the close: the close flattens; returns the stored closing."""
    daemon.clock.set(ny(DAY1, 16, 10))
    wait_for("the day's last bar", handled_until(run, ny(DAY1, 16, 0)))
    run.stop("flatten", drain=True)
    stored = daemon.app.paper_account_repository.day(daemon.venue.account, DAY1)
    assert stored is not None and stored.closing is not None, "it traded the whole day: its closing is saved"
    return stored.closing


def fills_by_order(daemon: PaperDaemon) -> dict[str, int]:
    counted: dict[str, int] = {}
    for journaled in daemon.journal(DAY1).fills:
        counted[journaled.fill.client_order_id] = counted.get(journaled.fill.client_order_id, 0) + 1
    return counted


def test_a_restart_while_halted_keeps_the_mornings_fill_in_the_account(morning: PaperDaemon, tmp_path: Path) -> None:
    run = restart_until(morning, tmp_path / "hold.json", halted=True)
    assert run.pipeline is not None
    execution = run.pipeline.execution
    assert broker_balance(run) == morning.journaled_end(DAY1), "rebuilt from the journal, not refused again"
    assert broker_balance(run).positions == (Position("SPY", 10, broker_balance(run).positions[0].avg_price),)
    assert execution.refusals() == [], "the morning's order was decided before the halt: adopted, not refused"
    assert [o.status for o in execution.orders()] == [OrderStatus.FILLED]
    closing = settle(morning, run)
    assert closing == morning.journaled_end(DAY1) and closing.positions == ()
    assert closing.cash != STARTING_CASH, "the morning's buy and the close's sell are both the account's"
    assert sorted(fills_by_order(morning).values()) == [1, 1], "one buy, one closing sell: none twice"


def test_a_restart_with_changed_params_rebuilds_the_account_from_the_journal(
        morning: PaperDaemon, tmp_path: Path) -> None:
    changed = hold_config(tmp_path / "hold.json", quantity=20)  # edited before the restart, same session
    run = restart_until(morning, changed)
    assert run.pipeline is not None
    execution = run.pipeline.execution
    assert broker_balance(run) == morning.journaled_end(DAY1)
    assert [p.quantity for p in broker_balance(run).positions] == [10], "the 10 bought, not 20 re-decided"
    [refused] = execution.refusals()
    assert (refused.check.value, refused.quantity) == ("bar_passed", 20), "a new decision of the past is not sent"
    assert execution.strategy_positions() == {("Churn#0", "SPY"): 10}
    assert execution.position_mismatches() == []
    closing = settle(morning, run)
    assert closing == morning.journaled_end(DAY1) and closing.positions == ()
    assert sorted(fills_by_order(morning).values()) == [1, 1]


def test_a_killed_diverged_restart_ends_the_day_as_journaled_once(morning: PaperDaemon, tmp_path: Path) -> None:
    run = restart_until(morning, hold_config(tmp_path / "hold.json", quantity=20))
    morning.clock.set(ny(DAY1, 10, 30))
    wait_for("live to 10:30", handled_until(run, ny(DAY1, 10, 30)))
    at_kill = broker_balance(run)
    kill(run)  # SIGKILL: no settle, no closing saved
    assert morning.venue.paper.balance() == morning.journaled_end(DAY1) == at_kill
    assert [p.quantity for p in at_kill.positions] == [10], "one reality: no phantom 30 shares, no double cash"
    assert fills_by_order(morning) == {morning.journal(DAY1).fills[0].fill.client_order_id: 1}


def test_an_operators_flatten_before_the_restart_stays_flat(data_dir: Path, tmp_path: Path) -> None:
    clock = SimClock(ny(DAY1, 10, 0))
    daemon = PaperDaemon.build(clock, data_dir, tmp_path, hold_config(tmp_path / "hold.json"))
    first = daemon.day_run(DAY1, tmp_path / "hold.json")
    wait_for("the catch-up to 10:00", handled_until(first, ny(DAY1, 10, 0)))
    assert first.pipeline is not None
    [flatten] = first.pipeline.execution.flatten(clock.now())  # mismarterctl flatten, at 10:00
    clock.set(ny(DAY1, 10, 10))
    wait_for("the live bars to 10:10", handled_until(first, ny(DAY1, 10, 10)))
    kill(first)
    assert fills_by_order(daemon) == {first.pipeline.execution.orders()[0].client_order_id: 1,
                                      flatten.client_order_id: 1}
    clock.set(ny(DAY1, 10, 20))
    run = restart_until(daemon, tmp_path / "hold.json")
    assert broker_balance(run) == daemon.journaled_end(DAY1) and broker_balance(run).positions == ()
    assert run.pipeline is not None and run.pipeline.execution.strategy_positions() == {}
    kill(run)


def test_a_session_renamed_before_the_restart_keeps_the_mornings_fill(morning: PaperDaemon, tmp_path: Path) -> None:
    first_prefix = morning.app.paper_account_repository.day(morning.venue.account, DAY1).id_prefix
    renamed = hold_config(tmp_path / "renamed.json", session_name="renamed at lunch")
    run = restart_until(morning, renamed, halted=True)
    assert morning.app.paper_account_repository.day(morning.venue.account, DAY1).id_prefix == first_prefix
    assert broker_balance(run) == morning.journaled_end(DAY1)
    assert [p.quantity for p in broker_balance(run).positions] == [10], "the morning stays the account's"
    assert run.pipeline is not None
    assert {o.client_order_id[:len(first_prefix)] for o in run.pipeline.execution.orders()} == {first_prefix}
    kill(run)


def test_daemons_sharing_a_database_keep_their_own_paper_accounts(data_dir: Path, tmp_path: Path) -> None:
    clock = SimClock(ny(DAY1, 10, 0))
    config = hold_config(tmp_path / "hold.json")  # the same session in both: the same order ids
    a = PaperDaemon.build(clock, data_dir, tmp_path, config, PaperConfig(initial_cash=STARTING_CASH, account="paper-a"))
    b = PaperDaemon.build(clock, data_dir, tmp_path, config, PaperConfig(initial_cash=50_000.0, account="paper-b"))
    first = a.day_run(DAY1, config)
    wait_for("a's catch-up to 10:00", handled_until(first, ny(DAY1, 10, 0)))
    kill(first)
    other = b.day_run(DAY1, config)
    assert other.resumed_orders == 0 and other.opening_equity == 50_000.0, "b's day is not a's, nor its journal"
    wait_for("b's catch-up to 10:00", handled_until(other, ny(DAY1, 10, 0)))
    kill(other)
    assert [p.quantity for p in a.venue.paper.balance().positions] == [10] == [
        p.quantity for p in b.venue.paper.balance().positions]
    assert a.venue.paper.balance().cash < STARTING_CASH and b.venue.paper.balance().cash < 50_000.0
    assert len(a.journal(DAY1).fills) == len(b.journal(DAY1).fills) == 1
