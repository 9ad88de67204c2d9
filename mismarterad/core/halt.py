"""The operator's halt as a value: who halted trading, since when, why, and whether positions
were to be closed. The daemon keeps it (repositories/halt_store.py writes it to disk), its
snapshot and views show it, and the control API checks a reason with `bad_reason`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["MAX_REASON_CHARS", "HaltState", "bad_reason"]

MAX_REASON_CHARS = 200
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class HaltState:
    """Halted since `since_utc` by `by` (a peer such as "uid 1000 (alice)", or "daemon")."""

    since_utc: datetime
    by: str
    reason: str
    flatten: bool

    def to_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "since": self.since_utc.isoformat(), "by": self.by,
                "reason": self.reason, "flatten": self.flatten}

    @classmethod
    def from_json(cls, raw: object) -> HaltState:
        """The state written by `to_json`; ValueError naming what is wrong otherwise."""
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        since, by, reason, flatten = raw.get("since"), raw.get("by"), raw.get("reason"), raw.get("flatten")
        if not isinstance(since, str):
            raise ValueError("'since' is not a string")
        since_utc = datetime.fromisoformat(since)
        if since_utc.tzinfo is None:
            raise ValueError("'since' has no UTC offset")
        if not isinstance(by, str) or not isinstance(reason, str) or not isinstance(flatten, bool):
            raise ValueError("'by', 'reason' or 'flatten' is missing or of the wrong type")
        return cls(since_utc, by, reason, flatten)


def bad_reason(reason: str) -> str | None:
    """Why `reason` cannot be a halt reason (too long, control characters), or None."""
    if len(reason) > MAX_REASON_CHARS:
        return f"the reason is {len(reason)} characters long; at most {MAX_REASON_CHARS}"
    if any(unicodedata.category(ch).startswith("C") for ch in reason):
        return "the reason may not contain control characters"
    return None
