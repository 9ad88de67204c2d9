"""What the host can do to the files under the project: a full disk, a read-only data directory,
a state directory that vanishes under a running daemon. Each ends in one line and a documented
exit code (74), nothing half-written, and the daemon keeps running where it can."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from support.tmpfs import tiny_tmpfs
from support.daemon_process import DAY, SPY_JANUARY, DaemonProcess, make_daemon

SMALL = "96k"  # holds a database and a month of bars' metadata, not a whole import


def _store_files(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def _one_clean_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("mismarterad:")]
    assert lines, result.stderr
    return lines[-1]


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    with tiny_tmpfs(tmp_path / "tiny", SMALL) as mount:
        yield mount


def test_an_import_onto_a_full_disk_is_one_line_exit_74_and_stores_nothing(
        mismarterad, cli_env: dict[str, str], full_disk: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**cli_env, "MISMARTERAD_DATA_DIR": str(full_disk / "data")}
    line = _one_clean_line(mismarterad("data", "import", str(SPY_JANUARY), "--symbol", "SPY", env=env), 74)
    assert "No space left" in line or "full" in line, line
    assert not any(p.suffix == ".parquet" for p in (full_disk / "data").rglob("*")), "nothing half-written"
    listed = mismarterad("data", "list", env=env)
    assert listed.returncode == 0 and "SPY" not in listed.stdout


def test_a_backtest_report_onto_a_full_disk_is_one_line_exit_74_and_leaves_no_folder(
        mismarterad, full_disk: Path) -> None:  # type: ignore[no-untyped-def]
    assert mismarterad("data", "import", str(SPY_JANUARY), "--symbol", "SPY").returncode == 0
    config = Path(__file__).resolve().parents[2] / "session_configs" / "spy_2011_backtest.json"
    filler = full_disk / "filler"
    with filler.open("wb") as handle, suppress(OSError):  # leave no room: the report cannot fit
        handle.write(b"\0" * 10**6)
    result = mismarterad("backtest", str(config), "--from", "2011-01-03", "--to", "2011-01-07",
                         "--out", str(full_disk / "report"))
    _one_clean_line(result, 74)
    assert not (full_disk / "report").exists()
    assert [p.name for p in full_disk.iterdir()] == ["filler"], "no staging folder is left behind"


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` read-only for this process: a read-only bind mount as root (root ignores file
    modes), the write bits taken away otherwise."""
    if os.geteuid() == 0:
        bound = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, text=True, check=False)
        if bound.returncode != 0:
            pytest.skip(f"cannot bind-mount here ({bound.stderr.strip()}); the read-only case is not exercised")
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True, capture_output=True)
            yield
        finally:
            subprocess.run(["umount", str(path)], check=False)
        return
    paths = [path, *path.rglob("*")]
    for p in paths:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        yield
    finally:
        for p in paths:
            p.chmod(p.stat().st_mode | 0o200)


def test_a_read_only_data_directory_refuses_imports_in_one_line_and_still_serves_reads(
        mismarterad, cli_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    data_dir = Path(cli_env["MISMARTERAD_DATA_DIR"])
    assert mismarterad("data", "import", str(SPY_JANUARY), "--symbol", "SPY").returncode == 0
    before = _store_files(data_dir)
    with read_only(data_dir):
        line = _one_clean_line(mismarterad("data", "import", str(SPY_MARCH), "--symbol", "SPY"), 74)
        assert "Read-only" in line or "Permission" in line, line
        exported = mismarterad("data", "export", "--symbol", "SPY", "--interval", "5m", "--from", "2011-01-03",
                               "--to", "2011-01-03")
        assert exported.returncode == 0 and exported.stdout.count("\n") == 1 + 78, exported.stderr
    assert _store_files(data_dir) == before


SPY_MARCH = SPY_JANUARY.with_name("spy_1min_2011-03_ext_ninjatrader.csv")


@pytest.mark.slow
def test_a_vanished_state_directory_does_not_stop_the_daemon(data_dir: Path, tmp_path: Path) -> None:
    d: DaemonProcess = make_daemon(tmp_path / "d", data_dir, start=f"{DAY}T09:25:00-05:00", speed=600)
    d.start()
    try:
        d.wait_ready()
        d.wait_for(lambda s: s["state"] == "RUNNING" and s["bars_processed"] > 5, 60, "trading")
        shutil.rmtree(d.root / "state")  # an operator's mistake, or a cleaner run amok
        # the database, the reports and the one-daemon lock are gone: it settles the day-run as a
        # SIGTERM would and exits 74, so systemd restarts it on a fresh state directory
        assert d.wait_exit(15) == 74
        events = [e.get("event") for e in d.log_events()]
        assert "state_directory_vanished" in events and "daemon_stopped" in events, events
        assert "Traceback" not in d.log_text()
    finally:
        d.kill()
        d.notify.close()
