"""Composition root for offline commands: builds each component once and passes it down.

Backtest versus live is which Clock gets built here, not a flag read deep inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from mismarterad.config.settings import Settings, load_settings
from mismarterad.core.clock import Clock, SystemClock
from mismarterad.db.engine import SessionFactory, make_engine, redact_url
from mismarterad.db.migrate import upgrade
from mismarterad.integrations.exchange_calendar import ExchangeCalendarSource
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.calendar_repository import CalendarRepository

__all__ = ["App"]

log = structlog.get_logger(component="app")


@dataclass
class App:
    """Lazily built components of one command run; the database is migrated on first use."""

    settings: Settings = field(default_factory=load_settings)
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def engine(self) -> Engine:
        url = self.settings.database_url_value
        engine = make_engine(url)
        if upgrade(engine):
            log.info("database_migrated", url=redact_url(url))
        return engine

    @cached_property
    def sessions(self) -> SessionFactory:
        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def calendar_repository(self) -> CalendarRepository:
        return CalendarRepository(self.sessions)

    def time_manager(self, exchange_group: str = "US_EQUITY", asset_class: str = "EQUITY") -> TimeManager:
        return TimeManager(
            self.clock, self.calendar_repository, ExchangeCalendarSource(), exchange_group, asset_class
        )
