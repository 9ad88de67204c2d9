"""`mismarterad auth schwab` (schwab-py's manual flow: the login URL printed, the redirect pasted)
writes a private token file that `mismarterad data import-api --source schwab` then uses for
Schwab's price history, with the file imports' checks; refusals are one line with their exit
code, and no secret is ever printed. Against the Schwab emulator (its OAuth and history)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.daemon_process import executable, free_port
from support.schwab_emulator import APP_KEY, APP_SECRET, SchwabEmulator, start_schwab_emulator
from support.venue_day import regular_session_bars

from mismarterad.repositories.parquet_bar_store import ParquetBarStore


@pytest.fixture(scope="module")
def emulator(emulator_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchwabEmulator]:
    """On its clock's 2011-01-06 before the open: the three days before are history."""
    root = tmp_path_factory.mktemp("schwab-emulator")
    running = start_schwab_emulator(emulator_data, root / "state", clock_start="2011-01-06T09:00:00-05:00", speed=1)
    yield running
    running.stop()


def app_keys(env: dict[str, str], secret: str = APP_SECRET) -> dict[str, str]:
    return {**env, "SCHWAB_APP_KEY": APP_KEY, "SCHWAB_APP_SECRET": secret}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def browser_login(url: str) -> str:
    """What a person's browser does: open the login URL, end on the callback (never loaded)."""
    try:
        urllib.request.build_opener(_NoRedirect).open(url, timeout=10)
    except urllib.error.HTTPError as redirect:
        return str(redirect.headers["Location"])
    raise AssertionError("the login did not redirect to the callback")


