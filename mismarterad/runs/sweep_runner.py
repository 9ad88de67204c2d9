"""A parameter sweep: every combination's backtest over the range, and optionally walk-forward.

Phase one runs every combination over the whole range (results.csv) and, with walk-forward,
every combination over each train window, all as one batch of tasks; phase two runs each
window's chosen combination over its test window. A combination is chosen by the objective
(ties: the first in grid order; a combination without the figure, or failed, is never chosen
over one with it). The deflated Sharpe ratio of a row counts every completed combination of
its phase as a trial, with the spread of their Sharpe ratios (services/probability_engine.py).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from mismarterad.config.session_config import SessionConfig
from mismarterad.runs.reports import deflated_sharpe_figure
from mismarterad.runs.sweep_grid import ParamAxis, combination_config, expand_grid
from mismarterad.runs.sweep_task import BacktestTask, TaskOutcome
from mismarterad.services.probability_engine import per_period_sharpe
from mismarterad.services.walk_forward import WalkForwardWindow, walk_forward_windows

__all__ = ["FIGURES", "OBJECTIVES", "SUMMARY_FIGURES", "SweepPlan", "SweepProgress", "SweepResult", "SweepRow",
           "TaskRunner", "WindowResult", "choose", "combination_task", "grid_rows", "out_of_sample_totals",
           "run_sweep"]

SUMMARY_FIGURES = ("total_return", "sharpe", "max_drawdown", "trades", "win_rate")
PROBABILITY_FIGURES = ("p_positive_edge", "deflated_sharpe", "win_rate_low", "win_rate_high")
FIGURES = SUMMARY_FIGURES + PROBABILITY_FIGURES
#: objective -> whether higher is better
OBJECTIVES = {"sharpe": True, "total_return": True, "max_drawdown": False, "win_rate": True,
              "p_positive_edge": True, "deflated_sharpe": True}

#: runs a batch of tasks, calling back as each finishes; returns the outcomes in task order
TaskRunner = Callable[[Sequence[BacktestTask], Callable[[TaskOutcome], None]], list[TaskOutcome]]


@dataclass(frozen=True, slots=True)
class SweepPlan:
    config: SessionConfig
    config_dir: Path
    data_dir: Path
    strategy_index: int
    axes: tuple[ParamAxis, ...]
    start: date
    end: date
    objective: str = "sharpe"
    #: (train, test) session counts and the range's sessions they are cut from
    walk_forward: tuple[int, int] | None = None
    sessions: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class SweepProgress:
    done: int
    total: int
    failed: int


@dataclass(frozen=True, slots=True)
class SweepRow:
    params: dict[str, Any]
    figures: dict[str, Any]  # FIGURES (None where a figure has no value); empty when it failed
    error: str | None


@dataclass(frozen=True, slots=True)
class WindowResult:
    window: WalkForwardWindow
    params: dict[str, Any] | None  # the combination chosen on the train window; None when all failed
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True)
class SweepResult:
    rows: list[SweepRow]
    best: SweepRow | None
    windows: list[WindowResult]
    wall_secs: float


def run_sweep(plan: SweepPlan, run_tasks: TaskRunner,
              on_progress: Callable[[SweepProgress], None] | None = None) -> SweepResult:
    started = time.monotonic()
    grid = expand_grid(plan.axes)
    windows = walk_forward_windows(plan.sessions, *plan.walk_forward) if plan.walk_forward else []
    first = [combination_task(plan, f"full {i}", p, plan.start, plan.end) for i, p in enumerate(grid)]
    first += [combination_task(plan, f"window {w.index} train {i}", p, w.train[0], w.train[-1])
              for w in windows for i, p in enumerate(grid)]
    # a window's test task runs only when a combination completed on its train window
    counts = {"done": 0, "failed": 0, "total": len(first) + len(windows)}

    def done(outcome: TaskOutcome) -> None:
        counts["done"] += 1
        counts["failed"] += outcome.error is not None
        if on_progress is not None:
            on_progress(SweepProgress(counts["done"], counts["total"], counts["failed"]))

    if on_progress is not None:
        on_progress(SweepProgress(0, counts["total"], 0))
    outcomes = run_tasks(first, done)
    rows = grid_rows(grid, outcomes[:len(grid)])
    chosen: list[tuple[WalkForwardWindow, SweepRow | None]] = []
    for n, w in enumerate(windows):
        train = grid_rows(grid, outcomes[len(grid) * (n + 1):len(grid) * (n + 2)])
        chosen.append((w, choose(train, plan.objective)))
    tests = [combination_task(plan, f"window {w.index} test", row.params, w.test[0], w.test[-1])
             for w, row in chosen if row is not None]
    counts["total"] = len(first) + len(tests)
    test_outcomes = iter(run_tasks(tests, done) if tests else [])
    results = []
    for w, row in chosen:
        if row is None:
            results.append(WindowResult(w, None, {}, {}, f"no combination has a {plan.objective} on the train "
                                        "window (each failed, or the window is too short for the figure)"))
            continue
        test = grid_rows([row.params], [next(test_outcomes)])[0]
        results.append(WindowResult(w, row.params, row.figures, test.figures, test.error))
    return SweepResult(rows, choose(rows, plan.objective), results, time.monotonic() - started)


def combination_task(plan: SweepPlan, key: str, params: dict[str, Any], start: date, end: date) -> BacktestTask:
    """The task backtesting `params` over `start`..`end` (`key` names it in the sweep)."""
    return BacktestTask(key, params, combination_config(plan.config, plan.strategy_index, params),
                        str(plan.config_dir), str(plan.data_dir), start, end)


def grid_rows(grid: Sequence[dict[str, Any]], outcomes: Sequence[TaskOutcome]) -> list[SweepRow]:
    """One row per combination: its summary's figures, the deflated Sharpe ratio among the
    completed ones as trials."""
    completed = [o for o in outcomes if o.summary is not None]
    sharpes = [s for o in completed if (s := per_period_sharpe(o.returns)) is not None]
    variance = statistics.variance(sharpes) if len(sharpes) > 1 else 0.0
    rows = []
    for params, outcome in zip(grid, outcomes, strict=True):
        if outcome.summary is None:
            rows.append(SweepRow(params, {}, outcome.error))
            continue
        figures = {name: outcome.summary.get(name) for name in FIGURES}
        figures["deflated_sharpe"] = deflated_sharpe_figure(outcome.returns, max(1, len(completed)), variance)
        rows.append(SweepRow(params, figures, None))
    return rows


def choose(rows: Sequence[SweepRow], objective: str) -> SweepRow | None:
    """The row best by `objective`; the first of equals; None when no row has the figure."""
    higher = OBJECTIVES[objective]
    best: SweepRow | None = None
    for row in rows:
        value = row.figures.get(objective)
        if value is None:
            continue
        if best is None or (value > best.figures[objective] if higher else value < best.figures[objective]):
            best = row
    return best


def out_of_sample_totals(windows: Sequence[WindowResult]) -> dict[str, Any]:
    """The walk-forward's answer: its test windows' figures taken together (each window measured
    the combination chosen on its own train window)."""
    measured = [w for w in windows if w.error is None]
    returns = [w.out_of_sample["total_return"] for w in measured if w.out_of_sample.get("total_return") is not None]
    sharpes = [w.out_of_sample["sharpe"] for w in measured if w.out_of_sample.get("sharpe") is not None]
    # each test window starts from the same cash: compounding their returns chains them
    return {"windows_measured": len(measured),
            "total_return": round(math.prod(1 + r for r in returns) - 1, 10) if returns else None,
            "mean_sharpe": round(sum(sharpes) / len(sharpes), 10) if sharpes else None}
