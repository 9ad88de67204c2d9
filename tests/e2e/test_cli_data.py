"""`mismarterad data ...` as users run it, on the bundled real data."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "mismarterad" / "sample_data"
SPY_JAN = SAMPLE / "spy_1min_2011-01_ext_ninjatrader.csv"


def _resample_reference(path: Path, rule: str, first: str, last: str) -> pd.DataFrame:
    """Independent reference: pandas resample of the regular session, windows anchored at 09:30."""
    df = pd.read_csv(path)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).dt.tz_convert("America/New_York")
    df = df.set_index("timestamp")
    frames = []
    for day, group in df.groupby(df.index.date):
        if not (pd.Timestamp(first).date() <= day <= pd.Timestamp(last).date()):
            continue
        rth = group.between_time("09:30", "15:59")
        if rth.empty:
            continue
        if rule == "1D":
            agg = pd.DataFrame(
                {"open": [rth["open"].iloc[0]], "high": [rth["high"].max()], "low": [rth["low"].min()],
                 "close": [rth["close"].iloc[-1]], "volume": [rth["volume"].sum()]},
                index=[pd.Timestamp(day).tz_localize("America/New_York")],
            )
        else:
            origin = pd.Timestamp(f"{day} 09:30", tz="America/New_York")
            agg = rth.resample(rule, origin=origin, label="left", closed="left").agg(
                {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
            ).dropna(subset=["open"])
        frames.append(agg)
    out = pd.concat(frames)
    out["volume"] = out["volume"].astype("int64")
    return out


def _read_export(text: str) -> pd.DataFrame:
    df = pd.read_csv(io.StringIO(text))
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).dt.tz_convert("America/New_York")
    return df.set_index("timestamp")


@pytest.fixture
def with_spy_january(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", "import", str(SPY_JAN), "--symbol", "SPY", "--interval", "1m")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "14180 rows read, 14180 inserted" in result.stdout


@pytest.mark.parametrize(("interval", "rule"), [("5m", "5min"), ("15m", "15min"), ("1h", "60min"), ("1d", "1D")])
def test_derived_export_equals_pandas_resample(mismarterad, with_spy_january, interval: str, rule: str) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", "export", "--symbol", "SPY", "--interval", interval, "--from", "2011-01-03",
                         "--to", "2011-01-31")
    assert result.returncode == 0, result.stderr
    got = _read_export(result.stdout)
    expected = _resample_reference(SPY_JAN, rule, "2011-01-03", "2011-01-31")
    assert list(got.index) == list(expected.index)
    for column in ("open", "high", "low", "close"):
        assert got[column].tolist() == expected[column].tolist(), column
    assert got["volume"].tolist() == expected["volume"].tolist()


def test_stored_interval_export_returns_exactly_the_stored_rows(mismarterad, with_spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", "export", "--symbol", "SPY", "--interval", "1m", "--from", "2011-01-03",
                         "--to", "2011-01-31", "--out", str(tmp_path / "spy.csv"))
    assert result.returncode == 0
    assert (tmp_path / "spy.csv").read_text() == SPY_JAN.read_text()


def test_export_parquet(mismarterad, with_spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "spy5.parquet"
    result = mismarterad("data", "export", "--symbol", "SPY", "--interval", "5m", "--from", "2011-01-03",
                         "--to", "2011-01-03", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.num_rows == 78 and table.column_names == ["timestamp", "open", "high", "low", "close", "volume"]


def test_import_is_idempotent(mismarterad, with_spy_january) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", "import", str(SPY_JAN), "--symbol", "SPY", "--interval", "1m")
    assert "0 inserted, 0 replaced, 14180 unchanged" in result.stdout


def test_bad_row_rejects_the_file_with_line_numbers(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = SPY_JAN.read_text().splitlines()[:50]
    lines[9] = "2011-01-03T04:09:00-05:00,126.0,125.0,126.5,126.2,100"  # high < low, line 10
    lines[19] = "2011-01-03T04:19:00-05:00,abc,126.5,126.0,126.2,100"  # line 20
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = mismarterad("data", "import", str(bad), "--symbol", "SPY", "--interval", "1m")
    assert result.returncode == 65
    assert "line 10:" in result.stderr and "line 20:" in result.stderr
    assert "nothing written" in result.stdout
    listed = mismarterad("data", "list")
    assert "SPY" not in listed.stdout


def test_skip_bad_rows_writes_exactly_the_good_rows(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = SPY_JAN.read_text().splitlines()[:50]
    lines[9] = lines[9].replace(lines[9].split(",")[5], "-5")  # negative volume, line 10
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = mismarterad("data", "import", str(bad), "--symbol", "SPY", "--interval", "1m", "--skip-bad-rows")
    assert result.returncode == 65
    assert "49 rows read, 48 inserted" in result.stdout and "line 10:" in result.stderr
    export = mismarterad("data", "export", "--symbol", "SPY", "--interval", "1m", "--from", "2011-01-03",
                         "--to", "2011-01-03")
    assert export.stdout.splitlines() == [lines[0], *lines[1:9], *lines[10:]]


def test_naive_timestamps_need_a_timezone(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    naive = tmp_path / "naive.csv"
    naive.write_text("timestamp,open,high,low,close,volume\n2011-01-03 09:30:00,1,2,0.5,1.5,10\n")
    result = mismarterad("data", "import", str(naive), "--symbol", "XYZ", "--interval", "1m")
    assert result.returncode == 65 and "line 2:" in result.stderr
    result = mismarterad("data", "import", str(naive), "--symbol", "XYZ", "--interval", "1m", "--timezone",
                         "America/New_York")
    assert result.returncode == 0, result.stderr
    out = mismarterad("data", "export", "--symbol", "XYZ", "--interval", "1m", "--from", "2011-01-03", "--to",
                      "2011-01-03").stdout
    assert "2011-01-03T09:30:00-05:00,1,2,0.5,1.5,10" in out


def test_missing_column_is_reported(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "cols.csv"
    f.write_text("timestamp,open,high,low,close\n2011-01-03T09:30:00-05:00,1,2,0.5,1.5\n")
    result = mismarterad("data", "import", str(f), "--symbol", "XYZ", "--interval", "1m")
    assert result.returncode == 65 and "volume" in result.stderr


def test_quality_counts_expected_bars_from_the_calendar(mismarterad, with_spy_january) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", "quality", "--symbol", "SPY", "--from", "2011-01-14", "--to", "2011-01-18")
    assert result.returncode == 0
    rows = [line for line in result.stdout.splitlines() if "2011-01-" in line]
    assert len(rows) == 2  # Friday 14th and Tuesday 18th: MLK day and the weekend are not sessions
    assert all("390" in row and "100.0" in row for row in rows)


@pytest.mark.slow
def test_sample_imports_every_bundled_minute_file(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", "sample")
    assert result.returncode == 0, result.stderr
    listing = mismarterad("data", "list").stdout
    for symbol in ("SPY", "AAPL", "GOOGL", "TSLA"):
        assert symbol in listing
    assert "1d" not in listing
    result = mismarterad("data", "sample", "--with-daily")
    assert "2 rejected" in result.stdout and "line 1808" in result.stderr


@pytest.fixture
def archive(tmp_path: Path, cli_env: dict[str, str], mismarterad) -> Path:  # type: ignore[no-untyped-def]
    """Another machine's data directory holding SPY's January (imported by the CLI there)."""
    env = {**cli_env, "MISMARTERAD_DATA_DIR": str(tmp_path / "archive"), "MISMARTERAD_STATE_DIR": str(tmp_path / "s2")}
    result = mismarterad("data", "import", str(SPY_JAN), "--symbol", "SPY", env=env)
    assert result.returncode == 0, result.stderr
    return tmp_path / "archive"


def test_import_api_from_a_local_store_copies_the_bars_exactly(mismarterad, archive: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    week = ("--from", "2011-01-03", "--to", "2011-01-07")
    result = mismarterad("data", "import-api", "--source", "local", "--source-data-dir", str(archive),
                         "--symbol", "spy", *week)
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("local: SPY 1m:")]
    rows = int(line.split(": ")[2].split()[0])
    assert rows > 5 * 390 and f"{rows} rows read, {rows} inserted, 0 replaced, 0 unchanged, 0 rejected" in line
    mine = mismarterad("data", "export", "--symbol", "SPY", "--interval", "1m", *week).stdout
    theirs = mismarterad("data", "export", "--symbol", "SPY", "--interval", "1m", *week,
                         env={**cli_env, "MISMARTERAD_DATA_DIR": str(archive)}).stdout
    assert mine == theirs and mine.count("\n") == rows + 1
    again = mismarterad("data", "import-api", "--source", "local", "--source-data-dir", str(archive),
                        "--symbol", "SPY", *week)
    assert again.returncode == 0 and f"0 inserted, 0 replaced, {rows} unchanged" in again.stdout


def test_import_api_validates_bars_like_a_file_import(mismarterad, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from mismarterad.core.market_data import Bar
    from mismarterad.repositories.parquet_bar_store import ParquetBarStore

    t0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
    bars = [Bar("XYZ", "1m", t0 + timedelta(minutes=i), 10, 11, 9, 10.5, 100) for i in range(5)]
    bars[2] = Bar("XYZ", "1m", bars[2].start_utc, 10, 9, 11, 10, 100)  # high < low: bar 3 of the series
    bad = tmp_path / "bad-archive"
    ParquetBarStore(bad).write_bars("XYZ", "1m", bars)
    args = ("data", "import-api", "--source", "local", "--source-data-dir", str(bad), "--symbol", "XYZ",
            "--from", "2011-01-03", "--to", "2011-01-03")
    result = mismarterad(*args)
    assert result.returncode == 65
    assert "local: XYZ: bar 3: high 9" in result.stderr and "nothing written" in result.stdout
    assert "XYZ" not in mismarterad("data", "list").stdout
    result = mismarterad(*args, "--skip-bad-rows")
    assert result.returncode == 65 and "5 rows read, 4 inserted" in result.stdout and "bar 3:" in result.stderr


def test_import_api_exit_codes(mismarterad, archive: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = ("data", "import-api", "--symbol", "SPY", "--from", "2011-01-03", "--to", "2011-01-04")
    local = ("--source", "local", "--source-data-dir")
    usage = [mismarterad(*base, "--source", "local"),  # the source's own option is missing
             mismarterad(*base, "--source", "nowhere", "--source-data-dir", str(archive)),
             mismarterad("data", "import-api", *local, str(archive), "--symbol", "SPY", "--from", "2011-01-04",
                         "--to", "2011-01-03")]
    assert [r.returncode for r in usage] == [2, 2, 2], [r.stderr for r in usage]
    assert "needs --source-data-dir" in usage[0].stderr and "before --from" in usage[2].stderr
    for missing in (tmp_path / "nope", tmp_path):  # no such directory; a directory that is no store
        result = mismarterad(*base, *local, str(missing))
        assert result.returncode == 78 and str(missing) in result.stderr, result.stderr
    unknown = mismarterad("data", "import-api", *local, str(archive), "--symbol", "QQQ", "--from", "2011-01-03",
                          "--to", "2011-01-04")
    assert unknown.returncode == 65 and "no QQQ 1m bars" in unknown.stderr
