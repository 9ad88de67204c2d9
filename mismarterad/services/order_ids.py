"""Client order ids: deterministic, and unique per account across days and restarts.

A real account keeps every id it was ever sent and refuses a repeat; a restart must recognize
its own orders by id. So a daemon's id is built from what makes the order itself, never from a
run number:

    20110104-9f3a1c-sma_cross-SPY-o0003
    day      session strategy  sym kind+sequence

* the trading date and a tag of the session config's name (`session_name`): two sessions
  trading one account never collide;
* the strategy and the symbol, so the sequence is short and a person can read the id;
* `o` for a strategy's order, `c` for one the engine sends to close (a flatten);
* the sequence of that (strategy, symbol, kind) within the day. A resumed day replays its bars
  through the same strategies, which make the same decisions in the same order, so the same
  intent gets the same id again and is adopted instead of sent.

At most 64 characters (the database column, and far under Alpaca's 128). A strategy name or
symbol with other characters than letters, digits, `_` and `.`, or too long, is cut and given
a hash tag, so distinct names stay distinct.

Backtests name their orders the same way, so a daemon's paper day and the backtest of that day
write the same `orders.csv`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from functools import lru_cache
from typing import Protocol

__all__ = ["OrderIds", "SessionOrderIds", "day_prefix", "is_closing"]

MAX_ID_LEN = 64
_SAFE = re.compile(r"[^A-Za-z0-9_.]")
_STRATEGY_LEN = 20
_SYMBOL_LEN = 12
_CLOSING = re.compile(r"-c[0-9]{4,}$")


def _tag(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@lru_cache(maxsize=4096)  # a run names its strategies and symbols over and over
def _part(text: str, length: int) -> str:
    safe = _SAFE.sub("_", text)
    if safe == text and 0 < len(text) <= length:
        return text
    return f"{safe[: length - 7]}.{_tag(text, 6)}"


def day_prefix(day: date, session_name: str) -> str:
    """What every id of one session's trading day starts with (the journal's key for the day)."""
    return f"{day:%Y%m%d}-{_tag(session_name, 6)}-"


def is_closing(client_order_id: str) -> bool:
    """Whether the id names an order the engine sent to close a position (a resumed day-run
    keeps its earlier runs' flatten orders working: never canceled, never sent twice)."""
    return _CLOSING.search(client_order_id) is not None


class OrderIds(Protocol):
    """What ExecutionManager asks of an id scheme."""

    def begin_day(self, day: date) -> None:
        """A session starts: its day's ids, each sequence from 1."""
        ...

    def next(self, strategy: str, symbol: str, *, closing: bool = False) -> str: ...


class SessionOrderIds:
    """The ids of one session config's orders, day by day (see the module docstring).
    ExecutionManager asks again while an id is already journaled for a different order (a
    replay that diverged after a restart), so one id never names two orders."""

    def __init__(self, session_name: str, day: date | None = None, *, kept_prefix: str | None = None) -> None:
        """`kept_prefix`: the prefix `day` was fixed with before this run (a kept paper account's
        day keeps its first day-run's, whatever the session is named now)."""
        self._session_name = session_name
        self._kept = kept_prefix
        self.prefix = ""
        self._sequences: dict[tuple[str, str, str], int] = {}
        if day is not None:
            self.begin_day(day)

    def begin_day(self, day: date) -> None:
        kept = self._kept
        self.prefix = kept if kept is not None and kept.startswith(f"{day:%Y%m%d}-") else day_prefix(
            day, self._session_name)
        self._sequences.clear()

    def next(self, strategy: str, symbol: str, *, closing: bool = False) -> str:
        kind = "c" if closing else "o"
        key = (strategy, symbol, kind)
        sequence = self._sequences.get(key, 0) + 1
        self._sequences[key] = sequence
        order_id = f"{self.prefix}{_part(strategy, _STRATEGY_LEN)}-{_part(symbol, _SYMBOL_LEN)}-{kind}{sequence:04d}"
        assert len(order_id) <= MAX_ID_LEN, order_id
        return order_id
