"""A report that cannot be written (disk full, read-only) is a StorageError naming the folder and
the reason, and leaves nothing half-written."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.tmpfs import tiny_tmpfs as mounted_tmpfs

from mismarterad.core.errors import StorageError
from mismarterad.core.run_result import RunResult
from mismarterad.runs import reports
from mismarterad.runs.reports import write_backtest_report, write_failure_report

NY = ZoneInfo("America/New_York")


def _result() -> RunResult:
    return RunResult(session_name="t", mode="backtest", first_day=date(2011, 1, 4), last_day=date(2011, 1, 4),
                     initial_cash=1000.0, orders=(), fills=(), equity=(), quality=(), bars_processed=0,
                     sessions_run=(date(2011, 1, 4),), sessions_skipped=())


def test_a_full_disk_while_writing_is_a_storage_error_and_leaves_no_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(reports, "_write_equity", full)
    out = tmp_path / "reports" / "2011-01-04"
    with pytest.raises(StorageError) as caught:
        write_backtest_report(out, _result(), NY, {"run_id": 1})
    message = str(caught.value)
    assert str(out) in message and "No space left on device" in message and "ENOSPC" in message
    assert "\n" not in message
    assert list((tmp_path / "reports").iterdir()) == []  # the staging folder is gone too


def test_an_older_report_survives_a_failed_rewrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r"
    write_failure_report(out, {"error": "first"})
    monkeypatch.setattr(reports, "_write_run_info", lambda *_: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only")))
    with pytest.raises(StorageError, match="Read-only"):
        write_failure_report(out, {"error": "second"})
    assert '"first"' in (out / "run.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_run_json_redacts_url_passwords_in_error_texts(tmp_path: Path) -> None:
    write_failure_report(tmp_path / "r", {"error": "cannot connect to postgresql://me:hunter2@db/x", "token": "t"})
    text = (tmp_path / "r" / "run.json").read_text()
    assert "hunter2" not in text and "postgresql://me:***@db/x" in text and '"t"' not in text


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "tiny", "64k") as mount:
        yield mount


def test_a_real_full_tmpfs_is_a_storage_error(tiny_tmpfs: Path) -> None:
    (tiny_tmpfs / "filler").write_bytes(b"x" * (64 * 1024 - 8192))  # leave less than a report needs
    with pytest.raises(StorageError) as caught:
        write_backtest_report(tiny_tmpfs / "out", _result(), NY, {"run_id": 1, "pad": "y" * 20_000})
    assert "No space left on device" in str(caught.value) and str(tiny_tmpfs / "out") in str(caught.value)
    assert sorted(p.name for p in tiny_tmpfs.iterdir()) == ["filler"]
