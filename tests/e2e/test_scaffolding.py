"""`init`, `strategy new`, `strategy list`, `config check` of both config kinds and `config
schema`, through the installed command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPY_CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"


@pytest.mark.slow
def test_init_writes_configs_that_check_and_a_session_that_backtests_on_the_sample_data(  # type: ignore[no-untyped-def]
        mismarterad, tmp_path) -> None:
    folder = tmp_path / "mine"
    made = mismarterad("init", str(folder))
    assert made.returncode == 0, made.stderr
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert written == ["README.md", "mismarterad.toml", "session.json", "strategies/rsi_reversion.py"]
    configs = [str(p) for p in folder.rglob("*") if p.suffix in (".json", ".toml")]
    check = mismarterad("config", "check", *configs)
    assert check.returncode == 0 and check.stdout.splitlines() == [f"{c}: OK" for c in configs], check.stdout
    assert mismarterad("data", "sample").returncode == 0
    out = tmp_path / "report"
    result = mismarterad("backtest", str(folder / "session.json"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sessions"] == 20 and summary["strategies"]["RsiReversion#0"]["fills"] > 10
    filled = [json.loads(line) for line in result.stderr.splitlines() if '"event": "filled"' in line]
    assert len(filled) == summary["fills"] and filled[0]["strategy"] == "RsiReversion#0"
    assert filled[0]["symbol"] == "SPY" and filled[0]["market_time"].startswith("2011-01-03T")


def test_init_and_strategy_new_never_overwrite_without_force(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "session.json").write_text("my own\n")
    refused = mismarterad("init", str(folder))
    assert refused.returncode == 73
    assert refused.stderr.splitlines() == [f"mismarterad: error: {folder / 'session.json'} already exists; nothing "
                                           "was written (--force overwrites)"]
    assert [p.name for p in folder.iterdir()] == ["session.json"] and (folder / "session.json").read_text() == "my own\n"
    assert mismarterad("init", str(folder), "--force").returncode == 0
    assert json.loads((folder / "session.json").read_text())["session_name"] == "mine session"
    strategies = folder / "strategies"
    again = mismarterad("strategy", "new", "rsi-reversion", "--dir", str(strategies))
    assert again.returncode == 73 and "rsi_reversion.py already exists" in again.stderr


def test_strategy_new_writes_a_valid_strategy_named_from_name(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = mismarterad("strategy", "new", "buy-the-dip", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    path = tmp_path / "buy_the_dip.py"
    assert made.stdout.splitlines()[0] == str(path)
    assert "class BuyTheDip(Strategy):" in path.read_text()
    session = json.loads(SPY_CONFIG.read_text())
    session["strategies"] = [{"file": "buy_the_dip.py", "class": "BuyTheDip", "params": {"quantity": 5}}]
    (tmp_path / "s.json").write_text(json.dumps(session))
    assert mismarterad("config", "check", str(tmp_path / "s.json")).stdout == "OK\n"
    for bad in ("9lives", "buy the dip", "none", "strategy", "x" * 65, "über"):
        refused = mismarterad("strategy", "new", bad, "--dir", str(tmp_path / "bad"))
        assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, (bad, refused.stderr)
        assert refused.stderr.startswith(f"mismarterad: error: invalid strategy name {bad!r}")
    assert not (tmp_path / "bad").exists()


def test_strategy_list_shows_every_strategy_with_its_params_in_80_columns(  # type: ignore[no-untyped-def]
        mismarterad, tmp_path) -> None:
    assert mismarterad("strategy", "new", "BuyTheDip", "--dir", str(tmp_path / "mine")).returncode == 0
    (tmp_path / "mine" / "broken.py").write_text("raise RuntimeError('half written')\n")
    (tmp_path / "other.py").write_text(
        "from pydantic import BaseModel, Field\nfrom mismarterad.strategies import Strategy\n"
        "class Other(Strategy):\n    '''Trades nothing, with a long description of its one parameter.'''\n"
        "    class Params(BaseModel):\n"
        "        a_rather_long_parameter_name: list[str] = Field(default_factory=lambda: ['09:45', '10:15', '11:00'],"
        " description='times of day, New York, at which it would trade if it traded at all, which it does not')\n")
    session = json.loads(SPY_CONFIG.read_text())
    session["strategies"].append({"file": "other.py", "class": "Other"})
    (tmp_path / "s.json").write_text(json.dumps(session))
    listed = mismarterad("strategy", "list", "--dir", str(tmp_path / "mine"), "--config", str(tmp_path / "s.json"))
    assert listed.returncode == 78
    assert listed.stderr.splitlines() == [f"mismarterad: {tmp_path / 'mine' / 'broken.py'}: importing broken.py "
                                          "failed: RuntimeError: half written"]
    lines = listed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    titles = [line for line in lines if line and not line.startswith(" ")]
    assert titles == ["opening_range_breakout (built-in)", "sma_cross (built-in)", "BuyTheDip", "Other"]
    assert lines[lines.index("BuyTheDip") + 1].endswith("/mine/buy_the_dip.py")
    assert lines[lines.index("sma_cross (built-in)") + 1] == '  entry: {"name": "sma_cross"}'
    assert "  fast      int  10    bars in the fast SMA, 1 to 100,000" in lines
    assert any(line.startswith("  oversold    float  30.0  buy below this RSI") for line in lines)
    at = lines.index("  a_rather_long_parameter_name  list[str]  ['09:45', '...")  # too long: cut, description below
    assert lines[at + 1] == "      times of day, New York, at which it would trade if it traded at all, which"
    assert "  Trades nothing, with a long description of its one parameter." in lines
    plain = mismarterad("strategy", "list")
    assert plain.returncode == 0 and "BuyTheDip" not in plain.stdout and "sma_cross (built-in)" in plain.stdout


def test_config_check_takes_daemon_tomls_too(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    session = json.loads(SPY_CONFIG.read_text())
    (tmp_path / "s.json").write_text(json.dumps(session))
    (tmp_path / "daemon.toml").write_text('session_config = "s.json"\n[risk]\nmax_open_orders = 5\n')
    (tmp_path / "daemon.conf").write_text('session_config = "s.json"\nlead_minuts = 3\nbroker = "ib"\n')
    checked = mismarterad("config", "check", str(tmp_path / "daemon.toml"), str(tmp_path / "s.json"))
    assert checked.returncode == 0 and checked.stdout.count(": OK\n") == 2
    bad = mismarterad("config", "check", str(tmp_path / "daemon.conf"))  # TOML by content
    assert bad.returncode == 78
    assert bad.stdout.splitlines() == ["broker: must be one of 'paper', 'alpaca' or 'schwab', got 'ib'",
                                       "lead_minuts: unknown key (not part of the schema)"]
    session["strategies"][0]["params"]["fst"] = 3
    (tmp_path / "s.json").write_text(json.dumps(session))
    named = mismarterad("config", "check", str(tmp_path / "daemon.toml"))
    assert named.returncode == 78
    assert named.stdout == f"{tmp_path / 's.json'}: strategies[0].params.fst: unknown key (not part of the schema)\n"


def test_config_schema_is_sorted_stable_json(mismarterad) -> None:  # type: ignore[no-untyped-def]
    first, second = mismarterad("config", "schema"), mismarterad("config", "schema")
    assert first.returncode == 0 and first.stdout == second.stdout
    schema = json.loads(first.stdout)
    assert first.stdout == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"session_name", "exchange_group", "asset_class", "mode", "session_data_config"}
    assert "class" in schema["$defs"]["StrategyEntry"]["properties"]
