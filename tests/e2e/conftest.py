"""Run the installed `mismarterad` command in a subprocess with its own temp state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.venue_day import VenueDay, import_emulator_store, venue_session_config
from support.daemon_process import DAEMON_SESSION_CONFIG, DAY, SPY_JANUARY, DaemonProcess, base_env, executable

CommandResult = subprocess.CompletedProcess[str]


def _executable(name: str) -> list[str]:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"console script {name!r} is not installed next to {sys.executable}; run `pip install .`")
    return [found]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISMARTERAD_")}
    env.update(
        MISMARTERAD_STATE_DIR=str(tmp_path / "state"),
        MISMARTERAD_DATA_DIR=str(tmp_path / "data"),
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    return env


@pytest.fixture
def mismarterad(cli_env: dict[str, str]) -> Callable[..., CommandResult]:
    exe = _executable("mismarterad")

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> CommandResult:
        return subprocess.run([*exe, *args], capture_output=True, text=True, env=env or cli_env,
                              timeout=timeout, check=False)

    return run


# -- the daemon: a real process reached through its socket, metrics port, signals, NOTIFY_SOCKET --

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store")
    env = base_env(root / "state", root / "data")
    subprocess.run([executable("mismarterad"), "data", "import", str(SPY_JANUARY), "--symbol", "SPY"], env=env,
                   check=True, capture_output=True, timeout=120)
    return root / "data"


@pytest.fixture(scope="module")
def backtest_trades(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """trades.csv of `mismarterad backtest` for the replayed day, the reference of the daemon."""
    root = tmp_path_factory.mktemp("bt")
    subprocess.run([executable("mismarterad"), "backtest", str(DAEMON_SESSION_CONFIG), "--from", DAY, "--to", DAY,
                    "--out", str(root / "out")], env=base_env(root / "state", data_dir), check=True, capture_output=True,
                   timeout=120)
    return (root / "out" / "trades.csv").read_text()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for d in started:
        d.kill()
        d.notify.close()


# -- the venue emulators' own store and the session config the daemon trades with there -------------------

@pytest.fixture(scope="module")
def emulator_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_emulator_store(tmp_path_factory.mktemp("emulator") / "data")


@pytest.fixture(scope="module")
def alpaca_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return venue_session_config(tmp_path_factory.mktemp("session"))


@pytest.fixture
def venue_days() -> Iterator[list[VenueDay]]:
    """Replayed days (daemon + emulator) a test starts; each is killed and stopped at its end."""
    started: list[VenueDay] = []
    yield started
    for day in started:
        day.daemon.kill()
        day.daemon.notify.close()
        day.emulator.stop()
