"""The daemon's one narrow face: what the control socket (and any later front end) may ask.

`DaemonControl` is implemented by `Daemon`. The control API and the views depend on this
protocol and on `DaemonSnapshot`, a frozen picture of the daemon taken under its lock, so no
reader touches the daemon's fields or a running thread's state, and no import loop runs
between the daemon and its front ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from mismarterad.config.daemon_config import DaemonConfig
from mismarterad.config.session_config import SessionConfig
from mismarterad.core.enums import SystemState
from mismarterad.core.halt import HaltState
from mismarterad.core.market_data import Bar
from mismarterad.core.paper_account import PaperBalance
from mismarterad.core.read_model import PipelineSnapshot
from mismarterad.core.venue_status import VenueStatus
from mismarterad.integrations.claude.conversation import Answer
from mismarterad.managers.time_manager import TimeManager
from mismarterad.services.session_plan import SessionWindow

__all__ = ["DaemonControl", "DaemonSnapshot", "DayRunSnapshot", "FrontEnd", "HaltOutcome"]


@dataclass(frozen=True, slots=True)
class DayRunSnapshot:
    """The day-run in progress (or stopped, until the next one starts)."""

    day: date
    run_id: int
    started_monotonic: float
    regular_open_utc: datetime | None
    regular_close_utc: datetime | None
    early_close: bool
    config: SessionConfig
    pipeline: PipelineSnapshot | None  # None while its pipeline was never built (a failed start)


@dataclass(frozen=True, slots=True)
class DaemonSnapshot:
    state: SystemState
    error: str | None
    clock_utc: datetime
    clock_kind: str
    timezone: ZoneInfo
    session_active: bool
    planned: SessionWindow | None
    day_run: DayRunSnapshot | None
    halted: HaltState | None  # the operator's halt (kept in <state>/halt.json), None when not halted
    session_failures: int
    session_restarts: int
    watchdog_healthy: bool
    uptime_secs: float
    metrics_port: int
    last_report: dict[str, str] | None
    config_path: Path
    daemon_config: DaemonConfig
    session_config: SessionConfig  # the running day-run's config, else the loaded one
    orders_before: dict[str, int] = field(default_factory=dict)  # by side, of earlier day-runs
    fills_before: dict[str, int] = field(default_factory=dict)
    refusals_before: dict[str, int] = field(default_factory=dict)  # by RiskCheck value, of earlier day-runs
    loss_halts_before: int = 0  # daily-loss halts of earlier day-runs
    # differences with the broker found by earlier day-runs (restarted ones too), by MismatchKind value
    reconciliation_before: dict[str, int] = field(default_factory=dict)
    venue: VenueStatus = field(default_factory=VenueStatus)  # the broker's connections, lifetime counters
    following: SessionWindow | None = None  # the window after `planned` (planned at the same time)
    start_error: str | None = None  # why the last day-run start failed (the venue refused), until one starts
    paper_account: PaperBalance | None = None  # the paper account as stored (broker = paper; None: a real account)

    @property
    def next_start_utc(self) -> datetime | None:
        """The next session start still ahead: the planned one's, or once it has begun, the one after."""
        for window in (self.planned, self.following):
            if window is not None and window.start_utc > self.clock_utc:
                return window.start_utc
        return None

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.session_config.session_data_config.symbols)


@dataclass(frozen=True, slots=True)
class HaltOutcome:
    """What a halt or a resume did. `state` is the halt now in force (None after a resume);
    `save_error` says the halt file could not be written or removed (the change holds in memory
    only, and a restart would not see it)."""

    state: HaltState | None
    in_session: bool  # a running day-run's orders were acted on
    canceled: tuple[str, ...] = ()  # client order ids canceled
    flattened: tuple[str, ...] = ()  # client order ids of the closing orders sent
    save_error: str | None = None


class DaemonControl(Protocol):
    """What a front end may do. Refusals raise MismarteradError subclasses with the reason."""

    @property
    def time_manager(self) -> TimeManager: ...

    @property
    def reports_dir(self) -> Path: ...

    def snapshot(self) -> DaemonSnapshot: ...

    def upcoming_windows(self, count: int) -> list[SessionWindow]: ...

    def stored_bars(self, symbol: str, interval: str, start: date, end: date) -> list[Bar]:
        """The bars of the market-local dates [start, end] as `mismarterad data export` gives them
        (stored, or derived from 1m); DataError naming the symbol when none of its bars are stored."""
        ...

    def start_day_run(self) -> None:
        """Start today's session now (a trading day whose window has not ended)."""
        ...

    def stop_day_run(self) -> None:
        """Stop the running session as the scheduled stop does, and write its report."""
        ...

    def halt(self, by: str, reason: str, flatten: bool) -> HaltOutcome:
        """Refuse new orders (in and outside a session, kept across restarts); in a session also
        cancel the open orders and, with `flatten`, close every position."""
        ...

    def resume(self, by: str) -> HaltOutcome:
        """Lift the operator's halt (and a session's daily-loss halt)."""
        ...

    def flatten(self) -> list[str]:
        """Close every position with market orders; the client order ids sent."""
        ...

    def reset_paper_account(self, by: str) -> PaperBalance:
        """Start the paper account again at `[paper] initial_cash` with no positions. Refused
        (StateError) while a session runs and when the broker is not "paper"."""
        ...

    def ask(self, question: str) -> tuple[str, Answer]:
        """The language model's answer about the newest report, and that report's date; raises
        StateError without a [claude] table, AssistantError when it cannot answer."""
        ...

    def reload(self) -> dict[str, Any]:
        """Re-read the config and re-plan; raises ConfigError (the old config stays) if invalid."""
        ...


class FrontEnd(Protocol):
    """A server the daemon runs over itself besides the socket (the REST API, built by the CLI
    over this daemon's DaemonControl): started with the daemon, stopped first at its end."""

    def start(self) -> None:
        """Listen and serve; ConfigError (naming the key) if it cannot listen."""
        ...

    def stop(self) -> None: ...

    @property
    def alive(self) -> bool: ...
