"""The daemon's `broker = "schwab"` and its `[schwab]` table, and the rules they bring."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mismarterad.config.daemon_config import load_daemon_config
from mismarterad.config.settings import Settings
from mismarterad.core.errors import ConfigError
from mismarterad.runs.loaded_config import load_config
from mismarterad.runs.app import App
from mismarterad.runs.venue import build_venue

SESSION = {
    "session_name": "schwab", "exchange_group": "US_EQUITY", "asset_class": "EQUITY", "mode": "live",
    "session_data_config": {"symbols": ["SPY"], "streams": ["bars_1m"]},
    "strategies": [{"name": "sma_cross", "symbols": ["SPY"], "params": {"fast": 5, "slow": 20, "quantity": 10}}],
    "flatten_minutes_before_close": 10,
}
KEYS = {"SCHWAB_APP_KEY": "app-key-123456", "SCHWAB_APP_SECRET": "app-secret-654321"}
EMULATED = '[schwab]\naccount_number = "12345678"\nendpoint = "http://127.0.0.1:8800"\n'


def write(tmp_path: Path, toml: str, **session: object) -> Path:
    (tmp_path / "session.json").write_text(json.dumps({**SESSION, **session}))
    path = tmp_path / "daemon.toml"
    path.write_text('session_config = "session.json"\nbroker = "schwab"\n' + toml)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def app(tmp_path: Path) -> App:
    return App(settings=Settings(data_dir=tmp_path / "data", state_dir=tmp_path / "state"))


def test_the_table_names_the_account_and_real_money_needs_confirming(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "")) == ['schwab: broker = "schwab" needs a [schwab] table with account_number']
    [digits] = problems(write(tmp_path, '[schwab]\naccount_number = "12-34"\nendpoint = "http://127.0.0.1:1"\n'))
    assert digits.startswith("schwab.account_number")
    [confirm] = problems(write(tmp_path, '[schwab]\naccount_number = "12345678"\n'))
    assert "no paper account" in confirm and "live_trading_confirmed" in confirm
    live = load_daemon_config(write(tmp_path, '[schwab]\naccount_number = "12345678"\nlive_trading_confirmed = true\n'))
    assert live.schwab is not None and live.schwab.endpoint is None and live.schwab.token_file is None
    for proxy in ("https://schwab-proxy.example.com", "https://10.0.0.5:8443", "http://127.0.0.1.example.com:1"):
        [waived] = problems(write(tmp_path, f'[schwab]\naccount_number = "12345678"\nendpoint = "{proxy}"\n'))
        assert "live_trading_confirmed" in waived, "only a loopback endpoint (the emulator) waives the confirmation"
    for emulator in ("http://127.0.0.1:8800", "http://localhost:8800", "http://[::1]:8800"):
        loaded = load_daemon_config(write(tmp_path, f'[schwab]\naccount_number = "12345678"\nendpoint = "{emulator}"\n'))
        assert loaded.schwab is not None and not loaded.schwab.live_trading_confirmed
    [flatten] = problems(write(tmp_path, EMULATED, flatten_minutes_before_close=0))
    assert flatten.startswith("flatten_minutes_before_close: must be at least 1 with broker = \"schwab\"")


def test_the_venue_needs_the_app_s_credentials_and_a_private_token_file_saying_what_to_run(tmp_path: Path) -> None:
    config = load_daemon_config(write(tmp_path, EMULATED))
    with pytest.raises(ConfigError, match="SCHWAB_APP_KEY"):
        build_venue(config, app(tmp_path), {})
    with pytest.raises(ConfigError, match="mismarterad auth schwab"):
        build_venue(config, app(tmp_path), KEYS)
    token = tmp_path / "state" / "schwab-token.json"
    token.parent.mkdir(parents=True)
    token.write_text(json.dumps({"creation_timestamp": 1, "token": {"access_token": "a", "refresh_token": "r"}}))
    os.chmod(token, 0o644)
    with pytest.raises(ConfigError, match="0600"):
        build_venue(config, app(tmp_path), KEYS)
    os.chmod(token, 0o600)
    venue = build_venue(config, app(tmp_path), KEYS)
    assert (venue.name, venue.account, venue.simulated) == ("schwab", "schwab", False)
    assert venue.status().token_age_secs is not None and venue.status().token_age_secs > 86_400


def test_an_endpoint_on_schwab_s_hosts_or_in_clear_text_off_loopback_is_refused(tmp_path: Path) -> None:
    for bad in ("https://api.schwabapi.com", "http://10.0.0.5:8800"):
        config = load_daemon_config(write(tmp_path, f'[schwab]\naccount_number = "1234"\nendpoint = "{bad}"\n'
                                                    'live_trading_confirmed = true\n'))
        (tmp_path / "state").mkdir(exist_ok=True)
        token = tmp_path / "state" / "schwab-token.json"
        token.write_text(json.dumps({"creation_timestamp": 1, "token": {"access_token": "a", "refresh_token": "r"}}))
        os.chmod(token, 0o600)
        with pytest.raises(ConfigError) as caught:
            build_venue(config, app(tmp_path), KEYS)
        [problem] = caught.value.problems
        assert problem.startswith("schwab.endpoint:") and KEYS["SCHWAB_APP_SECRET"] not in problem
