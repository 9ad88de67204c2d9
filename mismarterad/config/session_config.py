"""Session configs: what one trading session (or backtest) trades and which data it needs.

JSON files with the schema of the design's "Configuration Structure". Checked in two passes:
pass 1 is shape and types (every bad field reported at once, unknown keys rejected), pass 2
the named cross-field rules that need a well-formed config.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from mismarterad.config.bounds import (
    MAX_BACKTEST_DAYS,
    MAX_CASH,
    MAX_COMMISSION_PER_ORDER,
    MAX_COMMISSION_PER_SHARE,
    MAX_PERIOD_DAYS,
    MAX_PREFETCH_DAYS,
    MAX_RETRIES,
    MAX_RETRY_INTERVAL_SECS,
    MAX_SLIPPAGE_BPS,
    MAX_SPEED,
    MAX_TRAILING_DAYS,
    FiniteFloat,
    check_finite_json,
)
from mismarterad.config.errors import format_validation_error
from mismarterad.config.risk_config import MAX_MINUTES, RiskConfig, StrictInt
from mismarterad.core.errors import ConfigError
from mismarterad.core.intervals import parse_interval

__all__ = [
    "BacktestConfig",
    "GapFillerConfig",
    "HistoricalConfig",
    "HistoricalDataConfig",
    "IndicatorConfig",
    "SessionConfig",
    "SessionDataConfig",
    "StrategyEntry",
    "ConfigFileError",
    "decode_json",
    "load_session_config",
    "parse_session_config",
    "session_config_schema",
]

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
_STREAM = re.compile(r"^(bars_[1-9][0-9]*[mhd]|ticks|quotes)$")
_PERIOD = re.compile(r"^[1-9][0-9]*d$")

SUPPORTED_MARKETS = {("US_EQUITY", "EQUITY")}


def _symbol(value: str) -> str:
    if not _SYMBOL.match(value):
        raise ValueError(f"invalid symbol {value!r}: expected 1-10 upper-case letters, digits, '.' or '-'")
    return value


def _interval(value: str) -> str:
    return parse_interval(value).name


def _stream(value: str) -> str:
    if not _STREAM.match(value):
        raise ValueError(f"invalid stream {value!r}: expected bars_<interval> (e.g. bars_1m), ticks or quotes")
    if value.startswith("bars_"):
        parse_interval(value.removeprefix("bars_"))  # at most 24h (or 1d), like every interval
    return value


def _period(value: str) -> str:
    if not _PERIOD.match(value) or len(value) > 6 or int(value[:-1]) > MAX_PERIOD_DAYS:
        raise ValueError(
            f"invalid period {value!r}: expected a number of trading days from 1d to {MAX_PERIOD_DAYS}d such as 10d")
    return value


def _file_path(value: str) -> str:
    try:
        encoded = os.fsencode(value)
    except UnicodeEncodeError:
        raise ValueError(f"invalid file name {value[:80]!r}: not encodable as a file name") from None
    if b"\0" in encoded or not encoded:
        raise ValueError(f"invalid file name {value[:80]!r}: expected a path to a Python file")
    if len(encoded) > 4096 or any(len(part) > 255 for part in encoded.split(b"/")):
        raise ValueError(f"invalid file name {value[:80]!r}...: longer than a path can be")
    return value


Symbol = Annotated[str, AfterValidator(_symbol)]
IntervalName = Annotated[str, AfterValidator(_interval)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BacktestConfig(_Strict):
    """How a backtest runs: which days, how fast, how much data is queued ahead, what fills cost.

    Without `start_date`/`end_date` (or the command's --from/--to) a backtest covers the last
    `backtest_days` trading days for which the store has 1-minute bars of the symbols.
    """

    backtest_days: int = Field(default=5, ge=1, le=MAX_BACKTEST_DAYS,
                               description=f"trading days, 1 to {MAX_BACKTEST_DAYS:,}")
    start_date: date | None = Field(default=None, description="first trading day (YYYY-MM-DD); --from overrides it")
    end_date: date | None = Field(default=None, description="last trading day, included; --to overrides it")
    speed_multiplier: FiniteFloat = Field(default=0.0, ge=0, le=MAX_SPEED,
                                          description=f"0 (as fast as possible) to {MAX_SPEED:,.0f}")
    prefetch_days: int = Field(default=2, ge=1, le=MAX_PREFETCH_DAYS,
                               description=f"sessions read ahead, 1 to {MAX_PREFETCH_DAYS}")
    initial_cash: FiniteFloat = Field(default=1_000_000.0, gt=0, le=MAX_CASH,
                                      description="dollars, more than 0 and at most 1e12")
    commission_per_share: FiniteFloat = Field(default=0.0, ge=0, le=MAX_COMMISSION_PER_SHARE,
                                              description=f"dollars, 0 to {MAX_COMMISSION_PER_SHARE:,.0f}")
    commission_per_order: FiniteFloat = Field(default=0.0, ge=0, le=MAX_COMMISSION_PER_ORDER,
                                              description=f"dollars, 0 to {MAX_COMMISSION_PER_ORDER:,.0f}")
    commission_minimum: FiniteFloat = Field(default=0.0, ge=0, le=MAX_COMMISSION_PER_ORDER,
                                            description=f"dollars, 0 to {MAX_COMMISSION_PER_ORDER:,.0f}")
    slippage_bps: FiniteFloat = Field(default=0.0, ge=0, le=MAX_SLIPPAGE_BPS,
                                      description=f"basis points, 0 to {MAX_SLIPPAGE_BPS:,.0f} (100 %)")


class HistoricalDataConfig(_Strict):
    """Trailing bars loaded before every session; `trailing_days` counts trading sessions."""

    apply_to: Literal["all"] | list[Symbol] = Field(default="all", description='"all" or a list of the symbols')
    intervals: list[IntervalName] = Field(min_length=1, description="bar intervals to load: 1m, 5m, Nm, 1h, 1d")
    trailing_days: int = Field(ge=0, le=MAX_TRAILING_DAYS,
                               description=f"trading sessions, 0 to {MAX_TRAILING_DAYS:,}")


class IndicatorConfig(_Strict):
    """A historical indicator computed before every session."""

    type: Literal["trailing_average"] = Field(description="the average of `field` over `period` daily bars")
    field: Literal["open", "high", "low", "close", "volume"] = Field(description="the daily bar's field averaged")
    period: Annotated[str, AfterValidator(_period)] = Field(
        description=f"trading days before the session, 1d to {MAX_PERIOD_DAYS}d")
    granularity: Literal["daily"] = Field(default="daily", description="daily bars (the only granularity)")


class HistoricalConfig(_Strict):
    """What every session starts with: trailing bars and indicators computed from them."""

    data: list[HistoricalDataConfig] = Field(default_factory=list, description="trailing bars, per interval")
    indicators: dict[str, IndicatorConfig] = Field(
        default_factory=dict, description="by the name strategies read them with historical_indicator(name, symbol)")


class GapFillerConfig(_Strict):
    """Live-mode gap filling and quality monitoring."""

    max_retries: int = Field(default=3, ge=0, le=MAX_RETRIES, description=f"0 to {MAX_RETRIES}")
    retry_interval_seconds: FiniteFloat = Field(default=5.0, gt=0, le=MAX_RETRY_INTERVAL_SECS,
                                                description=f"seconds, more than 0 and at most {MAX_RETRY_INTERVAL_SECS:,.0f}")
    enable_session_quality: bool = Field(default=True, description="score each session's data quality")


class SessionDataConfig(_Strict):
    """The market data of the session: symbols, streams and the history loaded before it."""

    symbols: list[Symbol] = Field(min_length=1, description="upper-case tickers, each once")
    streams: list[Annotated[str, AfterValidator(_stream)]] = Field(
        min_length=1, description="bars_<interval>, ticks or quotes; bars_1m required")
    historical: HistoricalConfig = Field(default_factory=HistoricalConfig,
                                         description="trailing bars and indicators loaded before each session")
    gap_filler: GapFillerConfig = Field(default_factory=GapFillerConfig, description="live gap filling")


class StrategyEntry(_Strict):
    """A built-in strategy by `name`, or a user's class from `file` + `class`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = Field(default=None, description="a built-in strategy (mismarterad strategy list)")
    file: Annotated[str, AfterValidator(_file_path)] | None = Field(
        default=None, description="a Python file with the strategy class, relative to this config")
    class_name: str | None = Field(default=None, alias="class", description="the Strategy subclass in `file`")
    symbols: Literal["all"] | list[Symbol] = Field(default="all",
                                                   description='"all" (the session\'s) or some of its symbols')
    params: Annotated[dict[str, Any], AfterValidator(check_finite_json)] = Field(
        default_factory=dict, description="the strategy's own parameters; numbers must be finite")


class SessionConfig(_Strict):
    """A session config: what one trading session (or backtest) trades, with which data."""

    session_name: str = Field(min_length=1, description="names the run in reports and order ids")
    exchange_group: str = Field(min_length=1, description="US_EQUITY (the market whose hours apply)")
    asset_class: str = Field(min_length=1, description="EQUITY")
    mode: Literal["backtest", "live"] = Field(description="the daemon runs any config live")
    backtest_config: BacktestConfig | None = Field(default=None, description="required when mode is backtest")
    session_data_config: SessionDataConfig = Field(description="symbols, streams and history")
    strategies: list[StrategyEntry] = Field(default_factory=list, description="the strategies, each with its own id")
    risk: RiskConfig | None = Field(default=None, description="pre-trade limits, over the daemon's [risk]")
    flatten_minutes_before_close: StrictInt = Field(
        default=0, ge=0, le=MAX_MINUTES,
        description=f"minutes, 0 (flatten at the last bar's close) to {MAX_MINUTES}")


def _cross_field_problems(cfg: SessionConfig) -> list[str]:
    """Pass 2: rules between fields, each named by the path it is reported under."""
    problems = []
    if (cfg.exchange_group, cfg.asset_class) not in SUPPORTED_MARKETS:
        known = ", ".join(f"{g}/{a}" for g, a in sorted(SUPPORTED_MARKETS))
        problems.append(
            f"exchange_group: no market hours for {cfg.exchange_group}/{cfg.asset_class} (known: {known})"
        )
    if cfg.mode == "backtest" and cfg.backtest_config is None:
        problems.append("backtest_config: required when mode is 'backtest'")
    sdc = cfg.session_data_config
    seen: set[str] = set()
    for i, symbol in enumerate(sdc.symbols):
        if symbol in seen:
            problems.append(f"session_data_config.symbols[{i}]: duplicate symbol {symbol!r}")
        seen.add(symbol)
    for i, data in enumerate(sdc.historical.data):
        if data.apply_to != "all":
            for j, symbol in enumerate(data.apply_to):
                if symbol not in seen:
                    problems.append(
                        f"session_data_config.historical.data[{i}].apply_to[{j}]: "
                        f"{symbol!r} is not in session_data_config.symbols"
                    )
    for i, entry in enumerate(cfg.strategies):
        where = f"strategies[{i}]"
        if (entry.name is None) == (entry.file is None):
            problems.append(f"{where}: give either 'name' (a built-in strategy) or 'file' + 'class'")
        if entry.file is not None and not entry.class_name:
            problems.append(f"{where}.class: required with 'file' (the strategy class to load from it)")
        if entry.name is not None and entry.class_name is not None:
            problems.append(f"{where}.class: only used with 'file'")
        if entry.symbols != "all":
            for j, symbol in enumerate(entry.symbols):
                if symbol not in seen:
                    problems.append(f"{where}.symbols[{j}]: {symbol!r} is not in session_data_config.symbols")
    bt = cfg.backtest_config
    if bt is not None and bt.start_date and bt.end_date and bt.end_date < bt.start_date:
        problems.append(f"backtest_config.end_date: {bt.end_date} is before start_date {bt.start_date}")
    if "bars_1m" not in sdc.streams:
        problems.append("session_data_config.streams: must include 'bars_1m' (derived intervals are built from it)")
    return problems


def parse_session_config(raw: object, source: str = "session config") -> SessionConfig:
    """Validate an already-decoded JSON value; raise ConfigError listing every problem."""
    try:
        cfg = SessionConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc), source=source) from exc
    problems = _cross_field_problems(cfg)
    if problems:
        raise ConfigError(problems, source=source)
    return cfg


