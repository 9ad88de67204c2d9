"""append_line keeps every line whole or absent: a failed write is cut back off, and a torn
last line (a crash mid-write) never fuses with the next one."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mismarterad.core import durable_files
from mismarterad.core.durable_files import append_line


def test_a_line_after_a_crash_torn_fragment_stays_a_line_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    append_line(path, '{"posted": "a"}')
    with path.open("a") as f:
        f.write('{"bound": {"client_ord')  # a power cut mid-line: no newline
    append_line(path, '{"posted": "b"}')
    assert path.read_text().splitlines() == ['{"posted": "a"}', '{"bound": {"client_ord', '{"posted": "b"}']


def test_a_write_that_fails_part_way_is_cut_back_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.jsonl"
    append_line(path, '{"posted": "a"}')
    real_write = os.write
    calls = []

    def disk_fills(fd: int, data: bytes | memoryview) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:5]))  # part of the line lands
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(durable_files.os, "write", disk_fills)
    with pytest.raises(OSError, match="No space"):
        append_line(path, '{"bound": {"client_order_id": "b"}}')
    monkeypatch.undo()
    assert path.read_text() == '{"posted": "a"}\n'  # nothing of the failed line is left
    append_line(path, '{"posted": "c"}')
    assert path.read_text().splitlines() == ['{"posted": "a"}', '{"posted": "c"}']
