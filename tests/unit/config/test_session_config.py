"""Session config validation: one test per kind of error, plus the shipped examples."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mismarterad.config.session_config import load_session_config, parse_session_config
from mismarterad.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]

VALID: dict[str, Any] = {
    "session_name": "test",
    "exchange_group": "US_EQUITY",
    "asset_class": "EQUITY",
    "mode": "backtest",
    "backtest_config": {"backtest_days": 5, "speed_multiplier": 0, "prefetch_days": 2},
    "session_data_config": {
        "symbols": ["SPY", "AAPL"],
        "streams": ["bars_1m"],
        "historical": {
            "data": [{"apply_to": "all", "intervals": ["1m", "1d"], "trailing_days": 10}],
            "indicators": {
                "avg_volume": {"type": "trailing_average", "field": "volume", "period": "10d", "granularity": "daily"}
            },
        },
        "gap_filler": {"max_retries": 3, "retry_interval_seconds": 5, "enable_session_quality": True},
    },
}


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_session_config(raw)
    return info.value.problems


def edited(path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(VALID)
    node: Any = raw
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return raw


_DELETE = object()


def test_valid_config_parses() -> None:
    cfg = parse_session_config(VALID)
    assert cfg.session_data_config.historical.data[0].trailing_days == 10


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "session_configs").glob("*.json")))
def test_shipped_example_configs_are_valid(name: str) -> None:
    load_session_config(REPO / "session_configs" / name)


def test_negative_trailing_days_names_the_field_and_value() -> None:
    assert problems_of(edited("session_data_config.historical.data.0.trailing_days", -3)) == [
        "session_data_config.historical.data[0].trailing_days: must be >= 0, got -3"
    ]


def test_invalid_mode_lists_the_choices() -> None:
    assert problems_of(edited("mode", "paper")) == ["mode: must be one of 'backtest' or 'live', got 'paper'"]


def test_missing_required_field() -> None:
    assert problems_of(edited("session_name", _DELETE)) == ["session_name: required field is missing"]


def test_unknown_key_is_rejected() -> None:
    assert problems_of(edited("session_data_config.data_streams", ["bars_1m"])) == [
        "session_data_config.data_streams: unknown key (not part of the schema)"
    ]


def test_wrong_type() -> None:
    (problem,) = problems_of(edited("backtest_config.prefetch_days", "two"))
    assert problem.startswith("backtest_config.prefetch_days: ") and "'two'" in problem


def test_invalid_interval() -> None:
    (problem,) = problems_of(edited("session_data_config.historical.data.0.intervals", ["1m", "7x"]))
    assert problem.startswith("session_data_config.historical.data[0].intervals[1]: invalid interval '7x'")


def test_invalid_symbol() -> None:
    (problem,) = problems_of(edited("session_data_config.symbols", ["SPY", "not a symbol"]))
    assert problem.startswith("session_data_config.symbols[1]: invalid symbol")


def test_empty_symbol_list() -> None:
    (problem,) = problems_of(edited("session_data_config.symbols", []))
    assert problem.startswith("session_data_config.symbols: must have at least 1 item")


def test_invalid_indicator_type() -> None:
    (problem,) = problems_of(edited("session_data_config.historical.indicators.avg_volume.type", "median"))
    assert problem.startswith("session_data_config.historical.indicators.avg_volume.type: must be one of")


def test_invalid_stream() -> None:
    (problem,) = problems_of(edited("session_data_config.streams", ["bars_1m", "candles"]))
    assert problem.startswith("session_data_config.streams[1]: invalid stream 'candles'")


def test_cross_field_apply_to_unknown_symbol() -> None:
    assert problems_of(edited("session_data_config.historical.data.0.apply_to", ["SPY", "TSLA"])) == [
        "session_data_config.historical.data[0].apply_to[1]: 'TSLA' is not in session_data_config.symbols"
    ]


def test_cross_field_duplicate_symbol() -> None:
    assert problems_of(edited("session_data_config.symbols", ["SPY", "SPY"])) == [
        "session_data_config.symbols[1]: duplicate symbol 'SPY'"
    ]


def test_cross_field_backtest_needs_backtest_config() -> None:
    assert problems_of(edited("backtest_config", _DELETE)) == ["backtest_config: required when mode is 'backtest'"]


def test_cross_field_unknown_market() -> None:
    (problem,) = problems_of(edited("exchange_group", "LSE"))
    assert problem.startswith("exchange_group: no market hours for LSE/EQUITY")


def test_one_bad_field_does_not_hide_the_others() -> None:
    raw = edited("mode", "paper")
    raw["backtest_config"]["backtest_days"] = 0
    raw["session_data_config"]["historical"]["data"][0]["trailing_days"] = -3
    raw["session_data_config"]["surprise"] = 1
    problems = problems_of(raw)
    assert len(problems) == 4
    assert {p.split(":")[0] for p in problems} == {
        "mode",
        "backtest_config.backtest_days",
        "session_data_config.historical.data[0].trailing_days",
        "session_data_config.surprise",
    }


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "session_name": "x",\n  "mode": backtest\n}\n')
    with pytest.raises(ConfigError) as info:
        load_session_config(path)
    assert info.value.problems == ["line 3 column 11: invalid JSON: Expecting value"]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_session_config(tmp_path / "nope.json")


def test_top_level_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError) as info:
        load_session_config(path)
    assert info.value.problems[0].startswith("(top level): ")
