"""Session configs: what one trading session (or backtest) trades and which data it needs.

JSON files with the schema of the design's "Configuration Structure". Checked in two passes:
pass 1 is shape and types (every bad field reported at once, unknown keys rejected), pass 2
the named cross-field rules that need a well-formed config.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from mismarterad.config.errors import format_validation_error
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
    "load_session_config",
    "parse_session_config",
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
    return value


def _period(value: str) -> str:
    if not _PERIOD.match(value):
        raise ValueError(f"invalid period {value!r}: expected a number of trading days such as 10d")
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

    backtest_days: int = Field(default=5, ge=1)
    start_date: date | None = None
    end_date: date | None = None
    speed_multiplier: float = Field(default=0.0, ge=0)
    prefetch_days: int = Field(default=2, ge=1)
    initial_cash: float = Field(default=1_000_000.0, gt=0)
    commission_per_share: float = Field(default=0.0, ge=0)
    commission_per_order: float = Field(default=0.0, ge=0)
    commission_minimum: float = Field(default=0.0, ge=0)
    slippage_bps: float = Field(default=0.0, ge=0)


class HistoricalDataConfig(_Strict):
    """Trailing bars loaded before every session; `trailing_days` counts trading sessions."""

    apply_to: Literal["all"] | list[Symbol] = "all"
    intervals: list[IntervalName] = Field(min_length=1)
    trailing_days: int = Field(ge=0)


class IndicatorConfig(_Strict):
    """A historical indicator computed before every session."""

    type: Literal["trailing_average"]
    field: Literal["open", "high", "low", "close", "volume"]
    period: Annotated[str, AfterValidator(_period)]
    granularity: Literal["daily"] = "daily"


class HistoricalConfig(_Strict):
    data: list[HistoricalDataConfig] = Field(default_factory=list)
    indicators: dict[str, IndicatorConfig] = Field(default_factory=dict)


class GapFillerConfig(_Strict):
    """Live-mode gap filling and quality monitoring."""

    max_retries: int = Field(default=3, ge=0)
    retry_interval_seconds: float = Field(default=5.0, gt=0)
    enable_session_quality: bool = True


class SessionDataConfig(_Strict):
    symbols: list[Symbol] = Field(min_length=1)
    streams: list[Annotated[str, AfterValidator(_stream)]] = Field(min_length=1)
    historical: HistoricalConfig = Field(default_factory=HistoricalConfig)
    gap_filler: GapFillerConfig = Field(default_factory=GapFillerConfig)


class StrategyEntry(_Strict):
    """A built-in strategy by `name`, or a user's class from `file` + `class`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = None
    file: str | None = None
    class_name: str | None = Field(default=None, alias="class")
    symbols: Literal["all"] | list[Symbol] = "all"
    params: dict[str, Any] = Field(default_factory=dict)


class SessionConfig(_Strict):
    session_name: str = Field(min_length=1)
    exchange_group: str = Field(min_length=1)
    asset_class: str = Field(min_length=1)
    mode: Literal["backtest", "live"]
    backtest_config: BacktestConfig | None = None
    session_data_config: SessionDataConfig
    strategies: list[StrategyEntry] = Field(default_factory=list)


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


def load_session_config(path: Path | str) -> SessionConfig:
    """Read and validate a session config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", source=str(path)) from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}", source=str(path)
        ) from exc
    return parse_session_config(raw, source=str(path))
