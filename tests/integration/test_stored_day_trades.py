"""The daemon's pattern-day-trader count reads the day trades of its earlier day-runs from a real
SQLite database: per day, the largest count among that day's runs, backtests left out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.orders import Fill, Side
from mismarterad.runs.app import App
from mismarterad.runs.day_run import stored_day_trades


def _open(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)  # 09:30 New York in January


def _round_trips(app: App, kind: str, day: date, trips: int, session: str = "s") -> None:
    run_id = app.run_repository.start(kind, session, "0" * 64, _open(day))
    fills = []
    for i in range(trips):
        t = _open(day) + timedelta(minutes=10 * i)
        fills += [Fill(f"o{2 * i + 1:06d}", "SPY", Side.BUY, 10, 100.0, 0.0, t),
                  Fill(f"o{2 * i + 2:06d}", "SPY", Side.SELL, 10, 100.5, 0.0, t + timedelta(minutes=5))]
    app.order_repository.save_fills(run_id, fills, 1)
    app.run_repository.finish(run_id, "completed", _open(day) + timedelta(hours=7))


def test_day_trades_of_earlier_day_runs_are_counted_once_per_day(tmp_path: Path) -> None:
    now = _open(date(2011, 1, 10))
    app = App(settings=Settings(state_dir=tmp_path / "state", data_dir=tmp_path / "data"), clock=SimClock(now),
              wall_clock=SimClock(now))
    tm = app.time_manager()
    _round_trips(app, "live", date(2011, 1, 4), 1)
    _round_trips(app, "live", date(2011, 1, 6), 2)
    _round_trips(app, "live", date(2011, 1, 6), 1)  # a restarted day-run replaying part of the day
    _round_trips(app, "backtest", date(2011, 1, 7), 5)  # a backtest's trades are not the account's
    _round_trips(app, "live", date(2010, 12, 30), 4)  # outside the window
    window = [date(2011, 1, 7), date(2011, 1, 6), date(2011, 1, 5), date(2011, 1, 4)]
    assert stored_day_trades(app, tm, window) == 1 + 2
    assert stored_day_trades(app, tm, [date(2011, 1, 4)]) == 1
    assert stored_day_trades(app, tm, []) == 0
