"""The `[paper]` table of the daemon's TOML: the daemon's own paper account (broker = "paper").

The account keeps its cash and positions across days and restarts, like a real account, until
`mismarterctl paper reset`; `initial_cash` is what a new (or reset) account opens with. Changing
it does not change an account already open. Backtests never use it: they start from their session
config's `backtest_config.initial_cash`.

`account` names the account in the database (its days, and its order journal), so daemons that
share one database (template instances given the same PostgreSQL URL) each need their own: with
one name they would trade, resume and reset one account together.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mismarterad.config.bounds import MAX_CASH, FiniteFloat

__all__ = ["DEFAULT_PAPER_ACCOUNT", "DEFAULT_PAPER_CASH", "PaperConfig"]

DEFAULT_PAPER_CASH = 1_000_000.0
DEFAULT_PAPER_ACCOUNT = "paper"
# "paper..." never names a real broker's journal (alpaca-paper, alpaca-live); 32: the database column
_ACCOUNT_NAME = re.compile(r"paper[A-Za-z0-9_.-]{0,27}")
_ACCOUNT_RULE = '"paper" followed by at most 27 letters, digits, "_", "." or "-" (e.g. "paper-acct1")'


class PaperConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_cash: FiniteFloat = Field(
        default=DEFAULT_PAPER_CASH, gt=0, le=MAX_CASH,
        description="dollars a new or reset paper account opens with, more than 0 and at most 1e12")
    account: str = Field(
        default=DEFAULT_PAPER_ACCOUNT,
        description=f'the account\'s name in the database: {_ACCOUNT_RULE}; one per daemon sharing a database')

    @field_validator("account")
    @classmethod
    def _account_name(cls, name: str) -> str:
        if not _ACCOUNT_NAME.fullmatch(name):
            raise ValueError(f"expected {_ACCOUNT_RULE}, got {name!r}")
        return name
