"""Real processes at once: writers of one store month serialize and lose no row; migrations of
one fresh database serialize and all succeed."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from mismarterad.db.engine import make_engine
from mismarterad.db.migrate import current_revision, head_revision
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
_pg_names = itertools.count()

WRITER = textwrap.dedent("""
    import sys, time
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from mismarterad.core.market_data import Bar
    from mismarterad.repositories.parquet_bar_store import ParquetBarStore
    root, first, count, at = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    t0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
    store = ParquetBarStore(root)
    time.sleep(max(0.0, at - time.time()))
    for chunk in range(first, first + count, 500):  # many small read-merge-writes, to interleave
        bars = [Bar("SPY", "1m", t0 + timedelta(minutes=i), 10.0, 10.5, 9.5, 10.0, i)
                for i in range(chunk, min(chunk + 500, first + count))]
        store.write_bars("SPY", "1m", bars)
""")

MIGRATOR = textwrap.dedent("""
    import sys, time
    from mismarterad.db.engine import make_engine
    from mismarterad.db.migrate import upgrade
    url, at = sys.argv[1], float(sys.argv[2])
    engine = make_engine(url)
    time.sleep(max(0.0, at - time.time()))
    upgrade(engine)
    engine.dispose()
""")


def _run_at_once(script: str, argv: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    at = time.time() + 2.0  # every process imported and waiting before the common start
    procs = [subprocess.Popen([sys.executable, "-c", script, *args, str(at)], env=_ENV, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for args in argv]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def test_overlapping_writers_of_one_month_lose_no_row(tmp_path: Path) -> None:
    # four processes, overlapping ranges of one month: 0-5999, 3000-8999, 6000-11999, 9000-14179
    ranges = [(0, 6000), (3000, 6000), (6000, 6000), (9000, 5180)]
    results = _run_at_once(WRITER, [[str(tmp_path), str(a), str(n)] for a, n in ranges])
    for r in results:
        assert r.returncode == 0, r.stderr
    bars = ParquetBarStore(tmp_path).read_bars("SPY", "1m", datetime(2011, 1, 1, tzinfo=UTC),
                                               datetime(2011, 2, 1, tzinfo=UTC))
    t0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
    assert [b.start_utc for b in bars] == [t0 + timedelta(minutes=i) for i in range(14180)]
    assert [b.volume for b in bars] == list(range(14180))


def _assert_all_migrated(url: str, results: list[subprocess.CompletedProcess[str]]) -> None:
    for r in results:
        assert r.returncode == 0, r.stderr
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        assert "market_hours" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_processes_migrating_a_fresh_sqlite_database_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state' / 'mismarterad.db'}"
    _assert_all_migrated(url, _run_at_once(MIGRATOR, [[url]] * 4))


@pytest.mark.postgres
def test_processes_migrating_a_fresh_postgres_database_at_once_all_succeed(postgres_server) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.create_database(f"fresh_migrate_{os.getpid()}_{next(_pg_names)}")
    _assert_all_migrated(url, _run_at_once(MIGRATOR, [[url]] * 4))


def test_a_writer_waiting_too_long_for_the_store_lock_raises_locked_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    from mismarterad.core.errors import LockedError
    from mismarterad.core.market_data import Bar
    from mismarterad.repositories import parquet_files

    store = ParquetBarStore(tmp_path)
    bars = [Bar("SPY", "1m", datetime(2011, 1, 3, 14, 30, tzinfo=UTC), 10.0, 10.5, 9.5, 10.0, 1)]
    store.write_bars("SPY", "1m", bars)
    monkeypatch.setattr(parquet_files, "LOCK_TIMEOUT_SECS", 0.3)
    fd = os.open(tmp_path / "bars", os.O_RDONLY | os.O_DIRECTORY)  # another holder of the lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(LockedError, match="another process is writing this store"):
            store.write_bars("SPY", "1m", [Bar("SPY", "1m", bars[0].start_utc, 11.0, 11.5, 10.5, 11.0, 2)])
    finally:
        os.close(fd)
    assert store.read_bars("SPY", "1m", datetime(2011, 1, 1, tzinfo=UTC), datetime(2011, 2, 1, tzinfo=UTC)) == bars
    store.write_bars("SPY", "1m", [Bar("SPY", "1m", bars[0].start_utc, 11.0, 11.5, 10.5, 11.0, 2)])  # free again
