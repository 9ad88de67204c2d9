"""Messages between the four session threads, and the Pipeline handle SystemManager holds.

Flow: SessionCoordinator → DataProcessor → AnalysisEngine, and SessionCoordinator →
DataQualityManager. Each session gets its own SessionData, carried by `SessionStart`, so the
coordinator can prepare the next session while the engine finishes the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mismarterad.core.calendar import TradingSession
from mismarterad.core.market_data import Bar
from mismarterad.core.session_data import SessionData

__all__ = [
    "STOP",
    "BarStep",
    "Pipeline",
    "SessionEnd",
    "SessionStart",
    "StepBatch",
]


@dataclass(frozen=True, slots=True)
class SessionStart:
    session: TradingSession
    session_data: SessionData


@dataclass(frozen=True, slots=True)
class BarStep:
    """The 1-minute bars that share one start instant (sorted by symbol), plus the derived
    bars completed by them (filled in by the DataProcessor)."""

    start_utc: datetime
    bars: tuple[Bar, ...]
    derived: tuple[Bar, ...] = ()
    released_monotonic: float = 0.0  # live mode: when the coordinator let it go (for latency)
    catch_up: bool = False  # live mode: taken from the store at the start, its minute already past


@dataclass(frozen=True, slots=True)
class StepBatch:
    """Consecutive steps handed over together (one step in live or clock-driven runs)."""

    steps: tuple[BarStep, ...]


@dataclass(frozen=True, slots=True)
class SessionEnd:
    session: TradingSession
    skipped_reason: str | None = None  # set when the day had no data and was skipped


class _Stop:
    def __repr__(self) -> str:
        return "STOP"


STOP = _Stop()


class Pipeline(Protocol):
    """The running threads of one SystemManager start; built by the composition root. What
    they are doing is read from their ReadModel (`core/read_model.py`), not from here."""

    def start(self) -> None: ...

    def request_stop(self) -> None: ...

    def join(self, timeout_secs: float) -> bool:
        """Wait for every thread to end; False if some are still running."""
        ...

    def finished(self) -> bool: ...

    def error(self) -> str | None:
        """The first failure, as a message naming the thread, or None."""
        ...
