"""The sweep's grid: `--param` parsing, the combinations' order, each one's config, the choice of the best."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mismarterad.config.session_config import load_session_config, parse_session_config
from mismarterad.runs.sweep_grid import ParamAxis, check_axes, combination_config, expand_grid, parse_param
from mismarterad.runs.sweep_runner import SweepRow, choose

CONFIG = Path(__file__).resolve().parents[3] / "session_configs" / "spy_2011_backtest.json"

RATIO_STRATEGY = """
from pydantic import BaseModel, ConfigDict
from mismarterad.strategies import Strategy


class Ratio(Strategy):
    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        ratio: float = 1.0

    def on_bar(self, symbol, interval, bar):
        pass
"""


def test_values_are_read_as_json_scalars_else_as_text() -> None:
    assert parse_param("fast=5,10") == ParamAxis("fast", (5, 10))
    assert parse_param(" ratio = 0.5, 1.5 ") == ParamAxis("ratio", (0.5, 1.5))
    assert parse_param("interval=1m,5m") == ParamAxis("interval", ("1m", "5m"))
    assert parse_param('flag=true,false,null,"x"') == ParamAxis("flag", (True, False, None, "x"))


@pytest.mark.parametrize(("text", "says"), [("fast", "expected NAME=V1,V2"), ("=1,2", "expected NAME=V1,V2"),
                                            ("fast=", "at least one value"), ("fast=1,,2", "no empty ones"),
                                            ("fast=1,1", "repeated"), ("my-param=1", "expected NAME=V1,V2")])
def test_a_bad_param_says_what_is_expected(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_param(text)


def test_the_first_axis_varies_slowest() -> None:
    grid = expand_grid([ParamAxis("fast", (5, 10)), ParamAxis("slow", (20, 30, 60))])
    assert grid[:4] == [{"fast": 5, "slow": 20}, {"fast": 5, "slow": 30}, {"fast": 5, "slow": 60},
                        {"fast": 10, "slow": 20}]
    assert len(grid) == 6


def test_a_combination_config_changes_only_the_strategys_params() -> None:
    config = load_session_config(CONFIG)
    raw = combination_config(config, 0, {"fast": 7})
    changed = parse_session_config(raw)
    assert changed.strategies[0].params == {**config.strategies[0].params, "fast": 7}
    assert changed.model_copy(update={"strategies": config.strategies}) == config


def test_axes_are_checked_against_the_strategys_params() -> None:
    config = load_session_config(CONFIG)
    check_axes([ParamAxis("fast", (5,)), ParamAxis("slow", (30,))], config, 0, CONFIG.parent)
    for axes, index, says in [([ParamAxis("speed", (1,))], 0, "no such parameter"),
                              ([ParamAxis("fast", (1,)), ParamAxis("fast", (2,))], 0, "given twice"),
                              ([ParamAxis("fast", (1,))], 1, "the config has 1 strategy"), ([], 0, "no --param")]:
        with pytest.raises(ValueError, match=says):
            check_axes(axes, config, index, CONFIG.parent)


@pytest.mark.parametrize("text", ["fast=NaN", "fast=5,Infinity", "fast=-Infinity", "fast=1e999"])
def test_a_value_that_is_not_a_finite_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="values must be finite numbers"):
        parse_param(text)


FIELD_REFUSALS = {"fast=5,abc": 'invalid --param fast="abc": input should be a valid integer',
                  "fast=5,1O": 'invalid --param fast="1O": input should be a valid integer',
                  "fast=5.5": "invalid --param fast=5.5: input should be a valid integer, got a number with a "
                              "fractional part",
                  "fast=0": "invalid --param fast=0: input should be greater than or equal to 1"}


@pytest.mark.parametrize("text", FIELD_REFUSALS)
def test_a_value_its_field_refuses_on_its_own_is_a_usage_error(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(FIELD_REFUSALS[text])}"):
        check_axes([parse_param(text)], load_session_config(CONFIG), 0, CONFIG.parent)


def test_a_float_field_that_reads_nan_text_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ratio.py").write_text(RATIO_STRATEGY)
    raw = json.loads(CONFIG.read_text())
    raw["strategies"] = [{"file": "ratio.py", "class": "Ratio", "params": {}}]
    config = parse_session_config(raw)
    check_axes([parse_param("ratio=0.5,2")], config, 0, tmp_path)
    with pytest.raises(ValueError, match="invalid --param ratio=\"nan\": must be a finite number"):
        check_axes([parse_param("ratio=0.5,nan")], config, 0, tmp_path)


def test_a_combination_only_its_whole_grid_point_refuses_is_left_to_its_backtest() -> None:
    # fast >= slow is the strategy's check of the combination, not of either value
    check_axes([parse_param("fast=5,50"), parse_param("slow=20,30")], load_session_config(CONFIG), 0, CONFIG.parent)


def _row(n: int, **figures: float | None) -> SweepRow:
    return SweepRow({"n": n}, dict(figures), None)


def test_the_best_row_is_the_first_of_equals_and_never_one_without_the_figure() -> None:
    rows = [_row(0, sharpe=None, max_drawdown=0.1), _row(1, sharpe=1.0, max_drawdown=0.2),
            _row(2, sharpe=1.0, max_drawdown=0.05), SweepRow({"n": 3}, {}, "failed")]
    assert choose(rows, "sharpe") is rows[1]
    assert choose(rows, "max_drawdown") is rows[2]  # lowest is best
    assert choose(rows[:1] + rows[3:], "sharpe") is None
