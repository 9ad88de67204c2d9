"""The sweep's folder: results.csv, heatmap.png, best.json, sweep.json (and walk_forward.csv).

results.csv has one row per combination in grid order: the parameters, then the summary
figures as summary.json of that combination's single backtest prints them (JSON number text;
empty where a figure has no value), then the probability columns, then `error` (empty when it
completed). Everything but sweep.json's wall-clock figures is a pure function of the sweep's
result, and the folder appears complete or not at all (runs/reports.py's staging).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mismarterad.core.json_values import finite_json
from mismarterad.runs.reports import staged_folder
from mismarterad.runs.sweep_runner import (
    FIGURES,
    OBJECTIVES,
    SweepPlan,
    SweepResult,
    SweepRow,
    WindowResult,
    out_of_sample_totals,
)

__all__ = ["write_sweep_report"]


def write_sweep_report(out_dir: Path, plan: SweepPlan, result: SweepResult, engine: dict[str, Any],
                       config_path: Path) -> Path:
    names = [a.name for a in plan.axes]
    with staged_folder(out_dir) as staging:
        _write_csv(staging / "results.csv", [*names, *FIGURES, "error"],
                   [[*(_cell(r.params[n]) for n in names), *(_cell(r.figures.get(f)) for f in FIGURES),
                     r.error or ""] for r in result.rows])
        if plan.walk_forward is not None:
            _write_csv(staging / "walk_forward.csv", _window_header(names), [_window_row(w, names)
                                                                              for w in result.windows])
        plot_heatmap(staging / "heatmap.png", plan, result.rows)
        _write_json(staging / "best.json", _best(plan, result))
        _write_json(staging / "sweep.json", {
            "config": str(config_path), "session_name": plan.config.session_name,
            "strategy_index": plan.strategy_index, "grid": {a.name: list(a.values) for a in plan.axes},
            "combinations": len(result.rows), "from": plan.start.isoformat(), "to": plan.end.isoformat(),
            "objective": plan.objective,
            "walk_forward": None if plan.walk_forward is None else {
                "train_sessions": plan.walk_forward[0], "test_sessions": plan.walk_forward[1],
                "windows": len(result.windows)},
            "engine": engine, "wall_secs": round(result.wall_secs, 3),
            "completed": sum(1 for r in result.rows if r.error is None),
            "failed": [{"params": r.params, "error": r.error} for r in result.rows if r.error is not None],
        })
    return out_dir.resolve()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def _write_json(path: Path, value: dict[str, Any]) -> None:
    # strict JSON (jq, JSON.parse): a figure without a finite value is null, as an absent one
    path.write_text(json.dumps(finite_json(value), indent=2, allow_nan=False) + "\n")


def _window_header(names: Sequence[str]) -> list[str]:
    return ["window", "train_from", "train_to", "test_from", "test_to", *names,
            *(f"in_{f}" for f in FIGURES), *(f"out_{f}" for f in FIGURES), "error"]


def _window_row(w: WindowResult, names: Sequence[str]) -> list[str]:
    win = w.window
    return [str(win.index), win.train[0].isoformat(), win.train[-1].isoformat(), win.test[0].isoformat(),
            win.test[-1].isoformat(), *(_cell(None if w.params is None else w.params[n]) for n in names),
            *(_cell(w.in_sample.get(f)) for f in FIGURES), *(_cell(w.out_of_sample.get(f)) for f in FIGURES),
            w.error or ""]


def _best(plan: SweepPlan, result: SweepResult) -> dict[str, Any]:
    """The best combination over the whole range, and with walk-forward each window's choice
    with its out-of-sample figures. With walk-forward the whole range's best is chosen and
    measured on the same sessions, test windows included: it comes after the windows, under
    `full_range` with `in_sample: true`, never at the top where a reader looks for the answer."""
    best = result.best
    chosen = {"params": None if best is None else best.params, "figures": None if best is None else best.figures}
    out: dict[str, Any] = {"objective": plan.objective}
    if plan.walk_forward is None:
        out.update(chosen)
    else:
        out["walk_forward"] = {
            "windows": [{"window": w.window.index, "train": [w.window.train[0].isoformat(),
                                                              w.window.train[-1].isoformat()],
                         "test": [w.window.test[0].isoformat(), w.window.test[-1].isoformat()],
                         "params": w.params, "in_sample": w.in_sample or None,
                         "out_of_sample": w.out_of_sample or None, "error": w.error} for w in result.windows],
            "out_of_sample": out_of_sample_totals(result.windows),
        }
        out["full_range"] = {**chosen, "in_sample": True}
    return out


def plot_heatmap(path: Path, plan: SweepPlan, rows: Sequence[SweepRow]) -> None:
    """The objective over the first two parameters (the best over any others); one row with one
    parameter. A cell whose combinations all failed or lack the figure is left blank."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    higher = OBJECTIVES[plan.objective]
    y_axis = plan.axes[0]
    x_axis = plan.axes[1] if len(plan.axes) > 1 else None
    x_values = x_axis.values if x_axis is not None else (None,)
    grid = [[math.nan for _ in x_values] for _ in y_axis.values]
    for row in rows:
        value = row.figures.get(plan.objective)
        if value is None:
            continue
        i = y_axis.values.index(row.params[y_axis.name])
        j = 0 if x_axis is None else x_axis.values.index(row.params[x_axis.name])
        old = grid[i][j]
        if math.isnan(old) or (value > old if higher else value < old):
            grid[i][j] = value
    fig = Figure(figsize=(max(4.0, 1.1 * len(x_values) + 2.5), max(3.0, 0.6 * len(y_axis.values) + 2.0)), dpi=100)
    ax = fig.subplots()
    image = ax.imshow(grid, cmap="viridis" if higher else "viridis_r", aspect="auto")
    fig.colorbar(image, ax=ax, label=plan.objective)
    finite = [v for line in grid for v in line if not math.isnan(v)]
    middle = (min(finite) + max(finite)) / 2 if finite else 0.0
    for i, line in enumerate(grid):
        for j, value in enumerate(line):
            text = "-" if math.isnan(value) else f"{value:.4g}"
            dark = not math.isnan(value) and (value < middle if higher else value > middle)
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_yticks(range(len(y_axis.values)), [_cell(v) for v in y_axis.values])
    ax.set_ylabel(y_axis.name)
    ax.set_xticks(range(len(x_values)), [_cell(v) for v in x_values] if x_axis is not None else [""])
    if x_axis is not None:
        ax.set_xlabel(x_axis.name)
    ax.set_title(f"{plan.config.session_name}\n{plan.objective}, {plan.start} to {plan.end}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
