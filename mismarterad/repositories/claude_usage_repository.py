"""The language model's calls as stored (`claude_usage`): recorded one by one, summed for the
budgets, and grouped per day and purpose for `mismarterad claude usage`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from mismarterad.core.claude_usage import UsageRecord, UsageTotal, group_totals
from mismarterad.db.engine import DbSessionFactory
from mismarterad.db.tables import ClaudeUsageRow

__all__ = ["ClaudeUsageRepository"]


class ClaudeUsageRepository:
    """Implements core/claude_usage.UsageStore on the database."""

    def __init__(self, db_sessions: DbSessionFactory) -> None:
        self._db_sessions = db_sessions

    def record(self, usage: UsageRecord) -> None:
        with self._db_sessions.begin() as db:
            db.add(ClaudeUsageRow(ts_utc=usage.ts_utc, model=usage.model, purpose=usage.purpose,
                                  input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                                  cost_usd=usage.cost_usd))

    def spent_usd(self, start_utc: datetime, end_utc: datetime) -> float:
        """The cost of the calls in [start_utc, end_utc)."""
        with self._db_sessions() as db:
            total = db.scalar(select(func.sum(ClaudeUsageRow.cost_usd))
                              .where(ClaudeUsageRow.ts_utc >= start_utc, ClaudeUsageRow.ts_utc < end_utc))
        return float(total or 0.0)

    def totals(self, start_utc: datetime, end_utc: datetime) -> list[UsageTotal]:
        """Per UTC day and purpose, in day then purpose order, the calls of [start_utc, end_utc)."""
        with self._db_sessions() as db:
            rows = db.scalars(select(ClaudeUsageRow)
                              .where(ClaudeUsageRow.ts_utc >= start_utc, ClaudeUsageRow.ts_utc < end_utc)
                              .order_by(ClaudeUsageRow.ts_utc, ClaudeUsageRow.id)).all()
            return group_totals([UsageRecord(r.ts_utc, r.model, r.purpose, r.input_tokens, r.output_tokens, r.cost_usd)
                                 for r in rows])
