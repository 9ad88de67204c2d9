"""The daemon's `broker = "alpaca"` and its `[alpaca]` table, and the rules they bring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mismarterad.config.daemon_config import load_daemon_config
from mismarterad.core.errors import ConfigError
from mismarterad.config.settings import Settings
from mismarterad.runs.loaded_config import load_config
from mismarterad.runs.app import App
from mismarterad.runs.venue import build_venue

SESSION = {
    "session_name": "alpaca", "exchange_group": "US_EQUITY", "asset_class": "EQUITY", "mode": "live",
    "session_data_config": {"symbols": ["SPY"], "streams": ["bars_1m"]},
    "strategies": [{"name": "sma_cross", "symbols": ["SPY"], "params": {"fast": 5, "slow": 20, "quantity": 10}}],
}


def write(tmp_path: Path, toml: str, **session: object) -> Path:
    (tmp_path / "session.json").write_text(json.dumps({**SESSION, **session}))
    path = tmp_path / "daemon.toml"
    path.write_text('session_config = "session.json"\n' + toml)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_the_defaults_are_paper_iex_and_alpaca_s_own_hosts(tmp_path: Path) -> None:
    config = load_daemon_config(write(tmp_path, 'broker = "alpaca"\n'))
    assert config.broker == "alpaca"
    a = config.alpaca
    assert (a.paper, a.feed, a.endpoint, a.credentials_file, a.live_trading_confirmed) == (True, "iex", None, None, False)


def app(tmp_path: Path) -> App:
    """The app a venue is built on (nothing of it is touched for an Alpaca venue)."""
    return App(settings=Settings(data_dir=tmp_path / "data", state_dir=tmp_path / "state"))


KEYS = {"APCA_API_KEY_ID": "AKTESTKEY", "APCA_API_SECRET_KEY": "test-secret-value"}


def venue_error(tmp_path: Path, endpoint: str) -> str:
    config = load_daemon_config(write(tmp_path, f'broker = "alpaca"\n[alpaca]\nendpoint = "{endpoint}"\n'))
    with pytest.raises(ConfigError) as caught:
        build_venue(config, app(tmp_path), KEYS)
    [problem] = caught.value.problems
    return problem


def test_an_endpoint_is_one_base_url_and_never_alpaca_s_own_or_clear_text_over_a_network(tmp_path: Path) -> None:
    config = load_daemon_config(write(tmp_path, 'broker = "alpaca"\n[alpaca]\nendpoint = "http://127.0.0.1:8700/"\n'))
    assert build_venue(config, app(tmp_path), KEYS).name == "alpaca"
    for bad in ("127.0.0.1:8700", "ftp://host", "https://host/v2", "http://localhost:99999", "http://",
                "https://paper-api.alpaca.markets", "http://10.0.0.5:8700"):
        problem = venue_error(tmp_path, bad)
        assert problem.startswith("alpaca.endpoint:") and KEYS["APCA_API_SECRET_KEY"] not in problem, (bad, problem)


def test_live_money_needs_the_confirmation(tmp_path: Path) -> None:
    found = problems(write(tmp_path, 'broker = "alpaca"\n[alpaca]\npaper = false\n', flatten_minutes_before_close=10))
    assert any("live_trading_confirmed = true" in p for p in found), found
    ok = write(tmp_path, 'broker = "alpaca"\n[alpaca]\npaper = false\nlive_trading_confirmed = true\n',
               flatten_minutes_before_close=10)
    assert load_config(ok).daemon.alpaca.paper is False


def test_strict_values_and_no_secret_keys(tmp_path: Path) -> None:
    for line, key in (('paper = "no"', "alpaca.paper"), ('feed = "delayed_sip"', "alpaca.feed"),
                      ('secret_key = "abc"', "alpaca.secret_key"), ('key_id = "abc"', "alpaca.key_id")):
        found = problems(write(tmp_path, f'broker = "alpaca"\n[alpaca]\n{line}\n'))
        assert any(p.startswith(key) for p in found), (line, found)
        assert not any("abc" in p for p in found if "secret" in key)
    assert any(p.startswith("broker:") for p in problems(write(tmp_path, 'broker = "schwab-ish"\n')))


def test_alpaca_without_a_pre_close_flatten_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    found = problems(write(tmp_path, 'broker = "alpaca"\n'))
    assert len(found) == 1 and found[0].startswith("flatten_minutes_before_close: must be at least 1"), found
    assert load_config(write(tmp_path, 'broker = "alpaca"\n', flatten_minutes_before_close=10))
    assert load_config(write(tmp_path, 'broker = "paper"\n'))  # the paper broker closes at the last bar
