"""Sweep throughput: the same backtests one after another in one process, then on Ray with 1 and 2 workers.

Run: .venv/bin/python bench/bench_sweep.py [--days 2011-01-03:2011-01-31] [--fast 5,10,15,20] [--slow 30,60]

The bundled SPY January 2011 bars are imported into a temporary store first (not timed). Each
mode runs the same grid of sma_cross combinations over the same range, each backtest being
exactly a sweep task (`run_backtest_task`: its own state folder and SQLite database, the bars
read from the store, the summary computed):
* sequential: the tasks called one after another in this process (no Ray);
* ray N cold / warm: `run_sweep` on a fresh local Ray of N workers, twice: cold, each worker
  first imports the pipeline; warm, the same workers again (a long sweep is mostly warm). The
  time to start Ray is reported apart.
Prints backtests per minute for each mode and checks that every mode gave the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from mismarterad.config.session_config import load_session_config
from mismarterad.runs.sweep_grid import ParamAxis, expand_grid
from mismarterad.runs.sweep_ray import RayPool
from mismarterad.runs.sweep_runner import SUMMARY_FIGURES, SweepPlan, combination_task, run_sweep
from mismarterad.runs.sweep_task import quiet_logs, run_backtest_task

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"
SAMPLE = REPO / "mismarterad" / "sample_data" / "spy_1min_2011-01_ext_ninjatrader.csv"


def _import(data_dir: Path, state_dir: Path) -> None:
    env = {**os.environ, "MISMARTERAD_DATA_DIR": str(data_dir), "MISMARTERAD_STATE_DIR": str(state_dir)}
    subprocess.run([str(Path(sys.executable).parent / "mismarterad"), "data", "import", str(SAMPLE), "--symbol", "SPY"],
                   env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", default="2011-01-03:2011-01-31", help="FIRST:LAST")
    parser.add_argument("--fast", default="5,10,15,20")
    parser.add_argument("--slow", default="30,60")
    args = parser.parse_args()
    quiet_logs()  # as in a Ray worker
    first, last = (date.fromisoformat(d) for d in args.days.split(":"))
    axes = (ParamAxis("fast", tuple(int(v) for v in args.fast.split(","))),
            ParamAxis("slow", tuple(int(v) for v in args.slow.split(","))))
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        data_dir = Path(tmp) / "data"
        _import(data_dir, Path(tmp) / "state")
        plan = SweepPlan(load_session_config(CONFIG), CONFIG.parent, data_dir, 0, axes, first, last)
        grid = expand_grid(axes)
        n = len(grid)
        print(f"{n} backtests of sma_cross over {first} to {last}, {os.cpu_count()} cores")

        started = time.monotonic()
        outcomes = [run_backtest_task(combination_task(plan, f"full {i}", p, first, last)) for i, p in enumerate(grid)]
        secs = time.monotonic() - started
        print(json.dumps({"mode": "sequential", "secs": round(secs, 2), "per_min": round(n / secs * 60, 1)}))

        for workers in (1, 2):
            started = time.monotonic()
            with RayPool(workers) as pool:
                ready = time.monotonic()
                for sweep in ("cold", "warm"):  # warm: the workers have imported the pipeline already
                    result = run_sweep(plan, pool.run)
                    print(json.dumps({"mode": f"ray {workers} {sweep}", "ray_start_secs": round(ready - started, 2),
                                      "secs": round(result.wall_secs, 2),
                                      "per_min": round(n / result.wall_secs * 60, 1),
                                      "failed": sum(1 for r in result.rows if r.error)}))
                    for row, outcome in zip(result.rows, outcomes, strict=True):
                        assert outcome.summary is not None and all(
                            row.figures[k] == outcome.summary[k] for k in SUMMARY_FIGURES), row

if __name__ == "__main__":
    main()
