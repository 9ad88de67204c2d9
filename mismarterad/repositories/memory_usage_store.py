"""The in-memory twin of the usage table: the same contract (core/claude_usage.UsageStore), held
to it by the one contract suite; tests use it where a database is beside the point."""

from __future__ import annotations

import threading
from datetime import datetime

from mismarterad.core.claude_usage import UsageRecord, UsageTotal, group_totals

__all__ = ["MemoryUsageStore"]


class MemoryUsageStore:
    def __init__(self) -> None:
        self._calls: list[UsageRecord] = []
        self._lock = threading.Lock()

    def record(self, usage: UsageRecord) -> None:
        with self._lock:
            self._calls.append(usage)

    def spent_usd(self, start_utc: datetime, end_utc: datetime) -> float:
        return float(sum(c.cost_usd for c in self._between(start_utc, end_utc)))

    def totals(self, start_utc: datetime, end_utc: datetime) -> list[UsageTotal]:
        return group_totals(sorted(self._between(start_utc, end_utc), key=lambda c: c.ts_utc))

    def _between(self, start_utc: datetime, end_utc: datetime) -> list[UsageRecord]:
        with self._lock:
            return [c for c in self._calls if start_utc <= c.ts_utc < end_utc]
