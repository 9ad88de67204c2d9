"""Runs: one row per backtest or live session, with its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from mismarterad.db.engine import DbSessionFactory
from mismarterad.db.tables import RunRow

__all__ = ["RunRecord", "RunRepository"]


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    kind: str
    session_name: str
    config_sha256: str
    started_utc: datetime
    finished_utc: datetime | None
    status: str
    error: str | None


class RunRepository:
    def __init__(self, db_sessions: DbSessionFactory) -> None:
        self._db_sessions = db_sessions

    def start(self, kind: str, session_name: str, config_sha256: str, started_utc: datetime) -> int:
        with self._db_sessions.begin() as db:
            row = RunRow(kind=kind, session_name=session_name, config_sha256=config_sha256,
                         started_utc=started_utc, status="running")
            db.add(row)
            db.flush()
            return row.id

    def finish(self, run_id: int, status: str, finished_utc: datetime, error: str | None = None) -> None:
        with self._db_sessions.begin() as db:
            db.execute(update(RunRow).where(RunRow.id == run_id).values(
                status=status, finished_utc=finished_utc, error=error))

    def abandon_running(self, kind: str, session_name: str, finished_utc: datetime) -> int:
        """Mark this session's runs of `kind` still 'running' as 'abandoned' (their process died);
        other daemons sharing the database keep theirs. Return how many."""
        with self._db_sessions.begin() as db:
            result = db.execute(update(RunRow).where(
                RunRow.kind == kind, RunRow.session_name == session_name, RunRow.status == "running").values(
                status="abandoned", finished_utc=finished_utc, error="the process ended without finishing the run"))
            return int(result.rowcount or 0)

    def runs(self, kind: str, session_name: str, started_since_utc: datetime) -> list[RunRecord]:
        """This session's runs of `kind` started at or after `started_since_utc`, oldest first."""
        with self._db_sessions() as db:
            rows = db.scalars(select(RunRow).where(
                RunRow.kind == kind, RunRow.session_name == session_name,
                RunRow.started_utc >= started_since_utc).order_by(RunRow.id))
            return [RunRecord(r.id, r.kind, r.session_name, r.config_sha256, r.started_utc, r.finished_utc,
                              r.status, r.error) for r in rows]

    def get(self, run_id: int) -> RunRecord:
        with self._db_sessions() as db:
            row = db.get(RunRow, run_id)
            if row is None:
                raise KeyError(f"no run {run_id}")
            return RunRecord(row.id, row.kind, row.session_name, row.config_sha256, row.started_utc,
                             row.finished_utc, row.status, row.error)
