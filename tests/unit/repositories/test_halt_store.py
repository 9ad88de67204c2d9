"""The persisted halt: round trip, atomic replacement, and every doubt read as HALTED."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from mismarterad.repositories import halt_store
from mismarterad.core.halt import MAX_REASON_CHARS, HaltState, bad_reason
from mismarterad.repositories.halt_store import HaltStore

NOW = datetime(2011, 1, 4, 14, 40, tzinfo=UTC)
STATE = HaltState(NOW - timedelta(minutes=3), "uid 1000 (alice)", "broker outage", True)


def test_round_trip(tmp_path: Path) -> None:
    store = HaltStore(tmp_path / "halt.json")
    assert store.load(NOW) is None  # no file: not halted
    store.save(STATE)
    assert store.load(NOW) == STATE
    raw = json.loads((tmp_path / "halt.json").read_text())
    assert raw == {"version": 1, "since": "2011-01-04T14:37:00+00:00", "by": "uid 1000 (alice)",
                   "reason": "broker outage", "flatten": True}
    store.clear()
    assert store.load(NOW) is None and not (tmp_path / "halt.json").exists()
    store.clear()  # twice is fine


def test_a_non_utc_since_reads_back_as_the_same_instant(tmp_path: Path) -> None:
    store = HaltStore(tmp_path / "halt.json")
    store.save(HaltState(datetime(2011, 1, 4, 9, 37, tzinfo=timezone(timedelta(hours=-5))), "daemon", "", False))
    loaded = store.load(NOW)
    assert loaded is not None and loaded.since_utc == NOW - timedelta(minutes=3)


@pytest.mark.parametrize("content", [
    b"", b"{", b"\xff\xfe", b"[]", b"null", b'{"since": "yesterday", "by": "x", "reason": "", "flatten": false}',
    b'{"since": "2011-01-04T14:37:00", "by": "x", "reason": "", "flatten": false}',  # no offset
    b'{"since": "2011-01-04T14:37:00+00:00", "by": 1, "reason": "", "flatten": false}',
    b'{"since": "2011-01-04T14:37:00+00:00", "by": "x", "reason": "", "flatten": "no"}',
    b"[" * 100_000,
], ids=["empty", "truncated", "not-utf8", "list", "null", "bad-date", "naive-date", "bad-by", "bad-flatten", "huge"])
def test_a_corrupt_file_means_halted(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "halt.json").write_bytes(content)
    with capture_logs() as logs:
        state = HaltStore(tmp_path / "halt.json").load(NOW)
    assert state is not None, "a corrupt halt file must never read as 'not halted'"
    assert state.since_utc == NOW and state.by == "daemon" and "halt.json" in state.reason
    assert len(state.reason) <= MAX_REASON_CHARS and bad_reason(state.reason) is None
    assert [e["log_level"] for e in logs if e["event"] == "halt_file_unreadable"] == ["error"]


def test_an_unreadable_file_means_halted(tmp_path: Path) -> None:
    (tmp_path / "halt.json").mkdir()  # reading it fails with an OSError other than "missing"
    state = HaltStore(tmp_path / "halt.json").load(NOW)
    assert state is not None and "cannot be read" in state.reason


def test_a_failed_write_keeps_the_old_file_whole_and_leaves_no_temp_file(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store = HaltStore(tmp_path / "halt.json")
    store.save(STATE)
    before = (tmp_path / "halt.json").read_bytes()

    def full_disk(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(halt_store.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        store.save(HaltState(NOW, "uid 0 (root)", "second", False))
    assert (tmp_path / "halt.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["halt.json"]


def test_the_file_is_replaced_by_rename_never_rewritten_in_place(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = HaltStore(tmp_path / "halt.json")
    store.save(STATE)
    inode = (tmp_path / "halt.json").stat().st_ino
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        assert Path(src).parent == tmp_path and json.loads(Path(src).read_text())["reason"] == "second"
        renames.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(halt_store.os, "replace", spy)
    store.save(HaltState(NOW, "uid 0 (root)", "second", False))
    assert len(renames) == 1 and renames[0][1] == "halt.json" and renames[0][0].endswith(".tmp")
    assert (tmp_path / "halt.json").stat().st_ino != inode
    assert store.load(NOW) == HaltState(NOW, "uid 0 (root)", "second", False)


def test_a_read_only_directory_raises_for_the_caller_to_report(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(OSError):
            HaltStore(tmp_path / "halt.json").save(STATE)
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.parametrize("reason, problem", [
    ("", None), ("broker outage; see ticket 42", None), ("ünïcödé ok", None), ("x" * MAX_REASON_CHARS, None),
    ("x" * (MAX_REASON_CHARS + 1), "at most 200"), ("two\nlines", "control characters"),
    ("bell\x07", "control characters"), ("escape \x1b[31m", "control characters"),
    ("zero\u200bwidth", "control characters"),
])
def test_reasons(reason: str, problem: str | None) -> None:
    found = bad_reason(reason)
    assert (found is None) if problem is None else (found is not None and problem in found)
