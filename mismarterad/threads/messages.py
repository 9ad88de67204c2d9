"""The messages between the four session threads.

Flow: SessionCoordinator → DataProcessor → AnalysisEngine, and SessionCoordinator →
DataQualityManager. Each session gets its own SessionData, carried by `SessionStart`, so the
coordinator can prepare the next session while the engine finishes the current one. Bars travel
as column blocks (`MinuteBlock`, services/bar_columns.py): a backtest's whole session in one, a
live session one minute at a time; the DataProcessor adds the derived bars each block completed
(`ProcessedBlock`). Blocks carry numpy arrays, which `core` may not import: so the messages live
here, and core keeps only the `Pipeline` handle.
"""

from __future__ import annotations

from dataclasses import dataclass

from mismarterad.core.calendar import TradingSession
from mismarterad.managers.session_data import SessionData
from mismarterad.services.bar_columns import MinuteBlock
from mismarterad.services.derived_bars import DerivedBars

__all__ = ["STOP", "ProcessedBlock", "SessionEnd", "SessionStart"]


@dataclass(frozen=True, slots=True)
class SessionStart:
    session: TradingSession
    session_data: SessionData


@dataclass(frozen=True, slots=True, eq=False)
class ProcessedBlock:
    """A block with the derived bars its steps completed. `flush`: the windows still open at the
    session's end, completed at its last step (`block` is then that step without its 1m bars)."""

    block: MinuteBlock
    derived: DerivedBars
    flush: bool = False


@dataclass(frozen=True, slots=True)
class SessionEnd:
    session: TradingSession
    skipped_reason: str | None = None  # set when the day had no data and was skipped


class _Stop:
    def __repr__(self) -> str:
        return "STOP"


STOP = _Stop()
