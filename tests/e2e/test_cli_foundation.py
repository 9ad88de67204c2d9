"""The `mismarterad` command as users run it: config check, db, calendar and time commands."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import exchange_calendars
import pytest

REPO = Path(__file__).resolve().parents[2]


def test_config_check_valid_file_prints_ok(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("config", "check", str(REPO / "session_configs/spy_2011_backtest.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "OK\n"


def test_config_check_invalid_file_exits_78_naming_every_field(mismarterad, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raw = json.loads((REPO / "session_configs/spy_2011_backtest.json").read_text())
    raw["mode"] = "paper"
    raw["session_data_config"]["historical"]["data"][0]["trailing_days"] = -3
    raw["backtest_config"]["prefetch_days"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    result = mismarterad("config", "check", str(bad))
    assert result.returncode == 78
    lines = result.stdout.splitlines()
    assert "session_data_config.historical.data[0].trailing_days: must be >= 0, got -3" in lines
    assert "mode: must be one of 'backtest' or 'live', got 'paper'" in lines
    assert "backtest_config.prefetch_days: must be >= 1, got 0" in lines
    assert len(lines) == 3


def test_fresh_state_directory_is_created_and_migrated(mismarterad, cli_env) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("db", "status")
    assert result.returncode == 0
    assert "revision: none" in result.stdout
    result = mismarterad("db", "upgrade")
    assert result.returncode == 0 and "migrated to revision 0006" in result.stdout
    assert Path(cli_env["MISMARTERAD_STATE_DIR"], "mismarterad.db").exists()
    assert "already at revision 0006" in mismarterad("db", "upgrade").stdout


def test_database_password_never_printed(mismarterad, cli_env) -> None:  # type: ignore[no-untyped-def]
    env = dict(cli_env, MISMARTERAD_DATABASE_URL="postgresql://trader:s3cret-pw@127.0.0.1:1/none")
    result = mismarterad("db", "status", env=env)
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert result.returncode != 0


@pytest.mark.slow
def test_calendar_export_2005_2030_matches_the_xnys_schedule(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("calendar", "export", "--exchange-group", "US_EQUITY", "--from", "2005-01-01",
                         "--to", "2030-12-31")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["date", "regular_open", "regular_close", "is_early_close"]
    cal = exchange_calendars.get_calendar("XNYS", start="2005-01-01", end="2030-12-31")
    expected = [
        [ts.date().isoformat(), o.tz_convert("America/New_York").strftime("%H:%M"),
         c.tz_convert("America/New_York").strftime("%H:%M"),
         "true" if c.tz_convert("America/New_York").strftime("%H:%M") != "16:00" else "false"]
        for ts, o, c in zip(cal.schedule.index, cal.schedule["open"], cal.schedule["close"], strict=True)
    ]
    assert rows[1:] == expected
    assert len(rows) - 1 == 6538
    assert ["2012-10-29"] not in [r[:1] for r in rows]
    assert ["2024-11-29", "09:30", "13:00", "true"] in rows


def test_calendar_export_range_includes_both_ends(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("calendar", "export", "--from", "2024-07-01", "--to", "2024-07-05")
    assert result.stdout.splitlines() == [
        "date,regular_open,regular_close,is_early_close",
        "2024-07-01,09:30,16:00,false",
        "2024-07-02,09:30,16:00,false",
        "2024-07-03,09:30,13:00,true",
        "2024-07-05,09:30,16:00,false",
    ]


def test_calendar_sync_reports_what_it_stored(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("calendar", "sync", "--exchange-group", "US_EQUITY", "--from", "2024-01-01", "--to",
                         "2024-12-31")
    assert result.returncode == 0
    assert result.stdout.strip() == "US_EQUITY: stored 366 calendar days, 252 trading days, 2024-01-01..2024-12-31"


def test_bad_arguments_are_usage_errors(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("calendar", "export", "--from", "2024-13-01", "--to", "2024-12-31")
    assert result.returncode == 2
    assert "invalid date '2024-13-01': expected YYYY-MM-DD" in result.stderr
    result = mismarterad("calendar", "export", "--from", "2024-12-31", "--to", "2024-01-01")
    assert result.returncode == 2 and "is before --from" in result.stderr


def test_time_session_of_a_holiday_and_an_early_close(mismarterad) -> None:  # type: ignore[no-untyped-def]
    out = mismarterad("time", "session", "2012-10-29").stdout
    assert "closed: Hurricane Sandy closure" in out and "next:           2012-10-31" in out
    out = mismarterad("time", "session", "2024-11-29").stdout
    assert "trading day (early close)" in out and "09:30-13:00" in out


def test_time_now_prints_market_time(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("time", "now")
    assert result.returncode == 0
    assert "(America/New_York)" in result.stdout and "market session:" in result.stdout


def test_logs_go_to_stderr_as_json_lines_off_a_tty(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("calendar", "export", "--from", "2024-07-01", "--to", "2024-07-01")
    assert result.stdout.startswith("date,regular_open")
    events = [json.loads(line) for line in result.stderr.splitlines()]
    migrated = [e for e in events if e["event"] == "database_migrated"]
    assert migrated and {"timestamp", "level", "component", "event"} <= set(migrated[0])
    assert migrated[0]["timestamp"].endswith("Z")


def test_help_of_every_subcommand_has_examples(mismarterad) -> None:  # type: ignore[no-untyped-def]
    for command in ("config", "db", "calendar", "time"):
        result = mismarterad(command, "--help")
        assert result.returncode == 0 and "examples:" in result.stdout, command
