"""Turn pydantic validation errors into `path: what was expected, got what` lines."""

from __future__ import annotations

import reprlib
from typing import Any

from pydantic import ValidationError

__all__ = ["format_location", "format_validation_error"]


def format_location(loc: tuple[int | str, ...]) -> str:
    """`("historical", "data", 0, "trailing_days")` -> `historical.data[0].trailing_days`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(exc: ValidationError, prefix: str = "") -> list[str]:
    """One readable line per error, in the order pydantic found them."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        path = format_location(loc)
        if prefix:
            path = f"{prefix}.{path}" if path != "(top level)" else prefix
        lines.append(f"{path}: {_message(err)}")
    return lines


def _is_union_tag(part: int | str) -> bool:
    # pydantic adds the member's type name to the location of errors inside unions
    return isinstance(part, str) and ("[" in part or part in {"function-after", "function-before"})


_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother, _short.maxlong = 3, 80, 80, 40
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 6


def _got(value: object) -> str:
    """The offending input, shortened: a huge or deeply nested value stays one readable line."""
    try:
        return _short.repr(value)
    except Exception:  # noqa: BLE001 - an odd object's repr must not hide the real error
        return f"<{type(value).__name__}>"


def _message(err: dict[str, Any]) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    got = f", got {_got(value)}"
    match kind:
        case "missing":
            return "required field is missing"
        case "extra_forbidden":
            return "unknown key (not part of the schema)"
        case "greater_than_equal":
            return f"must be >= {ctx['ge']}{got}"
        case "greater_than":
            return f"must be > {ctx['gt']}{got}"
        case "less_than_equal":
            return f"must be <= {ctx['le']}{got}"
        case "less_than":
            return f"must be < {ctx['lt']}{got}"
        case "literal_error" | "enum":
            return f"must be one of {ctx.get('expected', '?')}{got}"
        case "too_short":
            return f"must have at least {ctx.get('min_length')} item(s){got}"
        case "string_too_short":
            return f"must not be empty{got}"
        case "value_error":
            return f"{str(ctx.get('error', err['msg']))}"
        case _:
            return f"{err['msg'].rstrip('.').lower()}{got}"
