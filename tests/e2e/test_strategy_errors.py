"""A strategy's mistakes through the real commands: an unknown indicator it requests is exit 78
before anything runs; reading one it never requested stops a backtest with exit 1 naming the
error, and in the daemon disables that strategy with a clear log line while the others and the
session go on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.daemon_process import DAEMON_SESSION_CONFIG, DAY, DaemonProcess, base_env, executable, launch

MISTAKEN = '''
from mismarterad.strategies import Strategy

class Mistaken(Strategy):
    indicators = ("rsi(14)",)

    def on_bar(self, symbol, interval, bar):
        if bar.start_utc.hour == 15:  # 10:00 New York in January
            self.indicator(symbol, "rsi")
'''



def _session(tmp_path: Path, source: str) -> Path:
    (tmp_path / "mistaken.py").write_text(source)
    config = json.loads(DAEMON_SESSION_CONFIG.read_text())
    config["strategies"].append({"file": str(tmp_path / "mistaken.py"), "class": "Mistaken"})
    session = tmp_path / "session.json"
    session.write_text(json.dumps(config))
    return session


def _mismarterad(data_dir: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([executable("mismarterad"), *args], env=base_env(tmp_path / "state", data_dir),
                          capture_output=True, text=True, timeout=120, check=False)


def test_an_unknown_requested_indicator_is_exit_78_before_the_run(data_dir: Path, tmp_path: Path) -> None:
    session = _session(tmp_path, MISTAKEN.replace('"rsi(14)",', '"rsi(14)", "rsx(14)"'))
    expected = ("strategies[1] (Mistaken#1): indicators: 'rsx(14)': unknown indicator 'rsx' (known: sma(N), "
                "ema(N), rsi(N), atr(N), vwap, bollinger_upper(N,K), bollinger_middle(N,K), bollinger_lower(N,K))")
    ran = _mismarterad(data_dir, tmp_path, "backtest", str(session), "--out", str(tmp_path / "r"))
    assert ran.returncode == 78 and expected in ran.stderr and len(ran.stderr.splitlines()) == 1
    checked = _mismarterad(data_dir, tmp_path, "config", "check", str(session))
    assert checked.returncode == 78 and checked.stdout == expected + "\n"


def test_a_backtest_whose_strategy_reads_an_unrequested_indicator_exits_1_naming_it(
        data_dir: Path, tmp_path: Path) -> None:
    ran = _mismarterad(data_dir, tmp_path, "backtest", str(_session(tmp_path, MISTAKEN)), "--from", DAY, "--to", DAY,
                       "--out", str(tmp_path / "r"))
    assert ran.returncode == 1 and not (tmp_path / "r").exists()
    assert (f"strategy Mistaken#1 raised in on_bar on SPY 1m bar {DAY}T10:00:00-05:00: StrategyError: indicator(): "
            "'rsi': rsi needs its period, e.g. 'rsi(14)'; it requested: rsi(14)@1m") in ran.stderr


@pytest.mark.slow
def test_a_strategy_reading_an_unrequested_indicator_is_disabled_and_the_day_goes_on(
        data_dir: Path, backtest_trades: str, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    session = _session(tmp_path, MISTAKEN)
    d = launch(daemons, tmp_path / "d", data_dir, session_config=session, start=f"{DAY}T09:20:00-05:00")
    running = d.wait_for(lambda s: "Mistaken#1" in s["disabled_strategies"], 60, "the strategy to be disabled")
    assert running["state"] == "RUNNING" and running["disabled_strategies"] == ["Mistaken#1"]
    d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 60, "the session to stop")
    [disabled] = [e for e in d.log_events() if e.get("event") == "strategy_disabled"]
    assert disabled["level"] == "error" and disabled["strategy"] == "Mistaken#1" and disabled["hook"] == "on_bar"
    assert disabled["error"] == (
        f"strategy Mistaken#1 raised in on_bar on SPY 1m bar {DAY}T10:00:00-05:00: StrategyError: indicator(): "
        "'rsi': rsi needs its period, e.g. 'rsi(14)'; it requested: rsi(14)@1m")
    assert disabled["consequence"].startswith("no more calls to it this day-run")
    report = d.root / "state" / "reports" / DAY
    assert (report / "trades.csv").read_text() == backtest_trades  # sma_cross#0 traded as if alone
