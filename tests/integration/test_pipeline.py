"""The four real threads on real bundled data: no lookahead, fills before strategies,
determinism whatever the batching, and clean failure."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mismarterad.config.session_config import SessionConfig
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.enums import SystemState
from mismarterad.core.errors import MismarteradError, StateError
from mismarterad.runs.app import App
from mismarterad.runs.backtest_runner import run_backtest
from mismarterad.runs.reports import REPORT_FILES, write_backtest_report
from mismarterad.services.indicators import ema
from mismarterad.threads import session_coordinator

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).parent / "strategies" / "probe.py"


def make_app(data_dir: Path, tmp_path: Path) -> App:
    return App(settings=Settings(data_dir=data_dir, state_dir=tmp_path / "state"),
               clock=SimClock(datetime(1970, 1, 1, tzinfo=UTC)))


def probe_config(out: Path, first: date, last: date) -> SessionConfig:
    return SessionConfig.model_validate({
        "session_name": "probe", "exchange_group": "US_EQUITY", "asset_class": "EQUITY", "mode": "backtest",
        "backtest_config": {"start_date": first.isoformat(), "end_date": last.isoformat(), "prefetch_days": 1},
        "session_data_config": {"symbols": ["SPY"], "streams": ["bars_1m"],
                                "historical": {"data": [{"intervals": ["1m", "5m"], "trailing_days": 1}]}},
        "strategies": [{"file": str(PROBE), "class": "Probe", "params": {"out": str(out)}}],
    })


def test_each_bar_sees_exactly_the_data_up_to_it(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "probe.jsonl"
    outcome = run_backtest(make_app(data_dir, tmp_path), probe_config(out, date(2011, 1, 4), date(2011, 1, 5)), REPO)
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    minute = timedelta(minutes=1)
    one_minute = [s for s in seen if s["interval"] == "1m"]
    assert len(one_minute) == outcome.result.bars_processed == 2 * 390
    fills = {f.ts_utc.isoformat(): f for f in outcome.result.fills}
    position = 0
    closes_by_day: dict[str, list[float]] = {}
    for s in seen:
        start = datetime.fromisoformat(s["start"])
        # now() is the end of the bar being handled
        assert datetime.fromisoformat(s["now"]) == start + (minute if s["interval"] == "1m" else 5 * minute)
        if s["interval"] != "1m":
            continue
        # the newest 1m bar visible is the bar itself; derived 5m only once complete
        assert s["last_1m"][-1] == s["start"]
        if s["last_5m"] is not None:
            newest_5m = datetime.fromisoformat(s["last_5m"])
            assert newest_5m + 5 * minute <= start + minute
            assert start + minute - (newest_5m + 5 * minute) < 5 * minute or start.minute % 5 != 4
        # the 1m SMA(3) is the mean of the three closes visible, nothing later
        assert s["sma3"] == pytest.approx(sum(s["closes_1m"]) / 3, rel=1e-12)
        # positions include fills at this bar's open, never later ones
        fill = fills.get(s["start"])
        if fill is not None:
            position += fill.side.sign * fill.quantity
        assert s["position"] == position
        if start.astimezone(UTC).hour == 20 and start.minute == 59:  # 15:59 New York
            position = 0  # flattened at the close
        closes_by_day.setdefault(start.date().isoformat(), []).append(s["closes_1m"][-1])
    # the 5m bars a strategy receives arrive at their window's last minute, with an as-of EMA
    five = [s for s in seen if s["interval"] == "5m"]
    assert len(five) == 2 * 78
    assert all(s["last_5m"] == s["start"] for s in five)
    assert [s["ema2_5m"] is not None for s in five].count(False) == 0  # history seeds the EMA
    # quality is what was due so far: the sample has every minute of these two days
    assert {s["quality"] for s in one_minute} == {100.0}, [(s["start"], s["quality"]) for s in one_minute if s["quality"] != 100.0][:5]
    assert ema([1.0, 2.0, 3.0], 2)[-1] == 2.5  # the helper the probe's EMA relies on


def test_reports_do_not_depend_on_batching(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = probe_config(tmp_path / "p.jsonl", date(2011, 1, 10), date(2011, 1, 12))
    tz = make_app(data_dir, tmp_path).time_manager().timezone
    folders = []
    for steps in (1, 7, 400):
        monkeypatch.setattr(session_coordinator, "STEPS_PER_BATCH", steps)
        app = make_app(data_dir, tmp_path / f"s{steps}")
        outcome = run_backtest(app, config, REPO)
        folders.append(write_backtest_report(tmp_path / f"r{steps}", outcome.result, tz, outcome.run_info))
    for name in REPORT_FILES:
        assert len({(f / name).read_bytes() for f in folders}) == 1, name
    assert (tmp_path / "p.jsonl").read_text().count("\n") == 3 * 3 * (390 + 78)


def test_a_strategy_error_stops_the_run_with_its_message(data_dir: Path, tmp_path: Path) -> None:
    config = probe_config(Path("/nonexistent/dir/probe.jsonl"), date(2011, 1, 4), date(2011, 1, 4))
    with pytest.raises(MismarteradError, match=r"strategy Probe#0 raised in on_session_start: FileNotFoundError"):
        run_backtest(make_app(data_dir, tmp_path), config, REPO)


def test_system_manager_refuses_double_start_and_stop_when_stopped(data_dir: Path, tmp_path: Path) -> None:
    from mismarterad.runs.session_pipeline import build_session_pipeline
    from mismarterad.integrations.paper import PaperBroker
    from mismarterad.managers.system_manager import SystemManager
    from mismarterad.runs.strategy_loading import resolve_strategies

    app = make_app(data_dir, tmp_path)
    tm = app.time_manager()
    dm = app.data_manager(tm)
    config = probe_config(tmp_path / "p.jsonl", date(2011, 1, 3), date(2011, 1, 31))
    config = config.model_copy(update={"backtest_config": config.backtest_config.model_copy(  # type: ignore[union-attr]
        update={"speed_multiplier": 1.0})})  # clock-driven: a minute per real minute, so it keeps running
    days = tm.trading_days(date(2011, 1, 3), date(2011, 1, 31))
    tm.init_backtest(days[0])

    def build(cfg, _dir):  # type: ignore[no-untyped-def]
        return build_session_pipeline(config=cfg, strategies=resolve_strategies(cfg, REPO), time_manager=tm,
                                      data_manager=dm, broker=PaperBroker(), days=days, stop_on_strategy_error=True)

    system = SystemManager(tm, dm)
    with pytest.raises(StateError, match="already STOPPED"):
        system.stop()
    pipeline = system.start(config, build)
    assert system.state is SystemState.RUNNING
    with pytest.raises(StateError, match="cannot start: the system is RUNNING"):
        system.start(config, build)
    system.stop()
    assert system.state is SystemState.STOPPED
    threads = pipeline.snapshot().threads
    assert [t.name for t in threads] == ["SessionCoordinator", "DataProcessor", "DataQualityManager",
                                         "AnalysisEngine"]
    assert all(not t.alive for t in threads)


def test_the_top_layer_reaches_the_one_system_manager(data_dir: Path, tmp_path: Path) -> None:
    from mismarterad.runs.system_access import get_system_manager, register_system_manager
    from mismarterad.managers.system_manager import SystemManager

    run_backtest(make_app(data_dir, tmp_path), probe_config(tmp_path / "p.jsonl", date(2011, 1, 4),
                                                             date(2011, 1, 4)), REPO)
    finished = get_system_manager()
    assert finished.state is SystemState.STOPPED
    running = SystemManager(finished.get_time_manager(), finished.get_data_manager())
    running._state = SystemState.RUNNING  # a manager still running may not be replaced
    register_system_manager(running)
    with pytest.raises(StateError, match="already RUNNING"):
        register_system_manager(SystemManager(finished.get_time_manager(), finished.get_data_manager()))
    running._state = SystemState.STOPPED
