"""Credentials: environment first, then a private file, then systemd's credentials directory;
errors name variables, files and modes, never a value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.errors import ConfigError
from mismarterad.integrations.alpaca import AlpacaCredentials, load_alpaca_credentials


def _file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_environment_pair_wins() -> None:
    creds = load_alpaca_credentials({"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}, None)
    assert creds == AlpacaCredentials("k", "s")


def test_private_file_with_comments_and_blank_lines(tmp_path: Path) -> None:
    path = _file(tmp_path / "alpaca", "# keys\n\nAPCA_API_KEY_ID=kid\nAPCA_API_SECRET_KEY = sec\n")
    assert load_alpaca_credentials({}, path) == AlpacaCredentials("kid", "sec")


def test_group_readable_file_is_refused_naming_its_mode(tmp_path: Path) -> None:
    path = _file(tmp_path / "alpaca", "APCA_API_KEY_ID=kid\nAPCA_API_SECRET_KEY=sec\n", 0o644)
    with pytest.raises(ConfigError, match="0644") as info:
        load_alpaca_credentials({}, path)
    assert str(path) in str(info.value) and "0600" in str(info.value) and "sec" not in str(info.value)


def test_systemd_credentials_directory_is_used_without_a_mode_check(tmp_path: Path) -> None:
    _file(tmp_path / "alpaca", "APCA_API_KEY_ID=kid\nAPCA_API_SECRET_KEY=sec\n", 0o644)
    assert load_alpaca_credentials({"CREDENTIALS_DIRECTORY": str(tmp_path)}, None) == AlpacaCredentials("kid", "sec")


def test_nothing_anywhere_names_every_way_to_give_them() -> None:
    with pytest.raises(ConfigError) as info:
        load_alpaca_credentials({}, None)
    text = str(info.value)
    assert "APCA_API_KEY_ID" in text and "APCA_API_SECRET_KEY" in text and "credentials_file" in text


@pytest.mark.parametrize(("env", "missing"), [({"APCA_API_KEY_ID": "k"}, "APCA_API_SECRET_KEY"),
                                              ({"APCA_API_SECRET_KEY": "s"}, "APCA_API_KEY_ID")])
def test_half_a_pair_names_the_missing_variable(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigError, match=missing):
        load_alpaca_credentials(env, None)


def test_file_without_the_secret_names_it(tmp_path: Path) -> None:
    path = _file(tmp_path / "alpaca", "APCA_API_KEY_ID=kid\n")
    with pytest.raises(ConfigError, match="APCA_API_SECRET_KEY"):
        load_alpaca_credentials({}, path)


def test_unreadable_or_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="credentials_file"):
        load_alpaca_credentials({}, tmp_path / "nope")


# "~" appears in no message, so a secret found in one was really leaked
_secret = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#='\""),
                  min_size=8, max_size=40).map(lambda s: "~" + s)


@settings(max_examples=60, deadline=None)
@given(secret=_secret)
def test_the_secret_never_shows_in_repr_str_or_any_error(tmp_path_factory: pytest.TempPathFactory,
                                                         secret: str) -> None:
    creds = AlpacaCredentials("key", secret)
    assert secret not in repr(creds) and secret not in str(creds)
    root = tmp_path_factory.mktemp("c")
    cases = [
        lambda: load_alpaca_credentials({"APCA_API_SECRET_KEY": secret}, None),
        lambda: load_alpaca_credentials({}, _file(root / "open", f"APCA_API_SECRET_KEY={secret}\n", 0o644)),
        lambda: load_alpaca_credentials({}, _file(root / "half", f"APCA_API_SECRET_KEY={secret}\n")),
        lambda: load_alpaca_credentials({}, _file(root / "pasted", f"{secret}\n")),
    ]
    for case in cases:
        with pytest.raises(ConfigError) as info:
            case()
        assert secret not in str(info.value) and secret not in repr(info.value)
