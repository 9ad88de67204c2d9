"""Composition root for offline commands: builds each component once and passes it down.

Backtest versus live is which Clock gets built here, not a flag read deep inside.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from mismarterad.config.session_config import SessionConfig
from mismarterad.config.settings import Settings, load_settings
from mismarterad.core.clock import Clock, SystemClock
from mismarterad.db.engine import DbSessionFactory, make_engine, redact_url
from mismarterad.db.migrate import upgrade
from mismarterad.integrations.exchange_calendar import ExchangeCalendarSource
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.access_repository import TokenRepository, UserRepository
from mismarterad.repositories.audit_repository import AuditRepository
from mismarterad.repositories.claude_usage_repository import ClaudeUsageRepository
from mismarterad.repositories.order_repository import OrderRepository
from mismarterad.repositories.paper_account_repository import PaperAccountRepository
from mismarterad.repositories.parquet_bar_store import ParquetBarStore
from mismarterad.repositories.parquet_event_store import ParquetEventStore
from mismarterad.repositories.run_repository import RunRepository
from mismarterad.repositories.calendar_repository import CalendarRepository

__all__ = ["App"]

log = structlog.get_logger(component="app")


@dataclass
class App:
    """Lazily built components of one command run; the database is migrated on first use."""

    settings: Settings = field(default_factory=load_settings)
    clock: Clock = field(default_factory=SystemClock)
    #: when a command ran (run records of backtests), as opposed to the simulated market time
    wall_clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def engine(self) -> Engine:
        url = self.settings.database_url_value
        engine = make_engine(url)
        if upgrade(engine):
            log.info("database_migrated", url=redact_url(url))
        return engine

    @cached_property
    def db_sessions(self) -> DbSessionFactory:
        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def calendar_repository(self) -> CalendarRepository:
        return CalendarRepository(self.db_sessions)

    def time_manager(self, exchange_group: str = "US_EQUITY", asset_class: str = "EQUITY") -> TimeManager:
        return TimeManager(
            self.clock, self.calendar_repository, ExchangeCalendarSource(), exchange_group, asset_class
        )

    @cached_property
    def bar_store(self) -> ParquetBarStore:
        return ParquetBarStore(self.settings.data_dir)

    @cached_property
    def event_store(self) -> ParquetEventStore:
        return ParquetEventStore(self.settings.data_dir)

    def data_manager(self, time_manager: TimeManager) -> DataManager:
        return DataManager(self.bar_store, time_manager, self.event_store)

    @cached_property
    def run_repository(self) -> RunRepository:
        return RunRepository(self.db_sessions)

    @cached_property
    def order_repository(self) -> OrderRepository:
        return OrderRepository(self.db_sessions)

    @cached_property
    def paper_account_repository(self) -> PaperAccountRepository:
        return PaperAccountRepository(self.db_sessions)

    @cached_property
    def claude_usage_repository(self) -> ClaudeUsageRepository:
        return ClaudeUsageRepository(self.db_sessions)

    @cached_property
    def user_repository(self) -> UserRepository:
        return UserRepository(self.db_sessions)

    @cached_property
    def token_repository(self) -> TokenRepository:
        return TokenRepository(self.db_sessions)

    @cached_property
    def audit_repository(self) -> AuditRepository:
        return AuditRepository(self.db_sessions)

    @staticmethod
    def config_digest(config: SessionConfig) -> str:
        """sha256 of the config's canonical JSON: which config a stored run used."""
        canonical = json.dumps(config.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()
