"""`mismarterad sweep` refuses a bad command line with one line and exit 2, a bad config with 78,
an --out it cannot write with 74, before any Ray starts (tests/integration/test_sweep_ray.py runs sweeps)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.daemon_process import free_port

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"
RANGE = ("--from", "2011-01-03", "--to", "2011-01-07")


@pytest.mark.parametrize(("args", "expected"), [
    (("--param", "fast"), "invalid --param 'fast': expected NAME=V1,V2,..."),
    (("--param", "speed=1,2"), "--param speed: strategies[0] has no such parameter (its parameters: fast, slow,"),
    (("--param", "fast=abc"), 'invalid --param fast="abc": input should be a valid integer'),
    (("--param", "fast=5.5"), "invalid --param fast=5.5: input should be a valid integer, got a number with a "
                              "fractional part"),
    (("--param", "fast=NaN,10"), "invalid --param 'fast=NaN,10': values must be finite numbers"),
    (("--param", "fast=5,10", "--walk-forward", "4:2"), "--walk-forward 4:2 needs at least 6 sessions; "
                                                        "--from 2011-01-03 --to 2011-01-07 holds 5"),
])
def test_a_bad_sweep_command_line_gets_one_line_and_exit_2(mismarterad, tmp_path, args, expected) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("sweep", str(CONFIG), *args, *RANGE, "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("mismarterad:")]  # beside INFO logs
    assert line.startswith(f"mismarterad: error: {expected}"), line
    assert not (tmp_path / "out").exists()


def test_a_bad_config_exits_78_naming_the_field(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "bad.json"
    config.write_text(CONFIG.read_text().replace('"initial_cash": 1000000', '"initial_cash": "lots"'))
    result = mismarterad("sweep", str(config), "--param", "fast=5,10", *RANGE, "--out", str(tmp_path / "out"))
    assert result.returncode == 78, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "configuration error" in line and "initial_cash" in line


def test_a_ray_head_that_does_not_answer_exits_69_at_once(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = mismarterad("sweep", str(CONFIG), "--param", "fast=5,10", *RANGE, "--address", address,
                         "--out", str(tmp_path / "out"))
    assert result.returncode == 69, result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("mismarterad:")]
    assert line.startswith(f"mismarterad: cannot join the Ray cluster at {address}: its head does not answer")
    assert not (tmp_path / "out").exists()


def test_an_out_folder_that_cannot_be_made_exits_74_before_any_sweep(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file.txt").write_text("a file, not a folder")
    out = tmp_path / "file.txt" / "sweep"
    result = mismarterad("sweep", str(CONFIG), "--param", "fast=5,10", *RANGE, "--out", str(out))
    assert result.returncode == 74, result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("mismarterad:")]
    assert line.startswith(f"mismarterad: --out {out}: cannot write the report folder"), line
    assert result.stdout == ""  # no sweep ran
