"""Fuzzing the config readers: whatever the input, the only failure is a ConfigError.

Session configs go through the whole of `mismarterad config check` in-process (decode, both
validation passes, strategy resolution, the command's output); daemon TOML through
`load_daemon_config`. Each target runs at least 2,000 examples.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mismarterad.cli.commands import config_cmd
from mismarterad.config.daemon_config import load_daemon_config
from mismarterad.config.session_config import load_session_config, parse_session_config
from mismarterad.core.errors import ConfigError
from mismarterad.runs.strategy_loading import resolve_strategies

REPO = Path(__file__).resolve().parents[3]
VALID = {**json.loads((REPO / "session_configs" / "spy_2011_backtest.json").read_text()),
         "flatten_minutes_before_close": 10,
         "risk": {"max_shares_per_symbol": 100, "max_notional_per_symbol": 1e5, "max_gross_exposure": 2e5,
                  "max_open_orders": 5, "max_orders_per_minute": 3, "price_collar_pct": 2.0,
                  "daily_loss_limit": 500.0, "no_entry_minutes_before_close": 15, "allow_short": False,
                  "pattern_day_trader": True}}
FUZZ = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

pytestmark = pytest.mark.slow

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**50), max_value=10**50),
    st.floats(), st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e308, -0.0, 10**30]),
    st.text(max_size=20), st.sampled_from(["", "SPY", "1m", "bars_1m", "all", "sma_cross", "10d", "x" * 300,
                                           "\x00", "\ud800", "../../etc/passwd", "2011-01-03", "backtest"]))
_json = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=25)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _check_in_process(raw: object) -> None:
    """Pass 1, pass 2, the strategies: a config is either valid or a ConfigError."""
    try:
        config = parse_session_config(raw)
        resolve_strategies(config, Path(tempfile.gettempdir()))
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


# -- (a) session configs --

@FUZZ
@given(_json)
def test_random_json_values_are_a_valid_config_or_a_config_error(raw: object) -> None:
    _check_in_process(raw)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


_ALL_PATHS = list(_paths(VALID))[1:]


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    config = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_ALL_PATHS))
        parent: Any = config
        try:
            for part in path[:-1]:
                parent = parent[part]
            key = path[-1]
            parent[key]  # noqa: B018 - still there after an earlier mutation?
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):  # an earlier mutation turned a container into a scalar
            continue
        action = draw(st.sampled_from(["replace", "delete", "add", "number"]))
        if action == "replace":
            parent[key] = draw(_json)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(_json)
        else:
            parent[key] = draw(st.sampled_from([0, -1, 1, 10**12, 10**30, 10**40, 1e400, -1e400, float("nan"),
                                                0.5, 1e-300, 2**63, 3650, 3651, 10_000, 10_001]))
    return config


@FUZZ
@given(_mutated())
def test_mutations_of_a_valid_config_are_valid_or_a_config_error(raw: dict[str, Any]) -> None:
    _check_in_process(raw)
    for entry in raw.get("strategies", []) if isinstance(raw.get("strategies"), list) else []:
        params = entry.get("params") if isinstance(entry, dict) else None
        quantity = params.get("quantity") if isinstance(params, dict) else None
        if isinstance(quantity, int | float) and not 1 <= quantity <= 10**9:  # out of bounds never passes
            with pytest.raises(ConfigError):
                resolve_strategies(parse_session_config(raw), Path(tempfile.gettempdir()))


@st.composite
def _mutated_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(json.dumps(draw(_mutated()), allow_nan=True).encode())
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["flip", "insert", "delete", "nest"])):
            case "flip" if at < len(data):
                data[at] = draw(st.integers(0, 255))
            case "insert":
                data[at:at] = draw(st.binary(max_size=8))
            case "delete":
                del data[at:at + draw(st.integers(1, 20))]
            case "nest":
                depth = draw(st.sampled_from([50, 101, 1000, 5000]))
                data[at:at] = b"[" * depth + b"]" * depth
    return bytes(data)


@FUZZ
@given(data=_mutated_bytes())
def test_config_check_in_process_prints_errors_and_exits_0_or_78(
        data: bytes, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workdir / "session.json"
    path.write_bytes(data)
    status = config_cmd._check(argparse.Namespace(files=[path]))
    out = capsys.readouterr().out
    assert status in (0, 78)
    assert out.strip() and "Traceback" not in out
    if status == 0:
        config = load_session_config(path)
        bt = config.backtest_config
        assert bt is None or (math.isfinite(bt.initial_cash) and bt.initial_cash <= 1e12)


# -- (b) daemon TOML --

VALID_TOML = """session_config = "session.json"
broker = "paper"
socket_path = "/run/mismarterad/ctl.sock"
metrics_address = "127.0.0.1:9108"
lead_minutes = 30
lag_minutes = 5
max_session_restarts = 3
restart_backoff_seconds = 5.0
on_shutdown = "flatten"
[risk]
daily_loss_limit = 1000.0
max_shares_per_symbol = 100
"""

_TOML_VALUES = st.one_of(
    st.sampled_from(['"x"', '""', "0", "-1", "1e400", "inf", "-inf", "nan", "1e12", "1e13", "true", "[1, 2]",
                     "{a = 1}", '"\\u0000"', '"' + "a" * 5000 + '"', "[" * 3000 + "]" * 3000, "1979-05-27",
                     '"127.0.0.1:99999"', '"::1:80"', '"[::1]:0"', '"localhost:1"', "99999999999999999999",
                     '"no-such-group-zz"', '"relative/dir"']),
    st.text(max_size=20).map(json.dumps))


@st.composite
def _mutated_toml(draw: st.DrawFn) -> str:
    lines = VALID_TOML.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        key = lines[i].split(" = ")[0]
        match draw(st.sampled_from(["value", "drop", "key", "garbage"])):
            case "value":
                lines[i] = f"{key} = {draw(_TOML_VALUES)}"
            case "drop":
                lines[i] = ""
            case "key":
                lines[i] = f"{draw(st.sampled_from(['socket_group', 'data_dir', 'database_url', 'bogus']))} = " \
                           f"{draw(_TOML_VALUES)}"
            case _:
                lines[i] = draw(st.text(max_size=30))
    return "\n".join(lines) + "\n"


def _load_toml(workdir: Path, data: bytes) -> None:
    path = workdir / "daemon.toml"
    path.write_bytes(data)
    try:
        config = load_daemon_config(path)
    except ConfigError as exc:
        assert str(exc)
    else:
        assert math.isfinite(config.risk.daily_loss_limit or 0.0) and math.isfinite(config.restart_backoff_seconds)


@FUZZ
@given(text=_mutated_toml())
def test_mutations_of_a_valid_daemon_toml_are_valid_or_a_config_error(text: str, workdir: Path) -> None:
    _load_toml(workdir, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_random_bytes_as_daemon_toml_are_a_config_error(data: bytes, workdir: Path) -> None:
    _load_toml(workdir, data)
