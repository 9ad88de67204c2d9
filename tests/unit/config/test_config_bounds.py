"""Every number in a config is finite and within its documented bounds; a file that is not
UTF-8 JSON is one ConfigError naming what was expected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mismarterad.config.daemon_config import load_daemon_config
from mismarterad.config.session_config import ConfigFileError, load_session_config, parse_session_config
from mismarterad.core.errors import ConfigError
from mismarterad.runs.strategy_loading import resolve_strategies

REPO = Path(__file__).resolve().parents[3]
VALID = json.loads((REPO / "session_configs" / "spy_2011_backtest.json").read_text())


def _problems(**changes: Any) -> list[str]:
    raw = json.loads(json.dumps(VALID))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = raw
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    try:
        resolve_strategies(parse_session_config(raw), REPO)
    except ConfigError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("backtest_config__initial_cash", float("inf"), "backtest_config.initial_cash: input should be a finite number"),
    ("backtest_config__initial_cash", float("nan"), "backtest_config.initial_cash: input should be a finite number"),
    ("backtest_config__initial_cash", 2e12, "backtest_config.initial_cash: must be <= 1000000000000"),
    ("backtest_config__backtest_days", 10**40, "backtest_config.backtest_days: must be <= 10000"),
    ("backtest_config__speed_multiplier", 1e9, "backtest_config.speed_multiplier: must be <= 100000"),
    ("backtest_config__slippage_bps", float("inf"), "backtest_config.slippage_bps: input should be a finite"),
    ("backtest_config__commission_per_share", 1e6, "backtest_config.commission_per_share: must be <= 100"),
    ("backtest_config__prefetch_days", 10**9, "backtest_config.prefetch_days: must be <= 30"),
    ("session_data_config__historical__data__0__trailing_days", 10**12,
     "session_data_config.historical.data[0].trailing_days: must be <= 3650"),
    ("session_data_config__gap_filler__retry_interval_seconds", float("inf"),
     "session_data_config.gap_filler.retry_interval_seconds: input should be a finite number"),
    ("strategies__0__params__quantity", 10**30, "strategies[0].params.quantity: must be <= 1000000000"),
    ("strategies__0__params__slow", 10**12, "strategies[0].params.slow: must be <= 100000"),
    ("strategies__0__params__extra", [1, {"x": float("-inf")}], "strategies[0].params: must hold finite numbers"),
])
def test_out_of_bounds_and_non_finite_numbers_are_refused_by_field(field: str, value: Any, expected: str) -> None:
    problems = _problems(**{field: value})
    assert any(p.startswith(expected) for p in problems), problems


def test_the_bounds_themselves_are_accepted() -> None:
    assert _problems(backtest_config__initial_cash=1e12, backtest_config__backtest_days=10_000,
                     session_data_config__historical__data__0__trailing_days=3650,
                     strategies__0__params__quantity=10**9) == []


def test_deep_json_and_non_utf8_bytes_are_one_line_each(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(ConfigFileError) as caught:
        load_session_config(deep)
    assert str(caught.value) == f"{deep}: invalid JSON: nested deeper than 100 levels"
    binary = tmp_path / "bin.json"
    binary.write_bytes(b'{\n "session_name": "caf\xe9"}')
    with pytest.raises(ConfigFileError) as caught:
        load_session_config(binary)
    assert str(caught.value) == (f"{binary}: line 2: not UTF-8 text: byte 0xe9 at offset 23 "
                                 "(expected a UTF-8 JSON file)")
    huge = tmp_path / "huge.json"
    huge.write_text('{"x": ' + "9" * 5000 + "}")
    with pytest.raises(ConfigFileError, match="invalid JSON"):
        load_session_config(huge)


def test_a_strategy_file_name_that_no_path_can_be_is_refused(tmp_path: Path) -> None:
    for name in ("a\x00b", "x" * 300, "\ud800.py"):
        problems = _problems(strategies=[{"file": name, "class": "X"}])
        assert any(p.startswith("strategies[0].file: invalid file name") for p in problems), problems


def test_daemon_toml_numbers_are_finite_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "daemon.toml"
    for line, expected in [("[risk]\ndaily_loss_limit = inf", "risk.daily_loss_limit: input should be a finite number"),
                           ("[risk]\ndaily_loss_limit = 1e13", "risk.daily_loss_limit: must be <= 1000000000000"),
                           ("[risk]\nmax_open_orders = 0", "risk.max_open_orders: must be >= 1"),
                           ("[risk]\nbogus = 1", "risk.bogus: unknown key"),
                           ("daily_loss_limit = 100", "daily_loss_limit: moved to the [risk] table"),
                           ("restart_backoff_seconds = nan", "restart_backoff_seconds: input should be a finite"),
                           ('socket_path = "/tmp/a\\u0000b"', "socket_path: invalid path")]:
        path.write_text(f'session_config = "s.json"\n{line}\n')
        with pytest.raises(ConfigError) as caught:
            load_daemon_config(path)
        assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems
    path.write_text("a = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_daemon_config(path)
    path.write_bytes(b'session_config = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_daemon_config(path)
