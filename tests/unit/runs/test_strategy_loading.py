"""Resolving strategy entries: each strategy is built once at load to check its requests, and a
user file may import only the strategy API, core values and pure services."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mismarterad.config.session_config import parse_session_config
from mismarterad.core.errors import ConfigError
from mismarterad.runs.strategy_loading import resolve_strategies

REPO = Path(__file__).resolve().parents[3]
VALID = json.loads((REPO / "session_configs" / "spy_2011_backtest.json").read_text())


def problems_of(tmp_path: Path, source: str, history: list[dict[str, object]] | None = None) -> list[str]:
    (tmp_path / "mine.py").write_text(source)
    raw = json.loads(json.dumps(VALID))
    raw["strategies"] = [{"file": "mine.py", "class": "Mine"}]
    if history is not None:
        raw["session_data_config"]["historical"]["data"] = history
    try:
        resolve_strategies(parse_session_config(raw), tmp_path)
    except ConfigError as exc:
        return exc.problems
    return []


HEAD = "from mismarterad.strategies import Strategy\n"


@pytest.mark.parametrize("line", ["import mismarterad.config.settings", "from mismarterad.config import settings",
                                  "from mismarterad import managers", "from mismarterad.runs.app import App"])
def test_a_strategy_file_importing_the_daemons_insides_is_refused_by_line(tmp_path: Path, line: str) -> None:
    problems = problems_of(tmp_path, HEAD + "def helper():\n    " + line + "\nclass Mine(Strategy):\n    pass\n")
    assert len(problems) == 1
    assert problems[0].startswith("strategies[0].file: mine.py line 3 imports mismarterad.")
    assert problems[0].endswith("a strategy may import only mismarterad.strategies, mismarterad.core and "
                                "mismarterad.services")


def test_the_strategy_api_core_values_and_services_may_be_imported(tmp_path: Path) -> None:
    assert problems_of(tmp_path, HEAD + "import structlog\nfrom mismarterad.core.market_data import Bar\n"
                                        "from mismarterad.services.indicators import rsi\n"
                                        "from mismarterad import __version__\n"
                                        "class Mine(Strategy):\n    pass\n") == []


def test_a_strategy_whose_init_fails_is_named_at_load(tmp_path: Path) -> None:
    source = HEAD + "class Mine(Strategy):\n    def __init__(self, *a):\n        super().__init__(*a)\n" \
                    "        self.first = self.bars('SPY', '1m', 1)\n"
    assert problems_of(tmp_path, source) == [
        "strategies[0] (Mine#0): building Mine failed: StrategyError: bars() is not available while the strategy "
        "is built (use on_start or on_session_start)"]


def test_reading_daily_bars_needs_daily_history_in_the_config(tmp_path: Path) -> None:
    source = HEAD + "class Mine(Strategy):\n    read_intervals = ('1d',)\n"
    assert problems_of(tmp_path, source) == [
        "strategies[0] (Mine#0): reads 1d bars, but session_data_config.historical.data loads no 1d history of "
        "SPY (add {\"intervals\": [\"1d\"], \"trailing_days\": N})"]
    assert problems_of(tmp_path, source, [{"intervals": ["1d"], "trailing_days": 5}]) == []
