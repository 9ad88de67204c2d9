"""What a strategy class offers, for people: its summary and its parameters.

`mismarterad strategy list` prints this for the built-ins and for user strategies; it is read
from the class itself (its docstring and its `Params` model), so it cannot drift from the code.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Any

from mismarterad.strategies.base import Strategy

__all__ = ["ParamInfo", "StrategyInfo", "describe"]


@dataclass(frozen=True, slots=True)
class ParamInfo:
    name: str
    type: str
    default: str  # "required" when the entry must give it
    description: str


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    class_name: str
    summary: str
    params: tuple[ParamInfo, ...]


def describe(cls: type[Strategy]) -> StrategyInfo:
    """The class's summary (its docstring's first sentence, else its module's) and every field
    of its `Params`, in definition order."""
    params = tuple(_param(name, field) for name, field in cls.Params.model_fields.items())
    return StrategyInfo(cls.__name__, _summary(cls), params)


def _param(name: str, field: Any) -> ParamInfo:
    default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
    return ParamInfo(name, _type_name(field.annotation), default, field.description or "")


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("NoneType", "None")


def _summary(cls: type[Strategy]) -> str:
    doc = cls.__dict__.get("__doc__") or getattr(sys.modules.get(cls.__module__), "__doc__", None) or ""
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())  # the first paragraph, on one line