def auth(env: dict[str, str], *args: str, paste: Callable[[str], str] = browser_login) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([executable("mismarterad"), "auth", "schwab", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdin is not None
    shown = ""
    while (found := re.search(r"(https?://\S+/v1/oauth/authorize\S+)", shown)) is None:
        line = proc.stdout.readline()
        assert line, f"no login URL printed: {shown} {proc.stderr.read() if proc.stderr else ''}"
        shown += line
    out, err = proc.communicate(paste(found.group(1)) + "\n", timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, shown + out, err)


def test_auth_writes_a_private_token_that_import_api_then_uses(
        emulator: SchwabEmulator, emulator_data: Path, mismarterad: Callable[..., Any], cli_env: dict[str, str],
        tmp_path: Path) -> None:
    token = tmp_path / "state" / "schwab-token.json"  # the default place: the state directory
    token.parent.mkdir(parents=True)
    done = auth(app_keys(cli_env), "--endpoint", emulator.base_url)
    assert done.returncode == 0, done.stderr
    assert "schwab-py's manual flow" in done.stdout and f"token written to {token}" in done.stdout
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    wrapped = json.loads(token.read_text())
    assert wrapped["token"]["refresh_token"] and wrapped["creation_timestamp"] > 0
    secrets = [APP_SECRET, wrapped["token"]["access_token"], wrapped["token"]["refresh_token"]]
    assert not [s for s in secrets if s in done.stdout + done.stderr]

    result = mismarterad("data", "import-api", "--source", "schwab", "--endpoint", emulator.base_url,
                         "--symbol", "spy", "--from", "2011-01-03", "--to", "2011-01-05", env=app_keys(cli_env))
    assert result.returncode == 0, result.stderr
    ours = Path(cli_env["MISMARTERAD_DATA_DIR"])
    for day in ("2011-01-03", "2011-01-04", "2011-01-05"):
        got = regular_session_bars(ours, "SPY", day)
        assert got and got == regular_session_bars(emulator_data, "SPY", day)
    assert not [s for s in secrets if s in result.stdout + result.stderr]
    assert not ParquetBarStore(ours).read_bars("SPY", "1m", *_jan6()), "no bar of the venue's future"


def _jan6() -> tuple[Any, Any]:
    from datetime import UTC, datetime

    return datetime(2011, 1, 6, 14, 30, tzinfo=UTC), datetime(2011, 1, 6, 21, tzinfo=UTC)


def test_auth_refusals_are_one_line_and_write_nothing(emulator: SchwabEmulator, cli_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    token = tmp_path / "token.json"
    wrong = auth(app_keys(cli_env, "wrong-secret-xyz"), "--endpoint", emulator.base_url, "--token-file", str(token))
    assert wrong.returncode == 78 and "SCHWAB_APP_SECRET" in wrong.stderr and "wrong-secret-xyz" not in wrong.stderr
    forged = auth(app_keys(cli_env), "--endpoint", emulator.base_url, "--token-file", str(token),
                  paste=lambda url: "https://127.0.0.1:8182/?code=forged&state=not-this-login")
    assert forged.returncode == 65 and "start again" in forged.stderr, forged.stderr
    assert not token.exists()
    emulator.fault("token_answer", status=400, body='{"error": "invalid_grant"}', content_type="application/json")
    stale = auth(app_keys(cli_env), "--endpoint", emulator.base_url, "--token-file", str(token))
    assert stale.returncode == 65 and "invalid_grant" in stale.stderr and "start again" in stale.stderr, stale.stderr
    assert "SCHWAB_APP_SECRET" not in stale.stderr  # the app is not what is wrong
    for bad in (["--callback-url", "http://127.0.0.1:8182"], ["--endpoint", "http://10.0.0.1:1"]):
        refused = subprocess.run([executable("mismarterad"), "auth", "schwab", "--token-file", str(token), *bad],
                                 env=app_keys(cli_env), capture_output=True, text=True, timeout=60)
        assert refused.returncode == 78 and "Traceback" not in refused.stderr, refused.stderr


@pytest.mark.parametrize(("status", "body", "content_type", "said"), [
    (500, '{"message": "internal error"}', "application/json", "answered HTTP 500"),
    (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "answered HTTP 502"),
    (503, "", "text/plain", "answered HTTP 503"),
    (200, "<html>maintenance</html>", "text/html", "not JSON"),
    (200, "[1, 2]", "application/json", "not JSON"),
    (200, '{"token_type": "Bearer", "expires_in": 1800}', "application/json", "without access_token or refresh_token"),
    (200, '{"access_token": "a-tok", "expires_in": 1800}', "application/json", "without refresh_token"),
    (403, "<html>denied</html>", "text/html", "answered HTTP 403"),
])
def test_a_token_endpoint_answer_that_is_no_token_is_one_line_with_exit_69(
        emulator: SchwabEmulator, cli_env: dict[str, str], tmp_path: Path, status: int, body: str,
        content_type: str, said: str) -> None:
    token = tmp_path / "token.json"
    emulator.fault("token_answer", status=status, body=body, content_type=content_type)
    done = auth(app_keys(cli_env), "--endpoint", emulator.base_url, "--token-file", str(token))
    assert done.returncode == 69 and "Traceback" not in done.stderr, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert said in line and "nothing written" in line and emulator.base_url.split("//")[1] in line, line
    assert APP_SECRET not in line and "a-tok" not in line
    assert not token.exists()


def test_import_api_refusals_are_one_line_with_their_exit_code(
        emulator: SchwabEmulator, mismarterad: Callable[..., Any], cli_env: dict[str, str], tmp_path: Path) -> None:
    token = tmp_path / "token.json"
    token.write_text(emulator.token_file.read_text())
    os.chmod(token, 0o600)
    common = ["data", "import-api", "--source", "schwab", "--symbol", "SPY", "--from", "2011-01-03",
              "--to", "2011-01-03", "--token-file", str(token)]
    dead = mismarterad(*common, "--endpoint", f"http://127.0.0.1:{free_port()}", env=app_keys(cli_env))
    assert dead.returncode == 74 and "127.0.0.1" in dead.stderr and "Traceback" not in dead.stderr, dead.stderr
    no_keys = mismarterad(*common, "--endpoint", emulator.base_url, env=cli_env)
    assert no_keys.returncode == 78 and "SCHWAB_APP_KEY" in no_keys.stderr
    missing = mismarterad(*common[:-1], str(tmp_path / "none.json"), "--endpoint", emulator.base_url,
                          env=app_keys(cli_env))
    assert missing.returncode == 78 and "mismarterad auth schwab" in missing.stderr
    wrapped = json.loads(token.read_text())
    wrapped["creation_timestamp"] -= 8 * 86_400
    token.write_text(json.dumps(wrapped))
    old = mismarterad(*common, "--endpoint", emulator.base_url, env=app_keys(cli_env))
    assert old.returncode == 78 and "mismarterad auth schwab" in old.stderr
    assert len([line for line in old.stderr.splitlines() if line.startswith("mismarterad:")]) == 1, old.stderr
    store = Path(cli_env["MISMARTERAD_DATA_DIR"])
    assert not store.exists() or not ParquetBarStore(store).read_bars("SPY", "1m", *_jan6())
