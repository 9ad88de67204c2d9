"""`mismarterad emulate alpaca` as a process: its one stdout line, signals and exit codes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from support.alpaca_emulator import emulator_command, emulator_env, start_emulator


def run(cmd: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=emulator_env(tmp_path / "data", tmp_path / "state"), capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_one_listening_line_and_stops_cleanly_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    emulator = start_emulator(tmp_path / "data", tmp_path / "state")  # the system clock
    assert emulator.base_url.startswith("http://127.0.0.1:")
    emulator.process.send_signal(sig)
    assert emulator.process.wait(15) == 0
    assert emulator.process.stdout is not None
    assert emulator.process.stdout.read() in (b"", None)  # nothing after the listening line
    assert "Traceback" not in emulator.log_path.read_text()
    assert json.loads((tmp_path / "state" / "account.json").read_text())["cash"] == 100_000


def test_bad_arguments_exit_with_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "a-file").write_text("")
    base = emulator_command(tmp_path / "data", tmp_path / "state")
    cases = [
        (base[:base.index("--key-id")] + base[base.index("--data-dir"):], 2, "--key-id"),
        ([*base[:-4], "--port", "70000"], 2, "port"),
        ([*base, "--clock", "replay", "--start", "2011-01-04T09:30:00"], 78, "offset"),
        ([*base, "--start", "2011-01-04T09:30:00-05:00"], 78, "--clock replay"),
        (emulator_command(tmp_path / "missing", tmp_path / "state"), 78, "--data-dir"),
        (emulator_command(tmp_path / "data", tmp_path / "a-file" / "state"), 74, "account.json"),
    ]
    env = emulator_env(tmp_path / "data", tmp_path / "state")
    running = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for cmd, _, _ in cases]  # at once: each start of the CLI takes a few seconds
    for process, (cmd, code, text) in zip(running, cases, strict=True):
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == code, (cmd, stderr)
        assert text in stderr and "Traceback" not in stderr, stderr
        assert stdout == ""


def test_a_port_in_use_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(emulator_command(tmp_path / "data", tmp_path / "state", port=port), tmp_path)
    assert result.returncode == 78 and "cannot listen" in result.stderr
