"""The API's audit trail as stored (`audit_log`)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from mismarterad.core.audit import AuditEntry, clipped
from mismarterad.db.engine import DbSessionFactory
from mismarterad.db.tables import AuditRow

__all__ = ["AuditRepository"]


class AuditRepository:
    """Implements core/audit.AuditLog on the database."""

    def __init__(self, db_sessions: DbSessionFactory) -> None:
        self._db_sessions = db_sessions

    def record(self, entry: AuditEntry) -> AuditEntry:
        entry = clipped(entry)
        with self._db_sessions.begin() as db:
            row = AuditRow(ts_utc=entry.ts_utc, user_name=entry.user, action=entry.action, detail=entry.detail,
                           result=entry.result, address=entry.address)
            db.add(row)
            db.flush()
            return dataclasses.replace(entry, id=row.id)

    def recent(self, limit: int) -> list[AuditEntry]:
        with self._db_sessions() as db:
            rows = db.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))
            return [AuditEntry(r.ts_utc, r.user_name, r.action, r.detail, r.result, r.address, r.id) for r in rows]
