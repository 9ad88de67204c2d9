"""Hostile inputs end in one clear line and the documented exit code; the control socket cannot
be starved; secrets never leave the daemon. Real processes, reached only from outside."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.daemon_process import DAEMON_SESSION_CONFIG as SPY_CONFIG
from support.daemon_process import DAY, DaemonProcess, base_env, launch

CommandResult = subprocess.CompletedProcess[str]
SECRET, PASSWORD = "sk-SECRET123", "hunter2pw"


def _one_clean_line(result: CommandResult) -> str:
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    lines = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# -- config check and backtest: one line, exit 78 --

@pytest.mark.parametrize(("name", "content", "expected"), [
    ("deep.json", b"[" * 5000 + b"]" * 5000, "deep.json: invalid JSON: nested deeper than 100 levels"),
    ("latin1.json", b'{"session_name": "caf\xe9"}', "latin1.json: line 1: not UTF-8 text: byte 0xe9"),
])
def test_config_check_of_an_unusable_file_is_one_line_naming_it_exit_78(
        mismarterad: Callable[..., CommandResult], tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = mismarterad("config", "check", str(path))
    assert result.returncode == 78, result.stderr
    line = _one_clean_line(result)
    assert line.startswith(str(tmp_path)) and expected in line, line


@pytest.mark.parametrize(("edit", "expected"), [
    ('"initial_cash": 1000000', '"initial_cash": Infinity'),
    ('"initial_cash": 1000000', '"initial_cash": 1e400'),
    ('"trailing_days": 2', '"trailing_days": 1000000000000'),
    ('"backtest_days": 20', '"backtest_days": 10000000000000000000000000000000000000000'),
    ('"quantity": 100', '"quantity": 1000000000000000000000000000000'),
])
def test_config_check_and_backtest_refuse_non_finite_and_huge_numbers(
        mismarterad: Callable[..., CommandResult], tmp_path: Path, edit: str, expected: str) -> None:
    text = SPY_CONFIG.read_text().replace(edit, expected)
    assert expected in text
    path = tmp_path / "cfg.json"
    path.write_text(text)
    check = mismarterad("config", "check", str(path))
    assert check.returncode == 78, check.stdout + check.stderr
    field = expected.split('"')[1]
    assert field in _one_clean_line(check)
    backtest = mismarterad("backtest", str(path), "--out", str(tmp_path / "out"))
    assert backtest.returncode == 78, backtest.stderr
    assert field in _one_clean_line(backtest) and not (tmp_path / "out").exists()


# -- the control socket cannot be starved --

def test_32_idle_connections_do_not_lock_the_operator_out(data_dir: Path, tmp_path: Path,
                                                          daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, speed=60)
    idle = []
    for _ in range(32):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(d.socket_path))
        idle.append(s)
    time.sleep(0.5)
    started = time.monotonic()
    result = d.ctl("--json", "status")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] in ("STOPPED", "STARTING", "RUNNING")
    assert time.monotonic() - started < 5
    for s in idle:
        s.close()


def test_a_byte_dribbling_client_is_dropped_after_the_line_deadline(data_dir: Path, tmp_path: Path,
                                                                    daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, speed=60)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(15)
        s.connect(str(d.socket_path))
        reader = s.makefile("rb")
        started = time.monotonic()
        dropped = False
        for byte in b'{"id": 1, "cmd": "status"' * 4:
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                dropped = True
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        reply = json.loads(reader.readline())
        assert reply["ok"] is False and reply["error"]["code"] == "timeout"
        assert reader.readline() == b""
        assert dropped and 4.5 <= elapsed < 10, elapsed
    assert d.status()["state"] in ("STOPPED", "STARTING", "RUNNING")


def test_a_non_finite_request_id_gets_a_standard_json_reply(data_dir: Path, tmp_path: Path,
                                                            daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, speed=60)

    def refuse(name: str) -> object:
        raise AssertionError(f"the reply holds {name}, which is not standard JSON")

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(d.socket_path))
        s.sendall(b'{"id": 1e999999, "cmd": "status"}\n{"id": 2, "cmd": "status", "args": {"x": NaN}}\n')
        reader = s.makefile("rb")
        first = json.loads(reader.readline(), parse_constant=refuse)
        second = json.loads(reader.readline(), parse_constant=refuse)
    assert first == {"id": None, "ok": False, "error": {
        "code": "bad_request", "message": "'id' must be a string, a finite number or null"}}
    assert second["id"] == 2


# -- secrets --

def test_strategy_secrets_never_reach_mismarterctl_config_or_the_log(data_dir: Path, tmp_path: Path,
                                                                    daemons: list[DaemonProcess]) -> None:
    strategy = tmp_path / "keyed.py"
    strategy.write_text(
        "import structlog\n"
        "from pydantic import BaseModel, ConfigDict\n"
        "from mismarterad.strategies import Strategy\n"
        "class Keyed(Strategy):\n"
        "    class Params(BaseModel):\n"
        "        model_config = ConfigDict(extra='forbid', frozen=True)\n"
        "        api_key: str\n"
        "        feed_url: str\n"
        "        auth: dict = {}\n"
        "    def on_session_start(self):\n"
        "        structlog.get_logger(component='keyed').info('keyed_params', params=self.params.model_dump(),\n"
        "                                                        note=f'feed at {self.params.feed_url}')\n"
        "    def on_bar(self, symbol, interval, bar):\n"
        "        pass\n")
    config = json.loads(SPY_CONFIG.read_text())
    config["strategies"] = [{"file": str(strategy), "class": "Keyed", "params": {
        "api_key": SECRET, "feed_url": f"wss://trader:{PASSWORD}@feed.example/v1",
        "auth": {"Client-Secret": SECRET, "tokens": [SECRET]}}}]
    session = tmp_path / "keyed.json"
    session.write_text(json.dumps(config))
    d = launch(daemons, tmp_path / "d", data_dir, session_config=session, start="2011-01-04T09:29:00-05:00",
                speed=60)
    shown = d.ctl("--json", "config")
    assert shown.returncode == 0, shown.stderr
    params = json.loads(shown.stdout)["session"]["strategies"][0]["params"]
    assert params["api_key"] == "***" and params["feed_url"] == "wss://trader:***@feed.example/v1"
    table = d.ctl("config")
    assert table.returncode == 0, table.stderr
    d.wait_for(lambda s: s["state"] == "RUNNING", 60, "the session to start")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "keyed_params" not in d.log_text():
        time.sleep(0.2)
    log = d.log_text()
    assert "keyed_params" in log and "wss://trader:***@feed.example/v1" in log
    for text in (shown.stdout, table.stdout, log):
        assert SECRET not in text and PASSWORD not in text


def test_a_report_folder_that_cannot_be_written_is_one_line_exit_74(
        mismarterad: Callable[..., CommandResult], data_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the report's parent folder should be\n")
    env = base_env(tmp_path / "state", data_dir)
    result = mismarterad("backtest", str(SPY_CONFIG), "--from", DAY, "--to", DAY, "--out", str(blocker / "out"),
                         env=env)
    assert result.returncode == 74, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    line = result.stderr.splitlines()[-1]  # after the run's info log lines
    assert line.startswith("mismarterad: cannot write the report folder") and str(blocker / "out") in line, line
