"""A sweep's grid: the `--param NAME=V1,V2` axes, their combinations, and each one's config.

A value is read as JSON when it is a JSON scalar (10, 0.5, true, null, "x"), else as text
(`interval=1m,5m`), so a parameter gets the type its strategy's `Params` expects. The
combinations are the axes' product in the order given (the first axis varies slowest), which
is the row order of results.csv. Before anything runs, names are checked against the
strategy's `Params`, and each value on its own against its field (a wrong type, a value out of
the field's range, NaN or an infinity: a usage error, not a grid of failed backtests). What
only a whole combination shows is left to its own backtest, so a combination its strategy
refuses (fast >= slow) is reported as failed while the others run.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mismarterad.config.session_config import SessionConfig
from mismarterad.runs.strategy_loading import strategy_params_model

__all__ = ["ParamAxis", "check_axes", "combination_config", "expand_grid", "parse_param"]


@dataclass(frozen=True, slots=True)
class ParamAxis:
    name: str
    values: tuple[Any, ...]


def parse_param(text: str) -> ParamAxis:
    """`NAME=V1,V2,...`; ValueError saying what was expected."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ValueError(f"invalid --param {text!r}: expected NAME=V1,V2,... (NAME a strategy parameter)")
    items = [v.strip() for v in values.split(",")]
    if not values.strip() or any(not v for v in items):
        raise ValueError(f"invalid --param {text!r}: expected at least one value, no empty ones (NAME=V1,V2,...)")
    parsed = tuple(_value(v) for v in items)
    if any(isinstance(v, float) and not math.isfinite(v) for v in parsed):  # JSON's NaN, Infinity, 1e999
        raise ValueError(f"invalid --param {text!r}: values must be finite numbers (no NaN or Infinity)")
    if len(set(map(_key, parsed))) != len(parsed):
        raise ValueError(f"invalid --param {text!r}: a value is repeated")
    return ParamAxis(name, parsed)


def _value(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if value is None or isinstance(value, bool | int | float | str) else text


def _key(value: Any) -> str:
    return json.dumps(value)


def check_axes(axes: Sequence[ParamAxis], config: SessionConfig, strategy_index: int, config_dir: Path) -> None:
    """Raise ValueError (a usage error) for a strategy index the config lacks, a repeated axis,
    a name the strategy's `Params` does not declare, or a value its field refuses on its own."""
    if not axes:
        raise ValueError("no --param given: expected at least one NAME=V1,V2,...")
    if not 0 <= strategy_index < len(config.strategies):
        raise ValueError(f"--strategy {strategy_index}: the config has {len(config.strategies)} "
                         f"strateg{'y' if len(config.strategies) == 1 else 'ies'} (0-based index)")
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise ValueError(f"--param {next(n for n in names if names.count(n) > 1)} is given twice")
    model = strategy_params_model(config, strategy_index, config_dir)  # a strategy that won't load: ConfigError
    known = tuple(model.model_fields)
    for name in names:
        if name not in known:
            raise ValueError(f"--param {name}: strategies[{strategy_index}] has no such parameter "
                             f"(its parameters: {', '.join(known) or 'none'})")
    base = config.strategies[strategy_index].params
    for axis in axes:
        for value in axis.values:
            if (problem := _field_problem(model, base, axis.name, value)) is not None:
                raise ValueError(f"invalid --param {axis.name}={_key(value)}: {problem}")


def _field_problem(model: type[BaseModel], base: Mapping[str, Any], name: str, value: Any) -> str | None:
    """What the field `name` says of `value` alone: its own validation error, or a non-finite
    number it took (a float field reads the text "nan"); None when only errors of the whole
    combination (a model check, another field) remain, left to the combination's backtest."""
    try:
        checked = model.model_validate({**base, name: value})
    except ValidationError as exc:
        own = [e for e in exc.errors() if e["loc"][:1] == (name,)]
        return None if not own else f"{own[0]['msg'][:1].lower()}{own[0]['msg'][1:]}"
    taken = getattr(checked, name)
    return "must be a finite number" if isinstance(taken, float) and not math.isfinite(taken) else None


def expand_grid(axes: Sequence[ParamAxis]) -> list[dict[str, Any]]:
    """Every combination, the first axis varying slowest."""
    return [dict(zip((a.name for a in axes), values, strict=True))
            for values in itertools.product(*(a.values for a in axes))]


def combination_config(config: SessionConfig, strategy_index: int, params: Mapping[str, Any]) -> dict[str, Any]:
    """The config's JSON with `params` set in the strategy's `params` (what its backtest reads)."""
    raw = config.model_dump(mode="json", by_alias=True, exclude_unset=True)
    entry = raw["strategies"][strategy_index]
    entry["params"] = {**entry.get("params", {}), **params}
    return raw
