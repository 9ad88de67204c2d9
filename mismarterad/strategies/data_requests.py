"""What a strategy asks the pipeline for, named up front: bar intervals and indicators.

A strategy that reads something it never asked for is a bug that used to pass silently (an
indicator read as `"rsi"` instead of `"rsi(14)"` gave None on every bar, and the backtest made
no trade). So every read is checked against the requests: `collect_requests` turns a strategy's
`intervals`, `read_intervals` and `indicator_requests()` into one checked `StrategyRequests`,
and an unknown indicator name, a bad interval or a daily interval for `on_bar` is a
configuration problem the run refuses to start with; the engine then refuses any read outside
the requests with a StrategyError.

Indicator names: `sma(N)`, `ema(N)`, `rsi(N)`, `atr(N)`, `vwap`, `bollinger_upper(N)`,
`bollinger_middle(N)`, `bollinger_lower(N)` (or `(N,K)`: K standard deviations, default 2),
optionally followed by `@interval` (`ema(20)@5m`; default 1m).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mismarterad.core.errors import ConfigError
from mismarterad.core.intervals import parse_interval, parse_intraday_interval

if TYPE_CHECKING:
    from mismarterad.strategies.base import Strategy

__all__ = ["INDICATOR_FORMS", "IndicatorRequest", "StrategyRequests", "collect_requests", "interval_name"]

INDICATOR_FORMS = ("sma(N)", "ema(N)", "rsi(N)", "atr(N)", "vwap", "bollinger_upper(N,K)", "bollinger_middle(N,K)",
                   "bollinger_lower(N,K)")
_KINDS = tuple(form.split("(")[0] for form in INDICATOR_FORMS)
_NAME = re.compile(r"^([a-z_]+)(?:\(([^()]*)\))?(?:@(\S+))?$")
MAX_PERIOD = 100_000


class IndicatorRequest(BaseModel):
    """A real-time indicator the strategy wants the DataProcessor to compute, on one interval.

    Usually written as its name (`"rsi(14)"`, `"ema(20)@5m"`) in the strategy's `indicators`;
    `IndicatorRequest.parse` reads that form. Its value is read with
    `self.indicator(symbol, "<name>@<interval>")` (or `self.indicator(symbol, name, interval)`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["sma", "ema", "rsi", "atr", "vwap", "bollinger_upper", "bollinger_middle", "bollinger_lower"]
    interval: str = "1m"
    period: int = Field(default=14, ge=1, le=MAX_PERIOD)
    num_std: float = Field(default=2.0, gt=0, allow_inf_nan=False)

    @field_validator("interval")
    @classmethod
    def _intraday(cls, value: str) -> str:
        return parse_intraday_interval(value).name

    @property
    def name(self) -> str:
        """The name without the interval, as SessionData stores it: `rsi(14)`, `bollinger_upper(20,2)`."""
        if self.kind == "vwap":
            return "vwap"
        if self.kind.startswith("bollinger"):
            return f"{self.kind}({self.period},{self.num_std:g})"
        return f"{self.kind}({self.period})"

    @property
    def label(self) -> str:
        """The name with its interval, as messages show it: `rsi(14)@1m`."""
        return f"{self.name}@{self.interval}"

    @classmethod
    def parse(cls, text: str, interval: str | None = None) -> IndicatorRequest:
        """Read `kind(N)`, `bollinger_*(N,K)`, `vwap`, each optionally `@interval`; `interval` is
        the default when the text names none. Raise ValueError saying what was expected."""
        if not isinstance(text, str):
            raise ValueError(f"{text!r} is not an indicator name: expected a string such as 'rsi(14)'")
        match = _NAME.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not an indicator name: expected kind(N) or kind(N)@interval, "
                             "such as 'rsi(14)' or 'ema(20)@5m'")
        kind, args, at = match.groups()
        if kind not in _KINDS:
            raise ValueError(f"{text!r}: unknown indicator {kind!r} (known: {', '.join(INDICATOR_FORMS)})")
        if at is not None and interval is not None and interval_name(at) != interval_name(interval):
            raise ValueError(f"{text!r}: names interval {at} but {interval} was given as well")
        fields: dict[str, object] = {"kind": kind, "interval": at or interval or "1m"}
        if kind == "vwap":
            if args is not None:
                raise ValueError(f"{text!r}: vwap takes no period (write 'vwap')")
        elif args is None or not args.strip():
            form = INDICATOR_FORMS[_KINDS.index(kind)].replace("N", "14").replace("K", "2")
            raise ValueError(f"{text!r}: {kind} needs its period, e.g. '{form}'")
        else:
            fields.update(_arguments(text, kind, args))
        try:
            return cls(**fields)  # type: ignore[arg-type]
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            raise ValueError(f"{text!r}: {error['loc'][0]}: {error['msg'].lower()}") from None


