"""The sweep folder's JSON files are strict JSON: a figure without a finite value is null."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from mismarterad.config.session_config import load_session_config
from mismarterad.runs.sweep_grid import ParamAxis
from mismarterad.runs.sweep_report import write_sweep_report
from mismarterad.runs.sweep_runner import SweepPlan, SweepResult, SweepRow

CONFIG = Path(__file__).resolve().parents[3] / "session_configs" / "spy_2011_backtest.json"


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_figure_is_written_as_null(tmp_path: Path, bad: float) -> None:
    plan = SweepPlan(load_session_config(CONFIG), CONFIG.parent, tmp_path, 0, (ParamAxis("fast", (5, 10)),),
                     date(2011, 1, 3), date(2011, 1, 7), objective="total_return")
    rows = [SweepRow({"fast": 5}, {"total_return": 0.01, "sharpe": bad}, None),
            SweepRow({"fast": 10}, {}, "failed")]
    out = write_sweep_report(tmp_path / "out", plan, SweepResult(rows, rows[0], [], bad), {"name": "ray"}, CONFIG)
    best = _strict((out / "best.json").read_text())
    assert isinstance(best, dict) and best["figures"]["sharpe"] is None and best["figures"]["total_return"] == 0.01
    sweep = _strict((out / "sweep.json").read_text())
    assert isinstance(sweep, dict) and sweep["wall_secs"] is None and sweep["grid"] == {"fast": [5, 10]}
