"""Where the Anthropic key comes from, and that it never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from mismarterad.core.errors import ConfigError
from mismarterad.integrations.claude.credentials import load_anthropic_key

KEY = "sk-ant-unit-0123"


def _file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "anthropic.env"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_environment_comes_first_then_the_file_then_systemd(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "anthropic").write_text(KEY + "-systemd\n")
    file = _file(tmp_path, f"# mine\nANTHROPIC_API_KEY = '{KEY}-file'\n")
    assert load_anthropic_key({"ANTHROPIC_API_KEY": KEY, "CREDENTIALS_DIRECTORY": str(creds)}, file).value == KEY
    assert load_anthropic_key({"CREDENTIALS_DIRECTORY": str(creds)}, file).value == KEY + "-file"
    assert load_anthropic_key({"CREDENTIALS_DIRECTORY": str(creds)}, None).value == KEY + "-systemd"


def test_a_file_others_can_read_is_refused_naming_the_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mode 0644.*chmod 600"):
        load_anthropic_key({}, _file(tmp_path, f"ANTHROPIC_API_KEY={KEY}\n", 0o644))


@pytest.mark.parametrize("text, problem", [
    (f"{KEY}\n", "line 1: expected ANTHROPIC_API_KEY=..."),
    ("ANTHROPIC_API_KEY=\n", "ANTHROPIC_API_KEY is missing or empty"),
    (f"ANTHROPIC_API_KEY={KEY} \n", "whitespace or a control character"),
])
def test_a_bad_file_names_the_line_and_never_the_value(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as raised:
        load_anthropic_key({}, _file(tmp_path, text))
    assert KEY not in str(raised.value)


def test_no_key_anywhere_says_where_to_put_one() -> None:
    with pytest.raises(ConfigError, match="set ANTHROPIC_API_KEY.*credentials_file.*LoadCredential"):
        load_anthropic_key({}, None)


def test_the_key_never_shows_in_its_repr() -> None:
    key = load_anthropic_key({"ANTHROPIC_API_KEY": KEY}, None)
    assert KEY not in repr(key) and KEY not in str(key) and KEY not in f"{key!r} {[key]}"


def test_the_daemon_starts_without_importing_the_sdk() -> None:
    # anthropic takes seconds to import, and each daemon start (every resume after a crash) would
    # pay them before trading again: it is imported when a review or question first needs it
    import subprocess
    import sys

    code = "import sys, mismarterad.cli.main, mismarterad.daemon.daemon; print('anthropic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "False"
