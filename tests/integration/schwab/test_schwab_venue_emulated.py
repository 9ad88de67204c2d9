"""The Schwab venue's day-run start on the emulator: what it opened is closed again when the
start fails after the account was reached."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mismarterad.config.daemon_config import load_daemon_config
from mismarterad.config.session_config import parse_session_config
from mismarterad.core.calendar import TradingSession
from mismarterad.core.clock import ReplayClock
from mismarterad.integrations.schwab import SchwabConnection
from mismarterad.runs.venue import schwab_venue
from support.schwab_emulator import ACCOUNT_NUMBER, running_schwab_emulator

T0 = datetime(2011, 1, 3, 14, 25, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
SESSION = {
    "session_name": "schwab", "exchange_group": "US_EQUITY", "asset_class": "EQUITY", "mode": "live",
    "session_data_config": {"symbols": ["SPY"], "streams": ["bars_1m"]},
    "strategies": [{"name": "sma_cross", "symbols": ["SPY"], "params": {"fast": 5, "slow": 20, "quantity": 10}}],
    "flatten_minutes_before_close": 10,
}


def test_a_feed_that_fails_at_the_start_leaves_no_http_session_open(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with running_schwab_emulator(tmp_path / "data", tmp_path / "state", clock_start=T0.isoformat(), speed=1.0) as emu:
        (tmp_path / "session.json").write_text(json.dumps(SESSION))
        toml = tmp_path / "daemon.toml"
        toml.write_text(f'session_config = "session.json"\nbroker = "schwab"\n[schwab]\n'
                        f'account_number = "{ACCOUNT_NUMBER}"\nendpoint = "{emu.base_url}"\n'
                        f'token_file = "{emu.token_file}"\n')
        venue = schwab_venue(load_daemon_config(toml), emu.credentials, tmp_path / "daemon-state",
                             ReplayClock(T0, 1.0))
        opened: list[SchwabConnection] = []

        def failing_feed(self: SchwabConnection, *args: Any, **kwargs: Any) -> Any:
            opened.append(self)
            raise RuntimeError("the feed could not start")

        monkeypatch.setattr(SchwabConnection, "feed", failing_feed)
        day = TradingSession(date(2011, 1, 3), "America/New_York", True, False, None, False, None,
                             datetime(2011, 1, 3, 9, 30, tzinfo=NEW_YORK), datetime(2011, 1, 3, 16, 0, tzinfo=NEW_YORK),
                             None)
        with pytest.raises(RuntimeError, match="could not start"):
            venue.open_day(parse_session_config(SESSION), day)
        [connection] = opened
        assert connection.session.oauth.is_closed, "the session's HTTP client was closed again"
        assert not venue.status().connected
