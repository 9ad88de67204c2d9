"""One backtest of one sweep combination, as a Ray worker (or the driver, one after another) runs it.

The task carries the combination's config as JSON and the store's path, never bars: the worker
reads the bars itself from the store, as `mismarterad backtest` does (on a cluster the store
path must be the same on every node). Each task has its own state folder, hence its own SQLite
database (calendar cache, run record), removed when the task ends: tasks never share a
database file, and a sweep adds nothing to the run history. The summary is computed by the
report writer's own function (runs/reports.py), so each row equals summary.json of the single
backtest. Any failure becomes the outcome's one-line `error`; the sweep goes on.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

__all__ = ["BacktestTask", "TaskOutcome", "quiet_logs", "run_backtest_task"]


@dataclass(frozen=True, slots=True)
class BacktestTask:
    key: str  # which combination of which phase ("full 3", "window 2 train 3"), for the driver
    params: dict[str, Any]
    config: dict[str, Any]  # the combination's session config (JSON)
    config_dir: str  # strategy files are found relative to it
    data_dir: str  # the bar store
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    key: str
    summary: dict[str, Any] | None  # summary.json without `performance`; None when it failed
    returns: tuple[float, ...]  # the daily returns (the probability engine's input)
    error: str | None


def quiet_logs() -> None:
    """Log warnings and errors only, in a process that runs sweep tasks: a backtest's INFO and
    DEBUG events (every order and fill) would fill Ray's worker log files, and the outcome
    carries all the driver needs."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def run_backtest_task(task: BacktestTask) -> TaskOutcome:
    """Run the combination's backtest in a state folder of its own; never raises."""
    # imported here: a Ray worker unpickles this function by reference and pays only when it runs
    from mismarterad.config.session_config import parse_session_config
    from mismarterad.config.settings import load_settings
    from mismarterad.core.clock import SimClock
    from mismarterad.core.errors import ConfigError, MismarteradError
    from mismarterad.runs.app import App
    from mismarterad.runs.backtest_runner import run_backtest
    from mismarterad.runs.reports import backtest_summary, session_returns
    from mismarterad.services.trade_matching import match_trades

    with tempfile.TemporaryDirectory(prefix="mismarterad-sweep-") as state:
        app: App | None = None
        try:
            settings = load_settings(data_dir=Path(task.data_dir), state_dir=Path(state),
                                     database_url=f"sqlite:///{Path(state) / 'sweep.db'}")
            config = parse_session_config(task.config, source="sweep combination")
            app = App(settings=settings, clock=SimClock(datetime(1970, 1, 1, tzinfo=UTC)))
            outcome = run_backtest(app, config, Path(task.config_dir), task.start, task.end)
            tz = app.time_manager(config.exchange_group, config.asset_class).timezone
            trades = match_trades(outcome.result.matched_fills())
            summary = backtest_summary(outcome.result, trades, tz)
            return TaskOutcome(task.key, summary, tuple(session_returns(outcome.result, tz)), None)
        except ConfigError as exc:
            return TaskOutcome(task.key, None, (), f"configuration error: {exc}")
        except MismarteradError as exc:
            return TaskOutcome(task.key, None, (), str(exc))
        except Exception as exc:  # noqa: BLE001 - a strategy's own code: report it, let the others run
            return TaskOutcome(task.key, None, (), f"{type(exc).__name__}: {exc}")
        finally:
            if app is not None and "engine" in app.__dict__:
                app.engine.dispose()
