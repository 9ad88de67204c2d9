"""`mismarterad data ...` under stress: concurrent imports, damaged store files, out-of-range
rows. Real processes, reached only through their exit codes and output."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.daemon_process import base_env, executable

SAMPLE = Path(__file__).resolve().parents[2] / "mismarterad" / "sample_data"
SPY_JAN = SAMPLE / "spy_1min_2011-01_ext_ninjatrader.csv"
SPY_MAR = SAMPLE / "spy_1min_2011-03_ext_ninjatrader.csv"
AAPL = SAMPLE / "aapl_1min_2023-05-24_to_26_ext_lwc.csv"
CONFIG = Path(__file__).resolve().parents[2] / "session_configs" / "spy_2011_backtest.json"
JAN_FILE = "bars/interval=1m/symbol=SPY/2011-01.parquet"

CommandResult = subprocess.CompletedProcess[str]


def _no_traceback(result: CommandResult) -> None:
    assert "Traceback" not in result.stderr and "ArrowInvalid" not in result.stderr, result.stderr


def test_two_overlapping_imports_at_once_on_a_fresh_state_dir_keep_every_row(
    tmp_path: Path, cli_env: dict[str, str], mismarterad: Callable[..., CommandResult]
) -> None:
    lines = SPY_JAN.read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    assert len(rows) == 14180
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(header + "".join(rows[:9000]))  # rows 1-9000
    b.write_text(header + "".join(rows[4999:]))  # rows 5000-14180
    exe = executable("mismarterad")
    procs = [subprocess.Popen([exe, "data", "import", str(f), "--symbol", "SPY"], env=cli_env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in (a, b)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, out + err  # neither the migration nor the store write raced
    listing = mismarterad("data", "list")
    assert listing.returncode == 0, listing.stderr
    assert "14180" in listing.stdout, listing.stdout


# --- a damaged month ---

@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("damage")
    env = base_env(root / "state", root / "data")
    for path, symbol in ((SPY_JAN, "SPY"), (SPY_MAR, "SPY"), (AAPL, "AAPL")):
        subprocess.run([executable("mismarterad"), "data", "import", str(path), "--symbol", symbol], env=env,
                       check=True, capture_output=True, timeout=120)
    return root


def _damage(kind: str, path: Path) -> None:
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "zero-length":
        path.write_bytes(b"")
    else:
        flipped = bytearray(data)
        flipped[len(data) // 3] ^= 0x10
        path.write_bytes(bytes(flipped))


@pytest.fixture(params=["truncated", "zero-length", "bit-flipped"])
def damaged_store(request: pytest.FixtureRequest, imported: Path, cli_env: dict[str, str]) -> str:
    data = Path(cli_env["MISMARTERAD_DATA_DIR"])
    shutil.copytree(imported / "data", data)
    shutil.copytree(imported / "state", cli_env["MISMARTERAD_STATE_DIR"])
    _damage(request.param, data / JAN_FILE)
    return request.param


def test_damaged_month_is_named_and_fails_only_the_reads_that_need_it(
    damaged_store: str, cli_env: dict[str, str], mismarterad: Callable[..., CommandResult]
) -> None:
    path = str(Path(cli_env["MISMARTERAD_DATA_DIR"]) / JAN_FILE)
    export = mismarterad("data", "export", "--symbol", "SPY", "--interval", "1m", "--from", "2011-01-03",
                         "--to", "2011-01-07")
    assert export.returncode == 74, export.stderr
    _no_traceback(export)
    assert path in export.stderr and "SPY 1m 2011-01" in export.stderr
    quality = mismarterad("data", "quality", "--symbol", "SPY", "--from", "2011-01-03", "--to", "2011-01-04")
    assert quality.returncode == 74 and path in quality.stderr
    _no_traceback(quality)
    for symbol, day in (("SPY", "2011-03-01"), ("AAPL", "2023-05-25")):  # other months, other symbols
        ok = mismarterad("data", "export", "--symbol", symbol, "--interval", "1m", "--from", day, "--to", day)
        assert ok.returncode == 0, ok.stderr
        assert len(ok.stdout.splitlines()) > 10
    listing = mismarterad("data", "list")
    assert listing.returncode == 0, listing.stderr
    _no_traceback(listing)
    assert "AAPL" in listing.stdout and "SPY" in listing.stdout
    if damaged_store != "bit-flipped":  # an intact footer: only a full read (verify) finds it
        assert "damaged" in listing.stdout and path in listing.stderr
    verify = mismarterad("data", "verify")
    assert verify.returncode == 65, verify.stdout + verify.stderr
    _no_traceback(verify)
    assert verify.stdout.splitlines() == [line for line in verify.stdout.splitlines() if path in line]
    assert len(verify.stdout.splitlines()) == 1 and "SPY 1m 2011-01" in verify.stdout


@pytest.mark.slow
def test_backtest_needing_the_damaged_month_exits_74_and_another_month_runs(
    damaged_store: str, tmp_path: Path, mismarterad: Callable[..., CommandResult]
) -> None:
    bad = mismarterad("backtest", str(CONFIG), "--out", str(tmp_path / "jan"), "--from", "2011-01-03",
                      "--to", "2011-01-04")
    assert bad.returncode == 74, bad.stderr
    _no_traceback(bad)
    assert JAN_FILE in bad.stderr
    assert not (tmp_path / "jan").exists()
    good = mismarterad("backtest", str(CONFIG), "--out", str(tmp_path / "mar"), "--from", "2011-03-01",
                       "--to", "2011-03-02")
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "mar" / "trades.csv").exists()


def test_reimport_replaces_the_damaged_month_and_keeps_a_copy(
    damaged_store: str, cli_env: dict[str, str], mismarterad: Callable[..., CommandResult]
) -> None:
    path = Path(cli_env["MISMARTERAD_DATA_DIR"]) / JAN_FILE
    broken = path.read_bytes()
    result = mismarterad("data", "import", str(SPY_JAN), "--symbol", "SPY")
    assert result.returncode == 0, result.stderr
    assert "14180 rows read, 14144 inserted, 0 replaced, 36 unchanged" in result.stdout  # 36 are February UTC
    assert path.with_name("2011-01.parquet.damaged").read_bytes() == broken
    verify = mismarterad("data", "verify")
    assert verify.returncode == 0 and verify.stdout == "", verify.stdout + verify.stderr
    export = mismarterad("data", "export", "--symbol", "SPY", "--interval", "1m", "--from", "2011-01-03",
                         "--to", "2011-01-31")
    assert export.returncode == 0 and len(export.stdout.splitlines()) == 14181


# --- rows outside the sane ranges ---

@pytest.mark.parametrize("timestamp", ["9999-12-31T09:30:00-05:00", "0001-01-01T09:30:00-05:00",
                                       "9999-12-31T23:59:00-05:00", "0001-01-01T00:00:00+01:00",
                                       "1989-12-29T09:30:00-05:00", "2200-01-03T09:30:00-05:00"])
def test_out_of_range_timestamp_is_rejected_with_its_line_and_the_store_stays_usable(
    tmp_path: Path, mismarterad: Callable[..., CommandResult], timestamp: str
) -> None:
    good = "2011-01-03T09:30:00-05:00,10,11,9,10,100\n"
    csv = tmp_path / "bad.csv"
    csv.write_text("timestamp,open,high,low,close,volume\n" + good + f"{timestamp},10,11,9,10,100\n")
    result = mismarterad("data", "import", str(csv), "--symbol", "SPY")
    assert result.returncode == 65, result.stdout + result.stderr
    _no_traceback(result)
    assert "line 3:" in result.stderr and "outside" in result.stderr
    skipped = mismarterad("data", "import", str(csv), "--symbol", "SPY", "--skip-bad-rows")
    assert skipped.returncode == 65 and "1 inserted" in skipped.stdout
    listing = mismarterad("data", "list")
    assert listing.returncode == 0 and "2011-01-03" in listing.stdout, listing.stderr
    verify = mismarterad("data", "verify")
    assert verify.returncode == 0, verify.stdout


@pytest.mark.parametrize("command", [["export", "--from", "2011-01-03", "--to", "2011-01-03"], ["import", "x.csv"]])
def test_a_bad_interval_is_a_usage_error_in_one_line(mismarterad, command) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", *command, "--symbol", "SPY", "--interval", "7x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid interval '7x'" in result.stderr.strip().splitlines()[-1]
