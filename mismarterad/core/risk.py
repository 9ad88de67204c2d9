"""Risk limits, the names of the pre-trade checks, and what a refusal records.

The values here are plain frozen data: the session config and the daemon's `[risk]` table are
turned into one `RiskLimits` at the edge (config/risk_config.py), the pure checks
(services/risk_checks.py) read it, and the ExecutionManager keeps the refusals and the
daily-loss halt it produced. `RiskCheck` is the fixed set of check names: the `reason` of a
refused order, the `check` column of `risk.csv` and the `check` label of
`mismarterad_risk_refusals_total`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["PDT_EQUITY_MINIMUM", "PDT_MAX_DAY_TRADES", "PDT_WINDOW_SESSIONS", "LossHalt", "Refusal", "RiskCheck",
           "RiskLimits"]

PDT_EQUITY_MINIMUM = 25_000.0  # FINRA 4210: under this equity a margin account may not day-trade freely
PDT_MAX_DAY_TRADES = 3  # the fourth day trade within the window is the one refused
PDT_WINDOW_SESSIONS = 5  # trading sessions, today included


class RiskCheck(enum.StrEnum):
    """Every check that can refuse an order, in the order they are tried."""

    HALTED = "halted"  # operator halt, or the day-run is being settled
    BAR_PASSED = "bar_passed"  # decided on a bar that passed before the day-run started (a live account)
    FLATTEN_WINDOW = "flatten_minutes_before_close"  # entries after the pre-close flatten
    NO_ENTRY_WINDOW = "no_entry_minutes_before_close"
    DAILY_LOSS = "daily_loss_limit"
    PATTERN_DAY_TRADER = "pattern_day_trader"
    ALLOW_SHORT = "allow_short"
    MAX_OPEN_ORDERS = "max_open_orders"
    MAX_ORDERS_PER_MINUTE = "max_orders_per_minute"
    PRICE_COLLAR = "price_collar_pct"
    MAX_SHARES = "max_shares_per_symbol"
    MAX_NOTIONAL = "max_notional_per_symbol"
    MAX_GROSS_EXPOSURE = "max_gross_exposure"
    BUYING_POWER = "buying_power"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits of one run. None (or 0 for the minute windows) is "no limit"; the defaults are
    buying power checked, no shorting, and the pattern-day-trader rule (which acts only under
    $25,000 of equity, so never with the backtests' default $1,000,000)."""

    max_shares_per_symbol: int | None = None
    max_notional_per_symbol: float | None = None
    max_gross_exposure: float | None = None
    max_open_orders: int | None = None
    max_orders_per_minute: int | None = None
    price_collar_pct: float | None = None
    daily_loss_limit: float | None = None
    no_entry_minutes_before_close: int = 0
    allow_short: bool = False
    pattern_day_trader: bool = True  # only ever refuses with equity under PDT_EQUITY_MINIMUM


@dataclass(frozen=True, slots=True)
class Refusal:
    """One order refused before it was journaled or sent: a row of `risk.csv`."""

    ts_utc: datetime
    client_order_id: str
    strategy: str
    symbol: str
    side: str
    quantity: int
    check: RiskCheck
    limit: float | None  # the configured limit the order would pass (None: not a number)
    value: float | None  # what the order would make it (None: not a number)
    detail: str  # one line for people: what was asked and why it was refused


@dataclass(frozen=True, slots=True)
class LossHalt:
    """The daily loss limit was passed: entries are refused until the next session or resume."""

    ts_utc: datetime
    day: date
    start_equity: float
    equity: float
    limit: float

    @property
    def loss(self) -> float:
        return self.start_equity - self.equity
