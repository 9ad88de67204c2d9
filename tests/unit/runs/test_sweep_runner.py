"""The sweep runner with a fake task runner (no Ray): the report does not depend on the order in
which tasks complete, walk-forward chooses on train windows only, and each row's deflated
Sharpe ratio counts the completed combinations as trials."""

from __future__ import annotations

import json
import random
import statistics
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from support.probability_reference import scipy_deflated_sharpe

from mismarterad.config.session_config import load_session_config
from mismarterad.runs.sweep_grid import ParamAxis
from mismarterad.runs.sweep_report import write_sweep_report
from mismarterad.runs.sweep_runner import SweepPlan, SweepResult, run_sweep
from mismarterad.runs.sweep_task import BacktestTask, TaskOutcome
from mismarterad.services.probability_engine import per_period_sharpe

CONFIG = Path(__file__).resolve().parents[3] / "session_configs" / "spy_2011_backtest.json"
SESSIONS = (date(2011, 1, 3), date(2011, 1, 4), date(2011, 1, 5), date(2011, 1, 6), date(2011, 1, 7),
            date(2011, 1, 10))
# each `fast`'s return per session, in thousandths; fast=4 fails. With --walk-forward 2:2 the train
# windows choose 1 (sessions 0-1) and 2 (sessions 2-3); had the choice seen its test sessions too, it
# would take 2 (sessions 0-3) and 3 (sessions 2-5); over the whole range 3 is best.
DAILY = {1: (2, 2, 0, 0, 0, 0), 2: (0, 0, 3, 3, 0, 0), 3: (0, 0, 0, 0, 9, 9)}
FAILING = 4


def _returns(fast: int, days: Sequence[date]) -> tuple[float, ...]:
    # a small wobble per session and combination, so every Sharpe ratio has a spread
    return tuple(DAILY[fast][SESSIONS.index(d)] / 1000 + ((SESSIONS.index(d) * 7 + fast * 3) % 5) / 1e5 for d in days)


def _outcome(task: BacktestTask) -> TaskOutcome:
    fast = task.params["fast"]
    if fast == FAILING:
        return TaskOutcome(task.key, None, (), "configuration error: the strategy refused it")
    returns = _returns(fast, [d for d in SESSIONS if task.start <= d <= task.end])
    summary = {"total_return": round(sum(returns), 10), "sharpe": per_period_sharpe(returns), "max_drawdown": 0.001,
               "trades": len(returns), "win_rate": 0.5, "p_positive_edge": 0.75, "deflated_sharpe": 0.5,
               "win_rate_low": 0.1, "win_rate_high": 0.9}
    return TaskOutcome(task.key, summary, returns, None)


def _fake_runner(order: Callable[[list[int]], list[int]], seen: list[BacktestTask]) -> Callable[..., list[TaskOutcome]]:
    """Runs the tasks, reporting them done in `order` (the completion order), and returns the
    outcomes in task order (RayPool.run's contract)."""
    def run(tasks: Sequence[BacktestTask], on_done: Callable[[TaskOutcome], None]) -> list[TaskOutcome]:
        seen.extend(tasks)
        outcomes = [_outcome(t) for t in tasks]
        for i in order(list(range(len(tasks)))):
            on_done(outcomes[i])
        return outcomes
    return run


def _plan(walk_forward: tuple[int, int] | None = (2, 2)) -> SweepPlan:
    return SweepPlan(load_session_config(CONFIG), CONFIG.parent, CONFIG.parent, 0,
                     (ParamAxis("fast", (1, 2, 3, FAILING)), ParamAxis("slow", (30,))), SESSIONS[0], SESSIONS[-1],
                     objective="total_return", walk_forward=walk_forward, sessions=SESSIONS)


def _sweep(order: Callable[[list[int]], list[int]], seen: list[BacktestTask] | None = None) -> SweepResult:
    return run_sweep(_plan(), _fake_runner(order, [] if seen is None else seen))


