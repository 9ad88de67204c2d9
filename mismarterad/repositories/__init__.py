"""Storage access: one repository per aggregate, returning `core` values."""

__all__ = ["CalendarRepository", "MemoryBarStore", "ParquetBarStore"]

from mismarterad.repositories.calendar_repository import CalendarRepository
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from mismarterad.repositories.parquet_bar_store import ParquetBarStore
