"""Fuzzing CSV imports in-process: random bytes and random rows through `mismarterad data import`
(the CLI's `main`) and `DataManager.import_file` never raise anything but our errors; the CLI
exits 0 (stored), 65 (bad rows or file, every bad line named) or 74 (I/O), never 1, never a
traceback; and a rejected file leaves the store byte for byte unchanged (with --skip-bad-rows an
exit 65 may still have stored the good rows, as documented).

Examples: 400 + 400 through `main`, 1,400 through `DataManager.import_file` (2,200 in all).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mismarterad.cli.main import main
from mismarterad.core.errors import MismarteradError
from mismarterad.core.market_data import Bar
from mismarterad.managers.data_manager import DataManager
from mismarterad.repositories import parquet_bar_store, parquet_files
from mismarterad.runs.app import App
from mismarterad.config.settings import load_settings

pytestmark = pytest.mark.slow

HEADER = ["timestamp", "open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("fuzz")
    saved = {k: v for k, v in os.environ.items() if k.startswith("MISMARTERAD_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(MISMARTERAD_STATE_DIR=str(root / "state"), MISMARTERAD_DATA_DIR=str(root / "data"),
                      MISMARTERAD_LOG_FORMAT="json", MISMARTERAD_LOG_LEVEL="error")
    # a stored series for the fuzzed imports to merge into
    App().bar_store.write_bars("SPY", "1m", [Bar("SPY", "1m", datetime(2011, 1, 3, 14, 30 + i, tzinfo=UTC), 10.0,
                                                 10.5, 9.5, 10.0, 100) for i in range(5)])
    yield root
    for k in [k for k in os.environ if k.startswith("MISMARTERAD_")]:
        del os.environ[k]
    os.environ.update(saved)


def snapshot(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def check_cli_import(root: Path, content: bytes, skip: bool, name: str = "in.csv") -> None:
    path = root / name
    path.write_bytes(content)
    before = snapshot(root / "data")
    argv = ["data", "import", str(path), "--symbol", "SPY"] + (["--skip-bad-rows"] if skip else [])
    code, out, err = run_cli(*argv)
    assert code in (0, 65, 74), (code, out, err)
    assert "Traceback" not in err and "Traceback" not in out, err
    if code != 0:
        assert err.strip(), "a rejection names its reason"
    if code == 74 or (code != 0 and not skip):  # with --skip-bad-rows, 65 may still store the good rows
        assert snapshot(root / "data") == before


# --- strategies ---

_tokens = st.one_of(
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e400", "-0", "0", "1", "10.5", "1e7", "1e13",
                     "99999999999999999999", "2.031e3", "abc", "\x00", '"', '""', "\ufeff", "１２", "1_000",
                     "2011-01-03T09:30:00-05:00", "2011-01-03T09:31:00-05:00", "2011-01-03 09:32:00+00:00",
                     "9999-12-31T23:59:00-05:00", "0001-01-01T00:00:00+01:00", "2011-01-03T09:30:30-05:00",
                     "2011-03-13T02:30:00", "1989-12-31T23:59:00+00:00", "2011-01-03", "yesterday"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**25), 10**25).map(str),
    st.text(max_size=12),
)


@st.composite
def csv_text(draw: st.DrawFn) -> bytes:
    header = draw(st.one_of(st.just(HEADER), st.permutations(HEADER), st.lists(st.sampled_from(HEADER + ["x", ""]),
                                                                                max_size=7)))
    rows = draw(st.lists(st.lists(_tokens, min_size=0, max_size=8), max_size=8))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for r in rows:
        if draw(st.booleans()):  # mostly well-shaped rows, with plausible prices, so some get stored
            r = (r + ["10", "11", "9", "10", "100", "10"])[: len(header)]
        writer.writerow(r)
    data = buf.getvalue().encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # now and then, damage the bytes themselves
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=8)) + data[cut:]
    return data


_fuzz = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@settings(_fuzz, max_examples=400)
@given(content=st.binary(max_size=400), skip=st.booleans())
def test_random_bytes_through_the_cli(env: Path, content: bytes, skip: bool) -> None:
    check_cli_import(env, content, skip)


@settings(_fuzz, max_examples=400)
@given(content=csv_text(), skip=st.booleans())
def test_random_rows_through_the_cli(env: Path, content: bytes, skip: bool) -> None:
    check_cli_import(env, content, skip)


_managers: dict[Path, DataManager] = {}


@settings(_fuzz, max_examples=1400)
@given(content=st.one_of(csv_text(), st.binary(max_size=300)), skip=st.booleans(),
       suffix=st.sampled_from([".csv", ".csv", ".parquet", ".txt"]))
def test_random_files_through_the_data_manager(env: Path, content: bytes, skip: bool, suffix: str) -> None:
    if env not in _managers:
        app = App(settings=load_settings())
        _managers[env] = app.data_manager(app.time_manager())
    dm = _managers[env]
    path = env / f"dm{suffix}"
    path.write_bytes(content)
    before = snapshot(env / "data")
    try:
        report = dm.import_file(path, "SPY", "1m", skip_bad_rows=skip)
    except MismarteradError:
        assert snapshot(env / "data") == before
        return
    if report.written is None:
        assert report.problems and snapshot(env / "data") == before
    for bar in [] if report.written is None else dm.get_bars("SPY", "1m", date(1990, 1, 1), date(2030, 1, 1)):
        assert 0 < bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high < 1e7


# --- an import is all-or-nothing, through the CLI ---

def test_failed_import_of_a_later_month_stores_no_month(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"2011-0{m}-{d:02d}T10:00:00-05:00,20,21,19,20,7" for m in (1, 4, 5) for d in (3, 4)]
    path = env / "three_months.csv"
    path.write_text("\n".join(lines) + "\n")
    before = snapshot(env / "data")
    real = parquet_files.stage_write

    def full_disk_in_may(target: Path, table: object) -> parquet_files.StagedFile:
        if target.name == "2011-05.parquet":
            raise parquet_files.StoreWriteError(f"cannot write {target}: No space left on device; nothing was changed")
        return real(target, table)  # type: ignore[arg-type]

    monkeypatch.setattr(parquet_bar_store, "stage_write", full_disk_in_may)
    code, out, err = run_cli("data", "import", str(path), "--symbol", "SPY")
    assert code == 74, (out, err)
    assert "2011-05.parquet" in err and "nothing was changed" in err and "Traceback" not in err
    assert snapshot(env / "data") == before  # January (merged into existing bars) and April untouched
    monkeypatch.undo()
    code, out, err = run_cli("data", "import", str(path), "--symbol", "SPY")
    assert code == 0 and "6 inserted" in out, (out, err)
