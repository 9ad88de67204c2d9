"""The in-memory twin of the audit table: the same contract (core/audit.AuditLog), held to it by
the one contract suite."""

from __future__ import annotations

import dataclasses
import threading

from mismarterad.core.audit import AuditEntry, clipped

__all__ = ["MemoryAuditLog"]


class MemoryAuditLog:
    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._lock = threading.Lock()

    def record(self, entry: AuditEntry) -> AuditEntry:
        with self._lock:
            stored = dataclasses.replace(clipped(entry), id=len(self._entries) + 1)
            self._entries.append(stored)
            return stored

    def recent(self, limit: int) -> list[AuditEntry]:
        with self._lock:
            return list(reversed(self._entries[-limit:])) if limit > 0 else []
