"""The API signing key: made once with mode 0600 and read back the same at every start (so tokens
survive a restart); a key others may read or a damaged file stops the start (ConfigError, exit
78); a crash while a new key is written leaves no key file behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mismarterad.api import signing_key
from mismarterad.api.signing_key import SIGNING_KEY_FILE, load_signing_key
from mismarterad.core.errors import ConfigError, StorageError


def test_the_key_is_made_once_private_and_read_back_the_same(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path)
    path = tmp_path / SIGNING_KEY_FILE
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(tmp_path) == key, "a restart keeps the key, and with it every token"
    assert [p.name for p in tmp_path.iterdir()] == [SIGNING_KEY_FILE], "no temporary file is left"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_others_may_read_stops_the_start(tmp_path: Path, mode: int) -> None:
    load_signing_key(tmp_path)
    (tmp_path / SIGNING_KEY_FILE).chmod(mode)
    with pytest.raises(ConfigError, match=f"mode {mode:04o}.*0600 is expected"):
        load_signing_key(tmp_path)


@pytest.mark.parametrize("content", ["", "not hex at all\n", "ab" * 31 + "\n"])
def test_a_damaged_key_stops_the_start_saying_how_to_recover(tmp_path: Path, content: str) -> None:
    path = tmp_path / SIGNING_KEY_FILE
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="not an API signing key.*delete it"):
        load_signing_key(tmp_path)


def test_a_crash_while_writing_a_new_key_leaves_no_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int, data: bytes) -> int:
        raise OSError(28, os.strerror(28))

    monkeypatch.setattr(signing_key.os, "write", disk_full)
    with pytest.raises(StorageError, match="cannot create the API signing key"):
        load_signing_key(tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert len(load_signing_key(tmp_path)) == 32, "the next start makes the key"
