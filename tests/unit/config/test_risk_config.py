"""The `risk` object of a session config and the daemon's `[risk]` table, and how they layer."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mismarterad.config.daemon_config import load_daemon_config
from mismarterad.config.risk_config import RiskConfig, effective_limits
from mismarterad.config.session_config import parse_session_config
from mismarterad.core.errors import ConfigError
from mismarterad.core.risk import RiskLimits

SESSION: dict[str, Any] = {
    "session_name": "risk",
    "exchange_group": "US_EQUITY",
    "asset_class": "EQUITY",
    "mode": "backtest",
    "backtest_config": {},
    "session_data_config": {"symbols": ["SPY"], "streams": ["bars_1m"]},
}


def session(**top: Any) -> dict[str, Any]:
    raw = copy.deepcopy(SESSION)
    raw.update(top)
    return raw


def session_problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_session_config(raw)
    return caught.value.problems


def daemon_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "daemon.toml"
    path.write_text('session_config = "s.json"\n' + text)
    with pytest.raises(ConfigError) as caught:
        load_daemon_config(path)
    return caught.value.problems


def test_the_defaults_are_risk_limits_defaults(tmp_path: Path) -> None:
    assert effective_limits(None, None) == RiskLimits()
    assert effective_limits(RiskConfig(), RiskConfig()) == RiskLimits()
    cfg = parse_session_config(session())
    assert cfg.risk is None and cfg.flatten_minutes_before_close == 0
    assert effective_limits(None, parse_session_config(session(risk={})).risk) == RiskLimits()
    path = tmp_path / "daemon.toml"
    path.write_text('session_config = "s.json"\n')
    assert load_daemon_config(path).risk == RiskConfig()
    assert effective_limits(load_daemon_config(path).risk, cfg.risk) == RiskLimits()
    limits = RiskLimits()
    assert (limits.allow_short, limits.pattern_day_trader, limits.no_entry_minutes_before_close) == (False, True, 0)


def test_every_key_is_read_through() -> None:
    keys = {"max_shares_per_symbol": 500, "max_notional_per_symbol": 50_000.0, "max_gross_exposure": 200_000.0,
            "max_open_orders": 20, "max_orders_per_minute": 10, "price_collar_pct": 5.0,
            "daily_loss_limit": 2_000.0, "no_entry_minutes_before_close": 15, "allow_short": True,
            "pattern_day_trader": False}
    assert set(keys) == set(RiskConfig.model_fields)
    cfg = parse_session_config(session(risk=keys))
    assert effective_limits(None, cfg.risk) == RiskLimits(**keys)


BAD = [
    ("max_shares_per_symbol", 0, "must be >= 1"),
    ("max_shares_per_symbol", 1_000_000_001, "must be <= 1000000000"),
    ("max_shares_per_symbol", 1.5, "input should be a valid integer"),
    ("max_notional_per_symbol", 0, "must be > 0"),
    ("max_notional_per_symbol", 1e13, "must be <= 1000000000000"),
    ("max_gross_exposure", -1.0, "must be > 0"),
    ("max_gross_exposure", math.inf, "input should be a finite number"),
    ("max_open_orders", 0, "must be >= 1"),
    ("max_open_orders", 100_001, "must be <= 100000"),
    ("max_orders_per_minute", 0, "must be >= 1"),
    ("price_collar_pct", 0, "must be > 0"),
    ("price_collar_pct", 1_000.5, "must be <= 1000"),
    ("daily_loss_limit", 0, "must be > 0"),
    ("daily_loss_limit", math.nan, "input should be a finite number"),
    ("no_entry_minutes_before_close", -1, "must be >= 0"),
    ("no_entry_minutes_before_close", 391, "must be <= 390"),
    ("allow_short", "maybe", "input should be a valid boolean"),
    ("pattern_day_trader", [], "input should be a valid boolean"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_a_bad_session_risk_value_names_risk_key(key: str, value: Any, message: str) -> None:
    problems = session_problems(session(risk={key: value}))
    assert any(p.startswith(f"risk.{key}: {message}") for p in problems), problems


def test_every_bad_session_risk_value_is_reported_at_once() -> None:
    problems = session_problems(session(risk={"max_open_orders": 0, "daily_loss_limit": -5, "allow_short": "x"}))
    assert {p.split(":")[0] for p in problems} == {"risk.max_open_orders", "risk.daily_loss_limit",
                                                   "risk.allow_short"}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[]"
    return repr(value)


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_a_bad_daemon_risk_value_names_risk_key(tmp_path: Path, key: str, value: Any, message: str) -> None:
    problems = daemon_problems(tmp_path, f"[risk]\n{key} = {_toml(value)}\n")
    assert any(p.startswith(f"risk.{key}: {message}") for p in problems), problems


def test_an_unknown_risk_key_is_rejected(tmp_path: Path) -> None:
    assert any(p.startswith("risk.max_position: unknown key")
               for p in session_problems(session(risk={"max_position": 5})))
    assert any(p.startswith("risk.max_position: unknown key")
               for p in daemon_problems(tmp_path, "[risk]\nmax_position = 5\n"))
    with pytest.raises(ValidationError):
        RiskConfig.model_validate({"flatten_minutes_before_close": 5})  # a session key, not a risk key


def test_the_old_top_level_daily_loss_limit_moved_to_the_risk_table(tmp_path: Path) -> None:
    problems = daemon_problems(tmp_path, "daily_loss_limit = 500.0\n")
    assert len(problems) == 1 and problems[0].startswith("daily_loss_limit: moved to the [risk] table"), problems
    path = tmp_path / "daemon.toml"
    path.write_text('session_config = "s.json"\n[risk]\ndaily_loss_limit = 500.0\nmax_open_orders = 4\n')
    daemon = load_daemon_config(path)
    assert effective_limits(daemon.risk, None) == RiskLimits(daily_loss_limit=500.0, max_open_orders=4)


def test_session_keys_lie_over_the_daemons_and_absent_keys_inherit(tmp_path: Path) -> None:
    path = tmp_path / "daemon.toml"
    path.write_text('session_config = "s.json"\n[risk]\nmax_open_orders = 10\ndaily_loss_limit = 500.0\n'
                    "allow_short = true\nprice_collar_pct = 3.0\n")
    daemon = load_daemon_config(path).risk
    sess = parse_session_config(session(risk={"max_open_orders": 5, "max_shares_per_symbol": 100})).risk
    assert effective_limits(daemon, sess) == RiskLimits(max_open_orders=5, daily_loss_limit=500.0, allow_short=True,
                                                        price_collar_pct=3.0, max_shares_per_symbol=100)
    assert effective_limits(daemon, None) == RiskLimits(max_open_orders=10, daily_loss_limit=500.0,
                                                        allow_short=True, price_collar_pct=3.0)
    loosen = parse_session_config(session(risk={"max_open_orders": 50})).risk
    assert effective_limits(daemon, loosen).max_open_orders == 50  # a session may loosen one too


def test_a_key_given_as_null_resets_to_the_default() -> None:
    daemon = RiskConfig(max_open_orders=10, daily_loss_limit=500.0, allow_short=True, pattern_day_trader=False,
                        no_entry_minutes_before_close=20, price_collar_pct=3.0)
    nulls = parse_session_config(session(risk={"daily_loss_limit": None, "allow_short": None,
                                               "pattern_day_trader": None, "no_entry_minutes_before_close": None})).risk
    assert effective_limits(daemon, nulls) == RiskLimits(max_open_orders=10, price_collar_pct=3.0)
    # null in the daemon layer too (possible through the model, not TOML) and then inherited as the default
    assert effective_limits(RiskConfig(max_open_orders=None), None) == RiskLimits()
    assert effective_limits(RiskConfig(max_open_orders=None), RiskConfig(max_open_orders=7)).max_open_orders == 7


@pytest.mark.parametrize("minutes", [0, 1, 389, 390])
def test_flatten_minutes_before_close_accepts_0_to_390(minutes: int) -> None:
    assert parse_session_config(session(flatten_minutes_before_close=minutes)).flatten_minutes_before_close == minutes


@pytest.mark.parametrize(("minutes", "message"), [(-1, "must be >= 0"), (391, "must be <= 390"),
                                                  ("soon", "input should be a valid integer")])
def test_flatten_minutes_before_close_out_of_bounds(minutes: Any, message: str) -> None:
    problems = session_problems(session(flatten_minutes_before_close=minutes))
    assert any(p.startswith(f"flatten_minutes_before_close: {message}") for p in problems), problems
