"""The audit trail of the API: every control action and user change, who asked, and what came of it.

repositories/audit_repository.py keeps it in the daemon's database, repositories/memory_audit_log.py
is the in-memory twin; tests/integration/test_access_store_contract.py holds both to one contract.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["AuditEntry", "AuditLog", "MAX_AUDIT_TEXT", "clipped"]

MAX_AUDIT_TEXT = 500  # detail and result are cut to this many characters


@dataclass(frozen=True, slots=True)
class AuditEntry:
    ts_utc: datetime  # wall clock
    user: str
    action: str  # "halt", "start", "user add", ...
    detail: str  # the request's arguments, e.g. "flatten=true reason=broker outage"
    result: str  # "ok", or "refused: <the daemon's reason>", "failed: ..."
    address: str
    id: int | None = None  # set by the store


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> AuditEntry:
        """Store the entry (detail and result cut to MAX_AUDIT_TEXT); return it with its id."""
        ...

    def recent(self, limit: int) -> list[AuditEntry]:
        """The newest `limit` entries, newest first."""
        ...


def clipped(entry: AuditEntry) -> AuditEntry:
    """The entry as every audit log keeps it: each text within its column's length."""
    return dataclasses.replace(entry, detail=entry.detail[:MAX_AUDIT_TEXT], result=entry.result[:MAX_AUDIT_TEXT],
                               user=entry.user[:64], action=entry.action[:32], address=entry.address[:64])
