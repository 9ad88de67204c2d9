"""The language model's calls as the usage ledger records them, and the store it keeps them in
(repositories/claude_usage_repository.py on the database, repositories/memory_usage_store.py its
in-memory twin; tests/integration/claude/test_usage_store_contract.py holds both to one contract)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

__all__ = ["UsageRecord", "UsageStore", "UsageTotal", "group_totals"]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    ts_utc: datetime  # wall clock: the money is real
    model: str
    purpose: str  # "review" or "ask"
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class UsageTotal:
    day: date  # UTC
    purpose: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class UsageStore(Protocol):
    def record(self, usage: UsageRecord) -> None: ...

    def spent_usd(self, start_utc: datetime, end_utc: datetime) -> float:
        """The cost of the calls in [start_utc, end_utc)."""
        ...

    def totals(self, start_utc: datetime, end_utc: datetime) -> list[UsageTotal]:
        """Per UTC day and purpose, in day then purpose order, the calls of [start_utc, end_utc)."""
        ...


def group_totals(calls: list[UsageRecord]) -> list[UsageTotal]:
    """`calls` summed per UTC day and purpose, in day then purpose order."""
    grouped: dict[tuple[date, str], list[UsageRecord]] = {}
    for call in calls:
        grouped.setdefault((call.ts_utc.date(), call.purpose), []).append(call)
    return [UsageTotal(day, purpose, len(rows), sum(c.input_tokens for c in rows), sum(c.output_tokens for c in rows),
                       sum(c.cost_usd for c in rows)) for (day, purpose), rows in sorted(grouped.items())]
