"""Bar intervals: `1m`, `5m`, `Nm`, `1h`, `Nh` and `1d`, parsed once into a value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

__all__ = ["Interval", "parse_interval", "parse_intraday_interval"]

_PATTERN = re.compile(r"^([1-9][0-9]*)([mhd])$")


@dataclass(frozen=True, slots=True)
class Interval:
    """A bar length. Intraday intervals count minutes; `1d` is one trading session."""

    minutes: int  # 0 for the daily interval
    daily: bool = False

    @property
    def name(self) -> str:
        if self.daily:
            return "1d"
        if self.minutes % 60 == 0:
            return f"{self.minutes // 60}h"
        return f"{self.minutes}m"

    @property
    def length(self) -> timedelta:
        """Length of an intraday bar; a daily bar has no fixed length."""
        if self.daily:
            raise ValueError("a daily bar has no fixed length; use the trading session")
        return _minutes(self.minutes)

    def __str__(self) -> str:
        return self.name


@lru_cache(maxsize=64)
def _minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


@lru_cache(maxsize=256)
def parse_interval(text: str) -> Interval:
    """Parse `5m`, `1h`, `1d`; raise ValueError saying what is accepted otherwise."""
    match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid interval {text!r}: expected Nm, Nh or 1d (e.g. 1m, 5m, 1h, 1d)")
    count, unit = int(match.group(1)), match.group(2)
    if unit == "d":
        if count != 1:
            raise ValueError(f"invalid interval {text!r}: only 1d is supported for days")
        return Interval(0, daily=True)
    minutes = count * 60 if unit == "h" else count
    if minutes > 24 * 60:
        raise ValueError(f"invalid interval {text!r}: an intraday interval is at most 24h")
    return Interval(minutes)


def parse_intraday_interval(text: str) -> Interval:
    """Like `parse_interval`, refusing `1d` (streams, strategies and indicators are intraday)."""
    parsed = parse_interval(text)
    if parsed.daily:
        raise ValueError(f"must be an intraday interval such as 1m or 5m, got {text!r}")
    return parsed
