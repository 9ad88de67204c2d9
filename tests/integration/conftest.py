"""Fixtures of the integration tests that run real backtests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mismarterad.config.settings import Settings
from mismarterad.runs.app import App

SPY_JANUARY_2011 = Path(__file__).resolve().parents[2] / "mismarterad" / "sample_data" / \
    "spy_1min_2011-01_ext_ninjatrader.csv"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the bundled SPY January 2011 1-minute bars (imported once per run)."""
    root = tmp_path_factory.mktemp("store")
    app = App(settings=Settings(data_dir=root / "data", state_dir=root / "state"))
    report = app.data_manager(app.time_manager()).import_file(SPY_JANUARY_2011, "SPY", "1m")
    assert not report.problems
    return root / "data"
