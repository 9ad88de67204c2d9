"""The exception tree; each class says what the daemon does next.

    MismarteradError
    ├─ ConfigError          refuse to start; the message names the field (exit 78)
    ├─ CalendarError        the calendar cannot answer (date outside the synced range, ...)
    ├─ DataError            bad or missing market data
    │  ├─ BadRowError       one input row is invalid (carries line number and reason)
    │  └─ GapError          bars missing where the session expects them
    ├─ StateError           an operation not allowed in the current state (start twice, ...)
    ├─ BrokerError          broker adapters (later issues)
    └─ StrategyError        a strategy failed; disable that strategy only
"""

from __future__ import annotations

__all__ = [
    "AssistantError",
    "BudgetExceededError",
    "BadRowError",
    "BrokerError",
    "CalendarError",
    "ConfigError",
    "DataError",
    "GapError",
    "LockedError",
    "MismarteradError",
    "StateError",
    "StorageError",
    "StrategyError",
]


class MismarteradError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(MismarteradError):
    """Invalid configuration; `problems` lists every `path: message` found."""

    def __init__(self, problems: list[str] | str, source: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(self.problems))


class CalendarError(MismarteradError):
    """The trading calendar cannot answer the question asked."""


class DataError(MismarteradError):
    """Market data is invalid or missing."""


class BadRowError(DataError):
    """One row of an input file is invalid."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


class GapError(DataError):
    """Bars are missing where the session expects them."""


class StorageError(MismarteradError):
    """Reading or writing a file failed (disk full, read-only, permissions, a damaged file):
    the message names the path and what was being done. Commands exit 74."""


class LockedError(MismarteradError):
    """Another process holds a lock this one needs (the state directory, a store partition).
    Commands exit 75."""


class StateError(MismarteradError):
    """The operation is not allowed in the component's current state."""


class BrokerError(MismarteradError):
    """A broker call failed."""


class AssistantError(MismarteradError):
    """The language model could not answer (unreachable, refused, out of turns or tokens). A
    review is skipped with a warning; trading never depends on it. `ask` exits 69."""


class BudgetExceededError(AssistantError):
    """A call would pass the daily or monthly budget, so it was not sent. `ask` exits 75."""


class StrategyError(MismarteradError):
    """A strategy raised or misbehaved; only that strategy is disabled."""
