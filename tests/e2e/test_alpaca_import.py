"""`mismarterad data import-api --source alpaca`: history over Alpaca's data API (the emulator's,
driven by the real alpaca-py client inside the adapter), with the file imports' checks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.alpaca_day import regular_session_bars
from support.alpaca_emulator import KEY_ID, SECRET, AlpacaEmulator, start_emulator
from support.daemon_process import free_port

from mismarterad.repositories.parquet_bar_store import ParquetBarStore


@pytest.fixture(scope="module")
def emulator(emulator_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlpacaEmulator]:
    """On its clock's 2011-01-06 before the open: the three days before are history."""
    state = tmp_path_factory.mktemp("emulator-state")
    running = start_emulator(emulator_data, state, clock_start="2011-01-06T09:00:00-05:00", speed=1)
    yield running
    running.stop()


def keys(env: dict[str, str], secret: str = SECRET) -> dict[str, str]:
    return {**env, "APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": secret}


def test_import_api_from_alpaca_stores_what_the_venue_has(
        emulator: AlpacaEmulator, emulator_data: Path, mismarterad: Callable[..., Any], cli_env: dict[str, str]) -> None:
    result = mismarterad("data", "import-api", "--source", "alpaca", "--endpoint", emulator.base_url,
                         "--symbol", "spy", "--from", "2011-01-03", "--to", "2011-01-05", env=keys(cli_env))
    assert result.returncode == 0, result.stderr
    ours = Path(cli_env["MISMARTERAD_DATA_DIR"])
    emulated = emulator_data
    for day in ("2011-01-03", "2011-01-04", "2011-01-05"):
        got = regular_session_bars(ours, "SPY", day)
        assert got and got == regular_session_bars(emulated, "SPY", day)
    assert SECRET not in result.stdout + result.stderr
    future = mismarterad("data", "import-api", "--source", "alpaca", "--endpoint", emulator.base_url,
                         "--symbol", "SPY", "--from", "2011-01-06", "--to", "2011-01-06", env=keys(cli_env))
    assert future.returncode == 0, future.stderr
    today = ParquetBarStore(ours).read_bars("SPY", "1m", datetime(2011, 1, 6, 5, tzinfo=UTC),
                                            datetime(2011, 1, 7, 5, tzinfo=UTC))
    assert today, "the pre-market minutes already past"
    assert today[-1].start_utc + timedelta(minutes=1) <= datetime(2011, 1, 6, 14, tzinfo=UTC), \
        "no bar of the venue's future (its clock is at 09:00 New York)"


def test_import_api_refusals_are_one_line_with_their_exit_code(
        emulator: AlpacaEmulator, mismarterad: Callable[..., Any], cli_env: dict[str, str],
        tmp_path: Path) -> None:
    common = ["data", "import-api", "--source", "alpaca", "--symbol", "SPY", "--from", "2011-01-03",
              "--to", "2011-01-03"]
    wrong = mismarterad(*common, "--endpoint", emulator.base_url, env=keys(cli_env, "wrong-secret-xyz"))
    assert wrong.returncode == 78 and "APCA_API_KEY_ID" in wrong.stderr and "wrong-secret-xyz" not in wrong.stderr
    assert len([line for line in wrong.stderr.splitlines() if line.startswith("mismarterad:")]) == 1, wrong.stderr
    dead = mismarterad(*common, "--endpoint", f"http://127.0.0.1:{free_port()}", env=keys(cli_env))
    assert dead.returncode == 74 and "127.0.0.1" in dead.stderr, dead.stderr
    assert "Traceback" not in dead.stderr
    bad_url = mismarterad(*common, "--endpoint", "ftp://x", env=keys(cli_env))
    assert bad_url.returncode == 78 and "--endpoint" in bad_url.stderr
    no_keys = mismarterad(*common, "--endpoint", emulator.base_url, env=cli_env)
    assert no_keys.returncode == 78 and "APCA_API_KEY_ID" in no_keys.stderr
    exposed = tmp_path / "keys"
    exposed.write_text(f"APCA_API_KEY_ID={KEY_ID}\nAPCA_API_SECRET_KEY={SECRET}\n")
    os.chmod(exposed, 0o644)
    open_file = mismarterad(*common, "--endpoint", emulator.base_url, "--credentials-file", str(exposed), env=cli_env)
    assert open_file.returncode == 78 and "0600" in open_file.stderr and SECRET not in open_file.stderr
    store = Path(cli_env["MISMARTERAD_DATA_DIR"])
    assert not store.exists() or not ParquetBarStore(store).read_bars("SPY", "1m", START, END), \
        "nothing was stored by the refused imports"


START, END = datetime(2011, 1, 3, tzinfo=UTC), datetime(2011, 1, 4, tzinfo=UTC)
