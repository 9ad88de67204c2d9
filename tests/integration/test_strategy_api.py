"""The strategy API on the real threads and bundled data: hooks in their documented order, reads
as of the bar, and every mistake a loud error (a backtest stops, the daemon's engine disables)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog.testing

from mismarterad.config.session_config import SessionConfig
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.errors import ConfigError, MismarteradError
from mismarterad.runs import backtest_runner
from mismarterad.runs.app import App
from mismarterad.runs.backtest_runner import BacktestOutcome, run_backtest
from mismarterad.runs.session_pipeline import build_session_pipeline
from mismarterad.services.indicators import rsi

REPO = Path(__file__).resolve().parents[2]
STRATEGIES = Path(__file__).parent / "strategies"
RECORDER = {"file": str(STRATEGIES / "api_recorder.py"), "class": "Recorder"}
MISUSE = {"file": str(STRATEGIES / "misuse.py"), "class": "Misuse"}


def config(strategies: list[dict[str, Any]], first: str, last: str, trailing_days: int = 0) -> SessionConfig:
    return SessionConfig.model_validate({
        "session_name": "api", "exchange_group": "US_EQUITY", "asset_class": "EQUITY", "mode": "backtest",
        "backtest_config": {"start_date": first, "end_date": last, "prefetch_days": 1},
        "session_data_config": {"symbols": ["SPY"], "streams": ["bars_1m"],
                                "historical": {"data": [{"intervals": ["1m"], "trailing_days": trailing_days}]}},
        "strategies": strategies,
    })


def backtest(data_dir: Path, tmp_path: Path, cfg: SessionConfig) -> BacktestOutcome:
    app = App(settings=Settings(data_dir=data_dir, state_dir=tmp_path / "state"),
              clock=SimClock(datetime(1970, 1, 1, tzinfo=UTC)))
    return run_backtest(app, cfg, REPO)


def recorded(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_hooks_come_in_order_and_reads_are_as_of_the_bar(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    outcome = backtest(data_dir, tmp_path, config([{**RECORDER, "params": {"out": str(out)}}],
                                                  "2011-01-04", "2011-01-05"))
    calls = recorded(out)
    result = outcome.result
    hooks = [c["hook"] for c in calls]
    # on_start once, before everything; each session framed by its start and end
    assert hooks[0] == "on_start" and hooks.count("on_start") == 1
    assert calls[0]["cash"] == calls[0]["equity"] == 1_000_000.0
    assert [c["day"] for c in calls if c["hook"] == "on_session_start"] == ["2011-01-04", "2011-01-05"]
    assert [c["day"] for c in calls if c["hook"] == "on_session_end"] == ["2011-01-04", "2011-01-05"]
    # on_fill: every fill of the strategy's orders, once, in fill order, with the position booked
    told = [c for c in calls if c["hook"] == "on_fill"]
    assert [t["id"] for t in told] == [f.client_order_id for f in result.fills] and len(told) > 10
    position = 0
    for t, fill in zip(told, result.fills, strict=True):
        position += fill.side.sign * fill.quantity
        assert (t["quantity"], t["price"], t["position"]) == (fill.quantity, fill.price, position)
    # a fill at a bar's open is told before that bar's on_bar; the close's flatten after on_session_end
    by_position = {id(c): i for i, c in enumerate(calls)}
    bars = {c["start"]: c for c in calls if c["hook"] == "on_bar"}
    flattens = 0
    for t in told:
        bar = bars.get(t["ts"])
        if bar is not None:
            assert by_position[id(t)] < by_position[id(bar)] and bar["position"] == t["position"]
            assert bar["cash"] == t["cash"]
        else:  # stamped with the close: the flatten
            flattens += 1
            assert calls[by_position[id(t)] - 1]["hook"] == "on_session_end" and t["position"] == 0
    assert flattens == 2
    # cash and equity are the account's as of the bar: what the equity curve marks at its step
    marks = {p.ts_utc: p for p in result.equity}
    for bar in bars.values():
        if bar["now"].endswith("T16:00:00-05:00"):
            continue  # the close's step is marked again after the flatten
        point = marks[datetime.fromisoformat(bar["now"]).astimezone(UTC)]
        assert (bar["cash"], bar["equity"]) == (point.cash, point.equity)
    # open_orders: the resting limit, from the bar after it was sent to the close
    limits = [o for o in result.orders if o.request.limit_price is not None]
    assert len(limits) == 2
    resting = [b for b in bars.values() if b["open_orders"]]
    assert {tuple(b["open_orders"]) for b in resting} == {(o.client_order_id,) for o in limits}
    assert len(resting) == 2 * (390 - 31)  # 10:01 to 15:59 of both days


def test_an_indicator_warms_up_as_none_then_matches_the_batch_function(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    backtest(data_dir, tmp_path, config([{**RECORDER, "params": {"out": str(out)}}], "2011-01-04", "2011-01-04"))
    bars = [c for c in recorded(out) if c["hook"] == "on_bar"]
    expected = rsi([b["close"] for b in bars], 14)
    assert [b["rsi"] is None for b in bars] == [e is None for e in expected]
    assert [b["rsi"] for b in bars if b["rsi"] is not None] == pytest.approx(
        [e for e in expected if e is not None], rel=1e-12)
    assert [b["rsi"] is None for b in bars].index(False) == 14  # no history: 14 changes needed first


def test_strategy_log_lines_carry_the_strategy_symbol_and_market_time(data_dir: Path, tmp_path: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        backtest(data_dir, tmp_path, config([{**RECORDER, "params": {"out": str(tmp_path / "c.jsonl")}}],
                                            "2011-01-04", "2011-01-04"))
    entries = [e for e in logs if e["event"] == "entry_sent"]
    assert len(entries) == 7  # 10:00 to 15:00, and 15:50
    assert entries[0]["strategy"] == "Recorder#0" and entries[0]["symbol"] == "SPY"
    assert entries[0]["component"] == "strategy" and entries[0]["market_time"] == "2011-01-04T10:01:00-05:00"


@pytest.mark.parametrize(("mistake", "says"), [
    ("bare_name", "indicator(): 'rsi': rsi needs its period, e.g. 'rsi(14)'; it requested: rsi(14)@1m"),
    ("other_period", "indicator rsi(20)@1m was not requested (requested: rsi(14)@1m); add 'rsi(20)@1m' to "
                     "`indicators`"),
    ("other_interval", "indicator rsi(14)@5m was not requested"),
    ("bars_interval", "bars() of 5m was not requested (it may read 1m); add '5m' to `intervals`"),
    ("foreign_symbol", "bars('QQQ', '1m'): 'QQQ' is not a symbol of this session (session_data_config.symbols: "
                       "SPY)"),
    ("historical_name", "historical indicator 'avg_volume' is not configured"),
    ("caught", "indicator sma(5)@1m was not requested"),
])
def test_a_mistaken_read_stops_the_backtest_naming_strategy_bar_and_read(
        data_dir: Path, tmp_path: Path, mistake: str, says: str) -> None:
    cfg = config([{**MISUSE, "params": {"mistake": mistake}}], "2011-01-04", "2011-01-04")
    with pytest.raises(MismarteradError) as caught:
        backtest(data_dir, tmp_path, cfg)
    message = str(caught.value)
    assert "strategy Misuse#0 raised in on_bar on SPY 1m bar 2011-01-04T10:00:00-05:00: StrategyError: " in message
    assert says in message


def test_quality_read_in_on_start_is_refused_like_the_other_reads(data_dir: Path, tmp_path: Path) -> None:
    cfg = config([{**MISUSE, "params": {"mistake": "quality_on_start"}}], "2011-01-04", "2011-01-04")
    with pytest.raises(MismarteradError) as caught:
        backtest(data_dir, tmp_path, cfg)
    assert "strategy Misuse#0 raised in on_start: StrategyError: " in str(caught.value)
    assert "quality() has no value before the first session (in on_start)" in str(caught.value)


def test_an_unknown_requested_indicator_is_a_config_error_naming_strategy_and_name(tmp_path: Path) -> None:
    (tmp_path / "typo.py").write_text(
        "from mismarterad.strategies import Strategy\n"
        "class Typo(Strategy):\n"
        "    indicators = ('rsx(14)',)\n"
        "    read_intervals = ('1d',)\n")
    cfg = config([{"file": str(tmp_path / "typo.py"), "class": "Typo"}], "2011-01-04", "2011-01-04")
    with pytest.raises(ConfigError) as caught:
        backtest_runner.resolve_strategies(cfg, tmp_path)
    assert caught.value.problems == [
        "strategies[0] (Typo#0): indicators: 'rsx(14)': unknown indicator 'rsx' (known: sma(N), ema(N), rsi(N), "
        "atr(N), vwap, bollinger_upper(N,K), bollinger_middle(N,K), bollinger_lower(N,K))"]


def test_in_the_daemons_engine_a_raising_strategy_is_disabled_and_the_others_trade_on(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def like_the_daemon(**kwargs: Any) -> Any:
        return build_session_pipeline(**{**kwargs, "stop_on_strategy_error": False})

    monkeypatch.setattr(backtest_runner, "build_session_pipeline", like_the_daemon)
    out = tmp_path / "calls.jsonl"
    cfg = config([{**MISUSE, "params": {"mistake": "bare_name"}}, {**RECORDER, "params": {"out": str(out)}}],
                 "2011-01-04", "2011-01-05")
    with structlog.testing.capture_logs() as logs:
        outcome = backtest(data_dir, tmp_path, cfg)
    disabled = [e for e in logs if e["event"] == "strategy_disabled"]
    assert len(disabled) == 1 and disabled[0]["log_level"] == "error"
    assert disabled[0]["strategy"] == "Misuse#0" and disabled[0]["hook"] == "on_bar"
    assert "'rsi': rsi needs its period" in disabled[0]["error"]
    assert "no more calls to it this day-run" in disabled[0]["consequence"]
    assert outcome.result.sessions_run == (date(2011, 1, 4), date(2011, 1, 5))
    assert {f.strategy for f in outcome.result.fills} == {"Recorder#1"}
    assert [c["day"] for c in recorded(out) if c["hook"] == "on_session_end"] == ["2011-01-04", "2011-01-05"]
