"""The token file: schwab-py's format, private, its age on the wall clock, and refused at 7 days
with what to run; the app's credentials never show."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mismarterad.core.clock import SimClock
from mismarterad.core.errors import ConfigError
from mismarterad.integrations.broker_errors import BrokerAuthError
from mismarterad.integrations.schwab import SchwabCredentials, TokenFile, load_schwab_credentials

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TOKEN = {"access_token": "a.tok", "refresh_token": "r.tok", "token_type": "Bearer", "expires_at": 1}


def _file(tmp_path: Path, age: timedelta, mode: int = 0o600) -> TokenFile:
    path = tmp_path / "schwab-token.json"
    path.write_text(json.dumps({"creation_timestamp": int((NOW - age).timestamp()), "token": TOKEN}))
    os.chmod(path, mode)
    return TokenFile(path, SimClock(NOW))


def test_age_and_freshness_read_the_wall_clock(tmp_path: Path) -> None:
    young = _file(tmp_path, timedelta(days=5))
    assert young.age_secs() == 5 * 86_400
    young.require_fresh(young.read())
    old = _file(tmp_path, timedelta(days=7, minutes=1))
    with pytest.raises(BrokerAuthError, match="run `mismarterad auth schwab`") as refused:
        old.require_fresh(old.read())
    assert "r.tok" not in str(refused.value) and "a.tok" not in str(refused.value)


def test_a_token_that_dies_before_it_is_needed_is_refused_naming_its_end(tmp_path: Path) -> None:
    """6.8 days old with 7 hours to go: Schwab would refuse its refresh mid-day."""
    token = _file(tmp_path, timedelta(days=6.8))
    token.require_fresh(token.read(), lasting_secs=4 * 3600, needed_for="the close")  # 4.8 h left: enough
    with pytest.raises(BrokerAuthError, match=r"expires at 2026-12-07 16:48 UTC, in 4\.8 h, before the close: .*"
                                              r"run `mismarterad auth schwab`") as refused:
        token.require_fresh(token.read(), lasting_secs=7 * 3600, needed_for="the close")
    assert "r.tok" not in str(refused.value)


@pytest.mark.parametrize(("content", "mode", "expected"), [
    (None, 0o600, "no such file.*mismarterad auth schwab"),
    (json.dumps({"creation_timestamp": 1, "token": TOKEN}), 0o644, "0644.*0600"),
    ("not json {", 0o600, "not JSON"),
    (json.dumps({"token": TOKEN}), 0o600, "creation_timestamp"),
    (json.dumps({"creation_timestamp": 1, "token": {"access_token": "x"}}), 0o600, "refresh_token"),
])
def test_a_bad_token_file_is_one_config_error_naming_it(tmp_path: Path, content: str | None, mode: int,
                                                        expected: str) -> None:
    path = tmp_path / "token.json"
    if content is not None:
        path.write_text(content)
        os.chmod(path, mode)
    with pytest.raises(ConfigError, match=expected) as caught:
        TokenFile(path).read()
    assert "token.json" in str(caught.value) and "a.tok" not in str(caught.value)


def test_writes_are_private_and_whole(tmp_path: Path) -> None:
    tokens = TokenFile(tmp_path / "sub" / "token.json")
    tokens.write({"creation_timestamp": 5, "token": TOKEN}, refresh_token="ignored")
    assert stat.S_IMODE(tokens.path.stat().st_mode) == 0o600
    assert tokens.read()["creation_timestamp"] == 5
    assert [p.name for p in tokens.path.parent.iterdir()] == ["token.json"], "no temporary file left"
    tokens.write({"creation_timestamp": 9, "token": TOKEN})  # the operator logged in again
    tokens.write({"creation_timestamp": 5, "token": {**TOKEN, "access_token": "refreshed"}})  # an older session
    assert tokens.read()["creation_timestamp"] == 9, "a newer login is never overwritten"


def test_credentials_come_from_the_environment_a_private_file_or_systemd_and_never_show(tmp_path: Path) -> None:
    env = {"SCHWAB_APP_KEY": "key-123456", "SCHWAB_APP_SECRET": "secret-654321"}
    creds = load_schwab_credentials(env, None)
    assert creds == SchwabCredentials("key-123456", "secret-654321")
    assert "key-123456" not in repr(creds) and "secret-654321" not in str(creds)
    (tmp_path / "schwab").write_text("SCHWAB_APP_KEY=k-file-1\nSCHWAB_APP_SECRET='s-file-1'\n")
    assert load_schwab_credentials({"CREDENTIALS_DIRECTORY": str(tmp_path)}, None).app_secret == "s-file-1"
    exposed = tmp_path / "exposed"
    exposed.write_text("SCHWAB_APP_KEY=k\nSCHWAB_APP_SECRET=s\n")
    os.chmod(exposed, 0o640)
    with pytest.raises(ConfigError, match="0600"):
        load_schwab_credentials({}, exposed)
    with pytest.raises(ConfigError, match="SCHWAB_APP_SECRET is missing"):
        load_schwab_credentials({"SCHWAB_APP_KEY": "only"}, None)
    with pytest.raises(ConfigError, match=r"\[schwab\]"):
        load_schwab_credentials({}, None)


def test_two_threads_rewriting_the_token_file_leave_one_whole_token(tmp_path: Path) -> None:
    """The broker's and the streamer's refreshes can write at once: each write is whole."""
    import threading

    token_file = _file(tmp_path, timedelta(days=1))
    errors: list[BaseException] = []

    def rewrite(n: int) -> None:
        try:
            for i in range(150):
                token_file.write({"creation_timestamp": int(NOW.timestamp()), "token": {**TOKEN, "n": n * 1000 + i}})
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=rewrite, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert token_file.read()["token"]["access_token"] == "a.tok"
    assert list(tmp_path.glob(".*.tmp")) == []


def test_threads_sharing_a_session_refresh_an_expired_token_once(tmp_path: Path) -> None:
    import threading
    import time

    from mismarterad.integrations.schwab.session import SchwabSession
    from mismarterad.integrations.schwab.transport import SchwabEndpoint

    session = SchwabSession(SchwabCredentials("app-key-123", "app-secret-456"), _file(tmp_path, timedelta(days=1)),
                            SchwabEndpoint.derive(None))
    refreshed: list[str] = []

    def slow_refresh(url: str, **kwargs: object) -> dict[str, object]:  # the token endpoint, answered here
        refreshed.append(threading.current_thread().name)
        time.sleep(0.2)
        session.oauth.token = {**TOKEN, "access_token": "b.tok", "expires_at": int(time.time()) + 1800}
        return session.oauth.token

    session.oauth._refresh_token = slow_refresh  # type: ignore[method-assign]
    threads = [threading.Thread(target=session.oauth.ensure_active_token, name=f"t{n}") for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.close()
    assert len(refreshed) == 1, refreshed
