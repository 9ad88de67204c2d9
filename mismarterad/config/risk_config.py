"""The `risk` object of a session config and the `[risk]` table of the daemon's TOML.

Both have the same keys; every key is optional. A run's limits are the daemon's table with the
session's keys laid over it (`effective_limits`), so one daemon config carries an account's
limits and a session may tighten or loosen one of them. Neither given: `RiskLimits()`, the
behaviour before limits existed (buying power checked, no shorting), plus the FINRA
pattern-day-trader rule, which acts only under $25,000 of equity, as the broker's would.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from mismarterad.config.bounds import MAX_CASH, FiniteFloat
from mismarterad.core.risk import RiskLimits

__all__ = ["MAX_MINUTES", "MAX_ORDERS", "MAX_SHARES", "RiskConfig", "StrictInt", "effective_limits"]

MAX_SHARES = 1_000_000_000  # shares in one symbol
MAX_ORDERS = 100_000  # open orders, or orders in one minute
MAX_COLLAR_PCT = 1_000.0
MAX_MINUTES = 390  # a whole regular session

# no coercion: `true` is not 1 share and "on" is not a yes, where a mistake moves money
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]


class RiskConfig(BaseModel):
    """Pre-trade limits. Unset keys are no limit, except `allow_short` (false) and
    `pattern_day_trader` (true: the FINRA rule applies under $25,000 of equity)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_shares_per_symbol: StrictInt | None = Field(
        default=None, ge=1, le=MAX_SHARES, description=f"shares of one symbol held or working, 1 to {MAX_SHARES:,}")
    max_notional_per_symbol: FiniteFloat | None = Field(
        default=None, gt=0, le=MAX_CASH, description="dollars in one symbol, more than 0 and at most 1e12")
    max_gross_exposure: FiniteFloat | None = Field(default=None, gt=0, le=MAX_CASH,
                                                   description="dollars long plus short, more than 0 and at most 1e12")
    max_open_orders: StrictInt | None = Field(default=None, ge=1, le=MAX_ORDERS,
                                        description=f"working orders of the account, 1 to {MAX_ORDERS:,}")
    max_orders_per_minute: StrictInt | None = Field(default=None, ge=1, le=MAX_ORDERS,
                                              description=f"orders sent in any minute, 1 to {MAX_ORDERS:,}")
    price_collar_pct: FiniteFloat | None = Field(default=None, gt=0, le=MAX_COLLAR_PCT,
                                                 description="percent from the last price, more than 0 and at most "
                                                             f"{MAX_COLLAR_PCT:,.0f}")
    daily_loss_limit: FiniteFloat | None = Field(default=None, gt=0, le=MAX_CASH,
                                                 description="dollars lost since the day's start, more than 0 and at "
                                                             "most 1e12")
    no_entry_minutes_before_close: StrictInt | None = Field(default=None, ge=0, le=MAX_MINUTES,
                                                      description=f"minutes, 0 to {MAX_MINUTES}")
    allow_short: StrictBool | None = None
    pattern_day_trader: StrictBool | None = Field(default=None, description="refuse a 4th day trade in 5 sessions "
                                                                      "under $25,000 of equity")


def effective_limits(daemon: RiskConfig | None, session: RiskConfig | None) -> RiskLimits:
    """The daemon's keys, then the session's keys over them. A key given as null is its default
    (for a limit: none), so a session can lift one of the daemon's limits; absent keys inherit."""
    defaults = RiskLimits()
    values: dict[str, object] = {}
    for layer in (daemon, session):
        if layer is not None:
            for key in layer.model_fields_set:
                value = getattr(layer, key)
                values[key] = getattr(defaults, key) if value is None else value
    return RiskLimits(**values)  # type: ignore[arg-type]
