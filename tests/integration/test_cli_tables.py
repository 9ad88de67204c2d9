"""The `mismarterad` commands that print tables, run in-process on a real store and database with
an 80-column terminal: no line is wider, no row wraps (only a free-text column folds, inside
itself), and piped output keeps its 160 columns."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mismarterad.cli.main import main
from mismarterad.core.claude_usage import UsageRecord
from mismarterad.core.market_data import Bar
from mismarterad.runs.app import App

NY_OPEN = datetime(2011, 11, 21, 14, 30, tzinfo=UTC)  # Monday of Thanksgiving week (Friday closes at 13:00)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    for name in ("MISMARTERAD_STATE_DIR", "MISMARTERAD_DATA_DIR", "MISMARTERAD_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MISMARTERAD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MISMARTERAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MISMARTERAD_LOG_LEVEL", "error")
    monkeypatch.setenv("COLUMNS", "80")
    yield App()


def run(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    assert code == 0, err.getvalue()
    return out.getvalue()


def table_rows(text: str) -> list[str]:
    """The lines under the header rule."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    return lines[rule + 1:]


def fits(text: str) -> None:
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text


def test_calendar_show_of_holidays_and_an_early_close(state: App) -> None:
    text = run("calendar", "show", "--from", "2024-06-17", "--to", "2024-07-07")
    fits(text)
    rows = table_rows(text)
    days = [line[:10] for line in rows if re.match(r"\d{4}-\d\d-\d\d ", line)]
    assert days == [(date(2024, 6, 17) + timedelta(days=n)).isoformat() for n in range(21)]  # each day one row
    note = text.splitlines()[1].index("note")
    holiday = " ".join(line[note:].strip() for line in rows[2:4])  # the long name folds inside its column
    assert "2024-06-19  Wed" in rows[2] and holiday.startswith("Juneteenth National Independence Day")
    assert re.search(r"^2024-07-03  Wed  04:00    09:30  13:00  17:00     early close\s*$", text, re.M)


def test_data_list_and_quality_with_many_gaps_and_an_early_close(state: App) -> None:
    def minutes(day_open: datetime, count: int, skip: set[int]) -> list[Bar]:
        return [Bar("SPY", "1m", day_open + timedelta(minutes=m), 10.0, 10.5, 9.5, 10.0, 100)
                for m in range(count) if m not in skip]

    gappy = {5, 6, 40, 41, 42, 100, 150, 151, 200, 260, 300, 301, 302, 350}
    bars = minutes(NY_OPEN, 390, gappy) + minutes(NY_OPEN + timedelta(days=4), 210, {3})  # Fri 2011-11-25
    state.bar_store.write_bars("SPY", "1m", bars)
    listed = run("data", "list")
    fits(listed)
    assert re.search(r"^SPY\s+1m\s+2011-11-21\s+2011-11-25\s+585\s*$", listed, re.M)
    text = run("data", "quality", "--symbol", "SPY", "--from", "2011-11-21", "--to", "2011-11-25")
    fits(text)
    rows = table_rows(text)
    assert re.match(r"2011-11-21\s+390\s+376\s+14\s+96\.4\s+09:35-09:37,", rows[0])
    gaps = text.splitlines()[1].index("gaps")
    folded = " ".join(line[gaps:].strip() for line in rows[:rows.index(next(r for r in rows if r.startswith("2011-11-22")))])
    assert folded == "09:35-09:37, 10:10-10:13, 11:10-11:11, 12:00-12:02, 12:50-12:51 (+3 more)"  # inside its column
    assert any(re.match(r"2011-11-25 early close\s+210\s+209\s+1\s+99\.5\s+09:33-09:34", r) for r in rows)


def test_claude_usage_with_its_total_row(state: App) -> None:
    repository = state.claude_usage_repository
    for day, purpose, tokens in ((1, "review", 52_000), (1, "ask", 3_100), (2, "ask", 2_400)):
        repository.record(UsageRecord(datetime(2026, 3, day, 21, tzinfo=UTC), "claude-sonnet-4-5", purpose, tokens,
                                      900, tokens * 3e-6 + 900 * 15e-6))
    text = run("claude", "usage", "--from", "2026-03-01", "--to", "2026-03-31")
    fits(text)
    assert re.search(r"^total\s+3\s+57500\s+2700\s+0\.2130\s*$", text, re.M), text


def test_piped_tables_keep_their_width(state: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS")
    text = run("calendar", "show", "--from", "2024-06-17", "--to", "2024-06-23")
    assert "Juneteenth National Independence Day" in text  # 160 columns: nothing folds
