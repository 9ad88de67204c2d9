"""`mismarterad schedule` against the exchange's own hours (exchange_calendars' XNYS schedule)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import exchange_calendars
import pandas as pd


def test_schedule_matches_the_exchange_across_dst_and_early_closes(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "daemon.toml"
    config.write_text('session_config = "any.json"\nlead_minutes = 45\nlag_minutes = 10\n')  # only lead/lag matter
    result = mismarterad("schedule", "--from", "2023-12-20", "--days", "400", "--config", str(config))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    xnys = exchange_calendars.get_calendar("XNYS")
    official = xnys.schedule.loc["2023-12-20":str(date(2023, 12, 20) + timedelta(days=399))]
    assert [r["date"] for r in rows] == [d.date().isoformat() for d in official.index]
    for row, (_, hours) in zip(rows, official.iterrows(), strict=True):
        assert pd.Timestamp(row["start_utc"]) == hours.open - pd.Timedelta(minutes=45), row
        assert pd.Timestamp(row["stop_utc"]) == hours.close + pd.Timedelta(minutes=10), row
        assert row["start_utc"].endswith("Z") and row["stop_utc"].endswith("Z")
    by_day = {r["date"]: r for r in rows}
    assert by_day["2024-03-08"]["start_utc"] == "2024-03-08T13:45:00Z"  # EST: 09:30 = 14:30Z
    assert by_day["2024-03-11"]["start_utc"] == "2024-03-11T12:45:00Z"  # EDT after the spring change
    assert by_day["2024-11-29"]["stop_utc"] == "2024-11-29T18:10:00Z"  # early close 13:00 EST
    assert "2024-12-25" not in by_day and "2024-07-04" not in by_day


def test_schedule_rejects_bad_arguments(mismarterad) -> None:  # type: ignore[no-untyped-def]
    assert mismarterad("schedule", "--from", "2024-13-01", "--days", "3").returncode == 2
    result = mismarterad("schedule", "--from", "2024-01-01", "--days", "0")
    assert result.returncode == 2 and "--days" in result.stderr