def test_the_report_is_byte_identical_whatever_order_the_tasks_complete_in(tmp_path: Path) -> None:
    orders = {"forward": lambda ids: ids, "reversed": lambda ids: ids[::-1],
              "shuffled": lambda ids: random.Random(5).sample(ids, len(ids))}
    folders = [write_sweep_report(tmp_path / name, _plan(), _sweep(order), {"name": "fake"}, CONFIG)
               for name, order in orders.items()]
    for name in ("results.csv", "walk_forward.csv", "best.json", "heatmap.png"):
        first, *others = [(folder / name).read_bytes() for folder in folders]
        assert all(other == first for other in others), name
    lines = (folders[0] / "results.csv").read_text().splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [["1", "30"], ["2", "30"], ["3", "30"], ["4", "30"]]
    assert lines[-1].endswith("configuration error: the strategy refused it")


def test_walk_forward_chooses_on_each_train_window_only() -> None:
    seen: list[BacktestTask] = []
    result = _sweep(lambda ids: ids, seen)
    assert result.best is not None and result.best.params["fast"] == 3  # the whole range's best
    assert [w.params for w in result.windows] == [{"fast": 1, "slow": 30}, {"fast": 2, "slow": 30}]
    for w in result.windows:
        assert w.params is not None
        train_best = max(DAILY, key=lambda fast, w=w: sum(_returns(fast, w.window.train)))
        leaked_best = max(DAILY, key=lambda fast, w=w: sum(_returns(fast, w.window.train + w.window.test)))
        assert w.params["fast"] == train_best != leaked_best
        assert w.in_sample["total_return"] == round(sum(_returns(train_best, w.window.train)), 10)
        assert w.out_of_sample["total_return"] == round(sum(_returns(train_best, w.window.test)), 10)
    tests = [t for t in seen if t.key.endswith(" test")]
    assert [(t.params, t.start, t.end) for t in tests] == [
        (w.params, w.window.test[0], w.window.test[-1]) for w in result.windows]


def test_each_rows_deflated_sharpe_counts_the_completed_combinations_as_trials() -> None:
    result = run_sweep(_plan(None), _fake_runner(lambda ids: ids, []))
    completed = [_returns(fast, SESSIONS) for fast in DAILY]
    variance = statistics.variance([per_period_sharpe(r) for r in completed])  # type: ignore[type-var]
    for row, returns in zip(result.rows, completed, strict=False):
        assert row.figures["deflated_sharpe"] == pytest.approx(
            scipy_deflated_sharpe(np.array(returns), len(completed), variance), abs=1e-9)
    assert result.rows[-1].figures == {} and result.rows[-1].error is not None


def test_with_walk_forward_best_json_leads_with_the_out_of_sample_figures(tmp_path: Path) -> None:
    result = _sweep(lambda ids: ids)
    best = json.loads((write_sweep_report(tmp_path / "wf", _plan(), result, {}, CONFIG) / "best.json").read_text())
    # the whole range's best saw the test windows: labelled, after them, never the top-level answer
    assert list(best) == ["objective", "walk_forward", "full_range"]
    assert best["full_range"] == {"params": result.best.params, "figures": result.best.figures,  # type: ignore[union-attr]
                                  "in_sample": True}
    windows = best["walk_forward"]["windows"]
    assert [(w["params"], w["out_of_sample"]) for w in windows] == [(w.params, w.out_of_sample)
                                                                    for w in result.windows]
    chained = (1 + result.windows[0].out_of_sample["total_return"]) * (
        1 + result.windows[1].out_of_sample["total_return"]) - 1
    assert best["walk_forward"]["out_of_sample"]["total_return"] == pytest.approx(chained, abs=1e-9)
    lone = run_sweep(_plan(None), _fake_runner(lambda ids: ids, []))
    best = json.loads((write_sweep_report(tmp_path / "lone", _plan(None), lone, {}, CONFIG) / "best.json").read_text())
    assert best == {"objective": "total_return", "params": {"fast": 3, "slow": 30}, "figures": lone.rows[2].figures}
