"""One contract for the usage store, run against the in-memory twin and the database table (SQLite
and PostgreSQL): sums for the budgets over half-open windows, totals per UTC day and purpose."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mismarterad.db.engine import DbSessionFactory
from mismarterad.core.claude_usage import UsageRecord, UsageStore
from mismarterad.repositories.claude_usage_repository import ClaudeUsageRepository
from mismarterad.repositories.memory_usage_store import MemoryUsageStore

T = datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC)


@pytest.fixture(params=["memory", "database"])
def store(request: pytest.FixtureRequest, db_sessions: DbSessionFactory) -> UsageStore:
    return MemoryUsageStore() if request.param == "memory" else ClaudeUsageRepository(db_sessions)


def test_spend_is_summed_over_half_open_windows_and_grouped_per_day_and_purpose(store: UsageStore) -> None:
    repo = store
    for at, purpose, tokens, cost in ((T, "review", (3000, 400), 0.015), (T + timedelta(seconds=15), "ask",
                                       (1000, 100), 0.0045), (T + timedelta(seconds=45), "ask", (2000, 50), 0.00675)):
        repo.record(UsageRecord(at, "claude-sonnet-4-5", purpose, *tokens, cost))
    midnight = datetime(2026, 12, 2, tzinfo=UTC)
    assert repo.spent_usd(midnight - timedelta(days=1), midnight) == pytest.approx(0.0195)
    assert repo.spent_usd(midnight, midnight + timedelta(days=1)) == pytest.approx(0.00675)
    totals = repo.totals(midnight - timedelta(days=1), midnight + timedelta(days=1))
    assert [(t.day, t.purpose, t.calls, t.input_tokens, t.output_tokens) for t in totals] == [
        (date(2026, 12, 1), "ask", 1, 1000, 100), (date(2026, 12, 1), "review", 1, 3000, 400),
        (date(2026, 12, 2), "ask", 1, 2000, 50)]
    assert repo.totals(midnight + timedelta(days=1), midnight + timedelta(days=2)) == []