def _arguments(text: str, kind: str, args: str) -> dict[str, object]:
    parts = [p.strip() for p in args.split(",")]
    wanted = 2 if kind.startswith("bollinger") else 1
    if len(parts) > wanted:
        raise ValueError(f"{text!r}: {kind} takes {'a period' if wanted == 1 else 'a period and K'}, "
                         f"got {len(parts)} arguments")
    if not parts[0].isdigit():
        raise ValueError(f"{text!r}: the period must be a whole number of bars, got {parts[0]!r}")
    fields: dict[str, object] = {"period": int(parts[0])}
    if len(parts) == 2:
        try:
            num_std = float(parts[1])
        except ValueError:
            num_std = math.nan
        if not math.isfinite(num_std) or num_std <= 0:
            raise ValueError(f"{text!r}: K (standard deviations) must be a number > 0, got {parts[1]!r}")
        fields["num_std"] = num_std
    return fields


def interval_name(text: str) -> str:
    """The canonical name of an interval (`60m` -> `1h`); ValueError naming the forms accepted."""
    return parse_interval(text).name


@dataclass(frozen=True, slots=True)
class StrategyRequests:
    """A strategy's checked requests. `bar_intervals` are what `on_bar` receives; `readable`
    what `bars()` may read (those, `read_intervals` and the indicators' intervals)."""

    bar_intervals: tuple[str, ...]
    readable: frozenset[str]
    indicators: tuple[IndicatorRequest, ...]

    @property
    def daily_reads(self) -> bool:
        return "1d" in self.readable


def collect_requests(strategy: Strategy) -> StrategyRequests:
    """Check a strategy's `intervals`, `read_intervals` and `indicator_requests()`; raise one
    ConfigError listing each problem as `<attribute>: <what was expected>`."""
    problems: list[str] = []
    bar_intervals = _intervals(strategy.intervals, "intervals", problems, intraday=True)
    if not strategy.intervals:
        problems.append("intervals: empty (on_bar would never be called); the default is ('1m',)")
    read_intervals = _intervals(strategy.read_intervals, "read_intervals", problems, intraday=False)
    try:
        wanted = list(strategy.indicator_requests())
    except Exception as exc:  # noqa: BLE001 - the strategy's own code: whatever it raises is its problem
        problems.append(f"indicator_requests() raised {type(exc).__name__}: {exc}")
        wanted = []
    indicators: dict[tuple[str, str], IndicatorRequest] = {}
    for item in wanted:
        try:
            request = item if isinstance(item, IndicatorRequest) else IndicatorRequest.parse(item)
        except ValueError as exc:
            problems.append(f"indicators: {exc}")
            continue
        indicators.setdefault((request.name, request.interval), request)
    if problems:
        raise ConfigError(problems)
    ordered = tuple(sorted(indicators.values(), key=lambda r: (r.interval, r.name)))
    readable = frozenset(bar_intervals) | frozenset(read_intervals) | {r.interval for r in ordered}
    return StrategyRequests(bar_intervals, readable, ordered)


def _intervals(values: object, attribute: str, problems: list[str], *, intraday: bool) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        problems.append(f"{attribute}: expected a tuple of interval names such as ('1m', '5m'), got {values!r}")
        return ()
    names: list[str] = []
    for value in values:
        try:
            name = interval_name(value)
        except (ValueError, TypeError):  # TypeError: an unhashable value
            problems.append(f"{attribute}: invalid interval {value!r}: expected Nm, Nh or 1d (e.g. 1m, 5m, 1h, 1d)")
            continue
        if intraday and name == "1d":
            problems.append(f"{attribute}: on_bar receives intraday bars only, got '1d' "
                            "(read daily history with read_intervals = ('1d',) and bars(symbol, '1d', n))")
            continue
        if name not in names:
            names.append(name)
    return tuple(names)
