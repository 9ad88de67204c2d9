"""A strategy ready to instantiate, as the AnalysisEngine receives it.

Resolving config entries into specs (built-in names, user files, params) is the job of
`runs/strategy_loading.py`; this layer knows nothing of configs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from mismarterad.strategies.base import Strategy

__all__ = ["StrategySpec", "strategy_id"]


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """Class, symbols and validated params of one configured entry. `strategy_id` is unique
    per entry of the session config (`sma_cross#0`); orders, positions and report rows carry it."""

    strategy_id: str
    cls: type[Strategy]
    symbols: tuple[str, ...]
    params: BaseModel


class NamedEntry(Protocol):
    """What an id is made of: a session config's StrategyEntry (this layer imports no configs)."""

    @property
    def name(self) -> str | None: ...

    @property
    def class_name(self) -> str | None: ...


def strategy_id(entry: NamedEntry, index: int) -> str:
    """The id of the config's `index`-th strategy entry: its built-in name or class, `#index`."""
    return f"{entry.name or entry.class_name or 'strategy'}#{index}"
