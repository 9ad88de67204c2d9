"""The `[paper]` table of the daemon's TOML: the daemon's own paper account (broker = "paper").

The account keeps its cash and positions across days and restarts, like a real account, until
`mismarterctl paper reset`; `initial_cash` is what a new (or reset) account opens with. Changing
it does not change an account already open. Backtests never use it: they start from their session
config's `backtest_config.initial_cash`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mismarterad.config.bounds import MAX_CASH, FiniteFloat

__all__ = ["DEFAULT_PAPER_CASH", "PaperConfig"]

DEFAULT_PAPER_CASH = 1_000_000.0


class PaperConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_cash: FiniteFloat = Field(
        default=DEFAULT_PAPER_CASH, gt=0, le=MAX_CASH,
        description="dollars a new or reset paper account opens with, more than 0 and at most 1e12")
