"""Decoded JSON values as standard JSON can hold them: it has no NaN or infinity, and strict
readers (jq, JSON.parse) refuse Python's `NaN`/`Infinity` extensions."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_json"]


def finite_json(value: Any) -> Any:
    """`value` with every NaN or infinity (nested too) replaced by None: standard JSON has neither."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value
