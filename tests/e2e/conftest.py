"""Run the installed `mismarterad` command in a subprocess with its own temp state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

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
