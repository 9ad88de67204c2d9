"""Fixtures shared by the whole suite: real databases (SQLite and PostgreSQL), app wiring."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from mismarterad.core.clock import SystemClock
from mismarterad.db.engine import DbSessionFactory, make_engine
from mismarterad.db.migrate import upgrade
from mismarterad.integrations.exchange_calendar import ExchangeCalendarSource
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.calendar_repository import CalendarRepository
from support.postgres_server import PostgresNotInstalled, PostgresServer, start_server

_db_counter = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow tests first (their order kept, and each file's tests in their order):
    xdist hands files out in this order, so the replayed days and crash tests, minutes each,
    start at once instead of one of them setting the suite's end alone."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = start_server()
    except PostgresNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    # One migrated template; each test gets a copy of it (CREATE DATABASE ... TEMPLATE).
    template_engine = make_engine(server.create_database("migrated_template"))
    upgrade(template_engine)
    template_engine.dispose()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty database URL of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"test_{next(_db_counter)}", template="migrated_template")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine; teardown asserts every connection went back to the pool."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    checked_out = eng.pool.checkedout()  # type: ignore[attr-defined]
    eng.dispose()
    assert checked_out == 0, f"{checked_out} database connection(s) were never returned"


@pytest.fixture
def db_sessions(engine: Engine) -> DbSessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def sqlite_sessions(tmp_path) -> Iterator[DbSessionFactory]:  # type: ignore[no-untyped-def]
    """Sessions of a migrated SQLite database of the test's own, for tests that need one kind only."""
    engine = make_engine(f"sqlite:///{tmp_path / 'own.db'}")
    upgrade(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def calendar_repository(db_sessions: DbSessionFactory) -> CalendarRepository:
    return CalendarRepository(db_sessions)


@pytest.fixture
def time_manager(calendar_repository: CalendarRepository) -> TimeManager:
    return TimeManager(SystemClock(), calendar_repository, ExchangeCalendarSource())


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()
