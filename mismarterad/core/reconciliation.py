"""What a reconciliation with the broker finds, and what the daemon shows of it.

A reconciliation compares the broker's word (its open orders, its reports of our orders, its
positions) with ours (the order journal and the strategies' positions). Each difference is a
Mismatch; services/reconciliation.py computes them, ExecutionManager acts on them by the
daemon's `reconcile_policy`, and the daemon counts, shows and alerts on them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Mismatch", "MismatchKind", "ReconcilePolicy", "ReconciliationStatus"]


class MismatchKind(enum.StrEnum):
    UNKNOWN_ORDER = "unknown_order"  # working at the broker, not in our journal for the day
    MISSING_ORDER = "missing_order"  # open in our journal; the broker does not know it, or ended it unasked
    POSITION = "position"  # the broker's position differs from the strategies' sum


class ReconcilePolicy(enum.StrEnum):
    ADOPT = "adopt"  # take the broker's word: track its orders, book its shares to "(account)"
    HALT = "halt"  # cancel our open orders, enter nothing new, wait for an operator


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: MismatchKind
    symbol: str
    client_order_id: str | None  # the order's (None for a position)
    ours: int  # our shares: the journal's open quantity, or the strategies' net position
    broker: int  # the broker's: the working quantity it reports, or its net position
    detail: str  # for people: what was found

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What makes two findings the same difference (counted once while it lasts)."""
        return (self.kind.value, self.symbol, self.client_order_id)


@dataclass(frozen=True, slots=True)
class ReconciliationStatus:
    """Published with the trading snapshot: the reconciliations of this day-run so far."""

    policy: ReconcilePolicy
    checks: int = 0  # reconciliations run
    last_utc: datetime | None = None
    counts: tuple[tuple[str, int], ...] = ()  # MismatchKind value -> differences found (each once)
    open: tuple[Mismatch, ...] = ()  # found by the newest check and not acknowledged
    halted: str | None = None  # why the reconciliation halted trading, until `resume` or the next session
