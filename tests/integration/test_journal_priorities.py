"""journald priority prefixes, from a real process whose stderr is (or is not) the stream named
by $JOURNAL_STREAM, as systemd sets it (systemd.exec(5)): the test opens the file the child's
stderr goes to and puts that file's device:inode in the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mismarterad.cli.logging import stderr_is_journal

SCRIPT = """
import structlog
from mismarterad.cli.logging import configure_logging
configure_logging({fmt!r}, "debug")
log = structlog.get_logger(component="t")
log.debug("a_debug", n=1)
log.info("an_info", n=2)
log.warning("a_warning", n=3)
log.error("an_error", n=4)
try:
    raise RuntimeError("boom")
except RuntimeError:
    log.exception("a_failure", n=5)
"""


def run_logging(tmp_path: Path, fmt: str, journal_stream: str | None) -> list[str]:
    """Run the script with stderr to a file; JOURNAL_STREAM is `journal_stream`, where the
    string "self" stands for the file's own device:inode."""
    target = tmp_path / f"stderr-{fmt}.txt"
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with target.open("wb") as handle:
        st = os.fstat(handle.fileno())
        if journal_stream is not None:
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}" if journal_stream == "self" else journal_stream
        subprocess.run([sys.executable, "-c", SCRIPT.format(fmt=fmt)], stderr=handle, stdout=subprocess.DEVNULL,
                       env=env, check=True, timeout=60)
    return target.read_text().splitlines()


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_lines_carry_their_priority_when_stderr_is_the_journal_stream(tmp_path: Path, fmt: str) -> None:
    lines = run_logging(tmp_path, fmt, "self")
    assert lines and all(line[:3] in ("<7>", "<6>", "<4>", "<3>") for line in lines), lines
    by_event = {event: next(line for line in lines if event in line)
                for event in ("a_debug", "an_info", "a_warning", "an_error", "a_failure")}
    assert by_event["a_debug"].startswith("<7>")
    assert by_event["an_info"].startswith("<6>")
    assert by_event["a_warning"].startswith("<4>")
    assert by_event["an_error"].startswith("<3>")
    assert by_event["a_failure"].startswith("<3>")
    failure = lines[lines.index(by_event["a_failure"]):]
    if fmt == "json":
        assert len(lines) == 5, "one JSON line per record, the traceback inside it"
        assert "Traceback" in failure[0] and "boom" in failure[0]
    else:  # the traceback spans lines: each one keeps the record's priority
        assert len(failure) > 2 and all(line.startswith("<3>") for line in failure)
        assert any("RuntimeError: boom" in line for line in failure)


@pytest.mark.parametrize("journal_stream", [None, "1:2", "garbage", ""], ids=["unset", "other", "bad", "empty"])
def test_no_prefix_unless_stderr_is_that_stream(tmp_path: Path, journal_stream: str | None) -> None:
    # "1:2" is a stream of the journal, but not this process's stderr (a redirected child)
    lines = run_logging(tmp_path, "json", journal_stream)
    assert len(lines) == 5 and all(line.startswith("{") for line in lines), lines


def test_stderr_is_journal_matches_device_and_inode(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("")
    with path.open("rb") as handle:
        st = os.fstat(handle.fileno())
        own = f"{st.st_dev}:{st.st_ino}"
        assert stderr_is_journal({"JOURNAL_STREAM": own}, handle.fileno())
        assert not stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}, handle.fileno())
        assert not stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev + 1}:{st.st_ino}"}, handle.fileno())
        assert not stderr_is_journal({}, handle.fileno())
        assert not stderr_is_journal({"JOURNAL_STREAM": f"{own}:9"}, handle.fileno())
    assert not stderr_is_journal({"JOURNAL_STREAM": own}, 987654)  # a closed descriptor
