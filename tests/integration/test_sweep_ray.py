"""Sweeps on a real local Ray of two workers (started once for this module) over the bundled bars.

Nothing here needs more than this machine: a cluster is reached the way `--address` reaches
this module's own Ray (its head's GCS address), which is how a remote head is joined.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import ray
from support.daemon_process import SPY_JANUARY, base_env, executable

from mismarterad.cli.main import main
from mismarterad.config.session_config import load_session_config
from mismarterad.runs.sweep_grid import ParamAxis
from mismarterad.runs.sweep_ray import LOCAL_OBJECT_STORE_BYTES, RayPool
from mismarterad.runs.sweep_report import write_sweep_report
from mismarterad.runs.sweep_runner import SUMMARY_FIGURES, SweepPlan, SweepProgress, run_sweep

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"
FIRST, LAST = date(2011, 1, 3), date(2011, 1, 5)
# the figures summary.json and results.csv share (deflated_sharpe differs: the sweep counts its trials)
SHARED = (*SUMMARY_FIGURES, "p_positive_edge", "win_rate_low", "win_rate_high")

FRAGILE = '''
from pydantic import BaseModel, ConfigDict
from mismarterad.strategies import Strategy


class Fragile(Strategy):
    """Buys every 30th bar and sells 15 bars later; raises at bar `fail_at` (0: never)."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        fail_at: int = 0
        quantity: int = 10

    def on_start(self):
        self.seen = 0

    def on_bar(self, symbol, interval, bar):
        self.seen += 1
        if self.params.fail_at and self.seen >= self.params.fail_at:
            raise RuntimeError("the fragile strategy gave up")
        if self.is_last_bar(bar):
            return
        if self.seen % 30 == 1 and self.position(symbol) == 0:
            self.buy(symbol, self.params.quantity)
        elif self.seen % 30 == 16 and self.position(symbol) > 0:
            self.sell(symbol, self.position(symbol))