def session_config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a session config's shape, pass 1 only: the cross-field
    rules of pass 2 and each strategy's own `params` are checked by `config check`."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **SessionConfig.model_json_schema(by_alias=True, mode="validation")}


class ConfigFileError(ConfigError):
    """The file itself is unusable (unreadable, not UTF-8, not JSON): nothing field by field."""


def load_session_config(path: Path | str) -> SessionConfig:
    """Read and validate a session config file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"cannot read file: {exc.strerror or exc}", source=str(path)) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigFileError(
            f"line {line}: not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            f"(expected a UTF-8 JSON file)", source=str(path)) from None
    return parse_session_config(decode_json(text, source=str(path)), source=str(path))


MAX_JSON_DEPTH = 100


def decode_json(text: str, source: str) -> object:
    """`json.loads` that reports every way a text can fail to be a config as one ConfigError:
    bad syntax, nesting deeper than MAX_JSON_DEPTH, integers of thousands of digits. (`NaN` and
    `Infinity` decode, and the fields refuse them by name.)"""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(
            f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}", source=source
        ) from None
    except RecursionError:
        raise ConfigFileError(f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels", source=source) from None
    except ValueError as exc:  # an integer longer than Python converts
        raise ConfigFileError(f"invalid JSON: {exc}", source=source) from None
    if _depth(raw) > MAX_JSON_DEPTH:
        raise ConfigFileError(f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels", source=source)
    return raw


def _depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest
