"""The daemon's parts for day-run tests of its paper account, on real threads and a real SQLite
database: the app and the paper venue a daemon builds, day-runs started as the daemon starts
them (restarts and halts included), and the day as its order journal holds it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mismarterad.config.daemon_config import DaemonConfig
from mismarterad.config.paper_config import PaperConfig
from mismarterad.config.session_config import load_session_config
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.journal import DayJournal
from mismarterad.core.paper_account import PaperBalance
from mismarterad.managers.system_manager import SystemManager
from mismarterad.repositories.order_journal import SqlOrderJournal
from mismarterad.runs.app import App
from mismarterad.runs.day_run import DayRun
from mismarterad.runs.strategy_loading import resolve_strategies
from mismarterad.runs.venue import PaperVenue

__all__ = ["CHURN", "DAY1", "DAY2", "STARTING_CASH", "PaperDaemon", "handled_until", "hold_config", "kill", "ny",
           "wait_for"]

NY = ZoneInfo("America/New_York")
REPO = Path(__file__).resolve().parents[2]
CHURN = REPO / "tests" / "support" / "churn_strategy.py"
DAY1, DAY2 = date(2011, 1, 4), date(2011, 1, 5)
STARTING_CASH = 100_000.0


def ny(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, dt_time(hh, mm), NY).astimezone(UTC)


def hold_config(path: Path, quantity: int = 10, **changes: Any) -> Path:
    """SPY, one strategy that buys `quantity` shares a minute after the open and holds them
    (`changes`: top-level keys of the session config to replace)."""
    config = json.loads((REPO / "session_configs" / "spy_2011_backtest.json").read_text())
    config["strategies"] = [{"file": str(CHURN), "class": "Churn", "symbols": ["SPY"],
                             "params": {"every_minutes": 1000, "quantity": quantity}}]
    config.update(changes)
    path.write_text(json.dumps(config))
    return path


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def handled_until(run: DayRun, end: datetime) -> Callable[[], bool]:
    """Whether the day-run's engine handled the step ending at `end`."""
    def done() -> bool:
        snapshot = run.pipeline_snapshot()
        return snapshot is not None and snapshot.trading.last_bar_end_utc == end
    return done


@dataclass
class PaperDaemon:
    """What the daemon builds once (app, paper venue) and each day-run it starts on them."""

    clock: SimClock
    app: App
    venue: PaperVenue
    reports: Path

    @classmethod
    def build(cls, clock: SimClock, data_dir: Path, tmp_path: Path, session_config: Path,
              paper: PaperConfig | None = None) -> PaperDaemon:
        app = App(settings=Settings(data_dir=data_dir, state_dir=tmp_path / "state"), clock=clock)
        daemon = DaemonConfig(session_config=session_config, paper=paper or PaperConfig(initial_cash=STARTING_CASH))
        return cls(clock, app, PaperVenue(daemon, app), tmp_path / "reports")

    def day_run(self, day: date, session_config: Path, *, halted: bool = False) -> DayRun:
        """A started day-run of `day` (a restart when one ran before), as the daemon starts it:
        new threads, the session config as it reads now, the halt as it is kept on disk."""
        config = load_session_config(session_config)
        tm = self.app.time_manager()
        run = DayRun(self.app, SystemManager(tm, self.app.data_manager(tm)), tm, config,
                     resolve_strategies(config, session_config.parent), self.venue, day, self.reports, halted)
        run.start()
        return run

    def journal(self, day: date) -> DayJournal:
        """The day as the paper account's order journal holds it."""
        stored = self.app.paper_account_repository.day(self.venue.account, day)
        assert stored is not None, f"no paper day {day}"
        return SqlOrderJournal(self.app.db_sessions, self.venue.account, 0).day(stored.id_prefix)

    def journaled_end(self, day: date) -> PaperBalance:
        """The day's opening plus every fill its journal holds, each once, in booking order."""
        stored = self.app.paper_account_repository.day(self.venue.account, day)
        assert stored is not None, f"no paper day {day}"
        balance = stored.opening
        for journaled in self.journal(day).fills:
            balance = balance.after(journaled.fill)
        return balance


def kill(run: DayRun) -> None:
    """A SIGKILL as far as the account is concerned: the threads end, nothing is settled or saved."""
    run.system.stop(6.0)