'''


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING",
             object_store_memory=LOCAL_OBJECT_STORE_BYTES)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep_store")
    subprocess.run([executable("mismarterad"), "data", "import", str(SPY_JANUARY), "--symbol", "SPY"],
                   env=base_env(root / "state", root / "data"), check=True, capture_output=True, timeout=120)
    return root / "data"


def _single_backtest(config: dict, folder: Path, store: Path, first: date, last: date,
                     monkeypatch: pytest.MonkeyPatch) -> dict:
    """summary.json of `mismarterad backtest` of this config (the command's own code, in-process)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("MISMARTERAD_STATE_DIR", str(folder / "state"))
    monkeypatch.setenv("MISMARTERAD_DATA_DIR", str(store))
    assert main(["backtest", str(folder / "config.json"), "--from", first.isoformat(), "--to", last.isoformat(),
                 "--out", str(folder / "report")]) == 0
    return json.loads((folder / "report" / "summary.json").read_text())


def _with_params(params: dict) -> dict:
    config = json.loads(CONFIG.read_text())
    config["strategies"][0]["params"].update(params)
    return config


def _cell(value: object) -> str:
    return "" if value is None else json.dumps(value)


def test_every_row_of_a_sweep_on_two_workers_equals_its_single_backtest(ray_address: str, store: Path,
                                                                        tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sweep"
    run = subprocess.run([executable("mismarterad"), "sweep", str(CONFIG), "--param", "fast=5,10", "--param",
                          "slow=20,30", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--out", str(out),
                          "--workers", "2", "--address", ray_address],
                         env=base_env(tmp_path / "state", store), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == f"report: {out}"
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert list(rows[0])[:2] == ["fast", "slow"] and list(rows[0])[-1] == "error"
    assert [(r["fast"], r["slow"]) for r in rows] == [("5", "20"), ("5", "30"), ("10", "20"), ("10", "30")]
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["engine"] == {"name": "ray", "version": ray.__version__, "address": ray_address, "workers": 2}
    assert (sweep["combinations"], sweep["completed"], sweep["failed"]) == (4, 4, [])
    assert (out / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for row in rows:
        params = {"fast": int(row["fast"]), "slow": int(row["slow"])}
        summary = _single_backtest(_with_params(params), tmp_path / f"single_{row['fast']}_{row['slow']}", store,
                                   FIRST, LAST, monkeypatch)
        assert {k: row[k] for k in SHARED} == {k: _cell(summary[k]) for k in SHARED}, params
        assert row["error"] == ""
        # four trials deflate: never above the lone backtest's probabilistic Sharpe ratio
        assert float(row["deflated_sharpe"]) <= summary["deflated_sharpe"]
    best = json.loads((out / "best.json").read_text())
    top = max(rows, key=lambda r: float(r["sharpe"]))
    assert best["objective"] == "sharpe" and best["params"] == {"fast": int(top["fast"]), "slow": int(top["slow"])}


def test_without_address_the_command_runs_on_a_local_ray_of_the_workers_asked(store: Path,
                                                                           tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    run = subprocess.run([executable("mismarterad"), "sweep", str(CONFIG), "--param", "fast=5,10", "--from",
                          FIRST.isoformat(), "--to", FIRST.isoformat(), "--out", str(out), "--workers", "1"],
                         env=base_env(tmp_path / "state", store), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert " on 1 Ray workers (local)" in run.stdout
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["engine"] == {"name": "ray", "version": ray.__version__, "address": "local", "workers": 1}
    assert (sweep["combinations"], sweep["completed"]) == (2, 2)


def test_a_combination_that_raises_is_reported_while_the_rest_complete(ray_address: str, store: Path,
                                                                       tmp_path: Path) -> None:
    (tmp_path / "fragile.py").write_text(FRAGILE)
    config = json.loads(CONFIG.read_text())
    config["strategies"] = [{"file": "fragile.py", "class": "Fragile", "params": {}}]
    (tmp_path / "config.json").write_text(json.dumps(config))
    plan = SweepPlan(load_session_config(tmp_path / "config.json"), tmp_path, store, 0,
                     (ParamAxis("fail_at", (0, 40)), ParamAxis("quantity", (10, 20))), FIRST, FIRST,
                     objective="total_return")
    with RayPool(2) as pool:
        result = run_sweep(plan, pool.run)
    assert [r.params for r in result.rows] == [{"fail_at": 0, "quantity": 10}, {"fail_at": 0, "quantity": 20},
                                               {"fail_at": 40, "quantity": 10}, {"fail_at": 40, "quantity": 20}]
    for ok in result.rows[:2]:
        assert ok.error is None and ok.figures["trades"] > 0
    for failed in result.rows[2:]:
        assert failed.figures == {}
        assert failed.error is not None and "the fragile strategy gave up" in failed.error
    assert result.best in result.rows[:2]
    out = write_sweep_report(tmp_path / "out", plan, result, {"name": "ray"}, tmp_path / "config.json")
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["error"] != "" for r in rows] == [False, False, True, True]
    assert all(r["total_return"] == "" for r in rows[2:])
    assert [f["params"] for f in json.loads((out / "sweep.json").read_text())["failed"]] == [
        {"fail_at": 40, "quantity": 10}, {"fail_at": 40, "quantity": 20}]


def test_walk_forward_chooses_in_sample_and_measures_out_of_sample(ray_address: str, store: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = (date(2011, 1, 3), date(2011, 1, 4), date(2011, 1, 5), date(2011, 1, 6))
    plan = SweepPlan(load_session_config(CONFIG), CONFIG.parent, store, 0,
                     (ParamAxis("fast", (5, 10)), ParamAxis("slow", (30,))), sessions[0], sessions[-1],
                     objective="total_return", walk_forward=(2, 1), sessions=sessions)
    progress: list[SweepProgress] = []
    with RayPool(2) as pool:
        result = run_sweep(plan, pool.run, progress.append)
    # 2 combinations over the range and over 2 train windows, then 2 test windows
    assert [p.done for p in progress] == list(range(9)) and progress[-1] == SweepProgress(8, 8, 0)
    assert [(w.window.train, w.window.test) for w in result.windows] == [
        (sessions[0:2], sessions[2:3]), (sessions[1:3], sessions[3:4])]
    for w in result.windows:
        assert w.error is None and w.params is not None
        assert not set(w.window.train) & set(w.window.test)
        assert set(w.in_sample) == set(w.out_of_sample) and w.in_sample["total_return"] is not None
    first = result.windows[0]
    summary = _single_backtest(_with_params(first.params), tmp_path / "oos", store, first.window.test[0],
                               first.window.test[-1], monkeypatch)
    assert {k: first.out_of_sample[k] for k in SHARED} == {k: summary[k] for k in SHARED}
    out = write_sweep_report(tmp_path / "out", plan, result, {"name": "ray"}, CONFIG)
    table = list(csv.DictReader((out / "walk_forward.csv").open()))
    assert [(r["window"], r["train_from"], r["test_from"]) for r in table] == [
        ("0", "2011-01-03", "2011-01-05"), ("1", "2011-01-04", "2011-01-06")]
    assert table[0]["out_total_return"] == _cell(first.out_of_sample["total_return"])
    best = json.loads((out / "best.json").read_text())["walk_forward"]
    assert [w["params"] for w in best["windows"]] == [w.params for w in result.windows]
    assert best["out_of_sample"]["windows_measured"] == 2


def test_the_documented_probability_example_backtests(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capfd: pytest.CaptureFixture[str]) -> None:
    """docs/strategies.md's `self.probability` example, as written, runs and asks once a session."""
    guide = (REPO / "docs" / "strategies.md").read_text()
    section = guide[guide.index("## Asking whether a signal's edge is real"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("\n```\n")]
    folder = tmp_path / "example"
    folder.mkdir()
    (folder / "guarded_cross.py").write_text(code)
    config = json.loads(CONFIG.read_text())
    config["strategies"] = [{"file": "guarded_cross.py", "class": "GuardedCross", "params": {}}]
    (folder / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("MISMARTERAD_STATE_DIR", str(folder / "state"))
    monkeypatch.setenv("MISMARTERAD_DATA_DIR", str(store))
    monkeypatch.setenv("MISMARTERAD_LOG_FORMAT", "json")
    assert main(["backtest", str(folder / "config.json"), "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
                 "--out", str(folder / "report")]) == 0
    assert json.loads((folder / "report" / "summary.json").read_text())["trades"] > 0
    asked = [json.loads(line) for line in capfd.readouterr().err.splitlines() if '"event": "edge"' in line]
    assert [a["trades"] for a in asked][0] == 0 and len(asked) == 3  # one question per session
    assert asked[-1]["trades"] > 0 and 0 <= asked[-1]["p_positive_edge"] <= 1
