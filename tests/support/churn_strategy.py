"""A test-only strategy that trades every few minutes, so a replayed day has order flow to
break: at every `every_minutes`-th minute of the regular session it buys `quantity` while flat
and sells what it holds otherwise. Optionally it rests a buy limit far below the market at each
time of `resting_at` (New York), an order that stays open until the close flatten cancels it (the
reconciliation tests cancel it by hand). It stops deciding `quiet_minutes` before the close; in the
`end_long_minutes` before that it only buys (so the close flatten has a position to close).

Every decision is a function of the bar's time and the strategy's own position, so a day-run
resumed after a crash, replaying the day's bars, makes the same decisions in the same order.

Named in a session config as {"file": "<this file>", "class": "Churn", "params": {...}}.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from mismarterad.core.market_data import Bar
from mismarterad.strategies.base import Strategy

__all__ = ["Churn"]


class Churn(Strategy):
    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        every_minutes: int = Field(default=3, ge=1)
        quantity: int = Field(default=10, ge=1)
        first_minute: int = Field(default=1, ge=0, description="minutes after the open of the first decision")
        quiet_minutes: int = Field(default=15, ge=0, description="no decisions in the last N minutes")
        resting_limit_pct: float | None = Field(default=None, gt=0, lt=50)
        resting_at: list[str] = Field(default_factory=lambda: ["10:00"], description="New York HH:MM, one order each")
        end_long_minutes: int = Field(default=0, ge=0, description="the last N minutes of decisions only buy")

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._rested: set[tuple[str, str]] = set()

    def on_session_start(self) -> None:
        self._rested = set()

    def on_bar(self, symbol: str, interval: str, bar: Bar) -> None:
        session = self.session()
        if session.regular_open is None or session.regular_close is None or self.is_last_bar(bar):
            return
        start = bar.start_utc
        opened = session.regular_open
        if start < opened or start >= session.regular_close - timedelta(minutes=self.params.quiet_minutes):
            return
        local = start.astimezone(opened.tzinfo)
        p = self.params
        for at in p.resting_at if p.resting_limit_pct is not None else ():
            if (symbol, at) not in self._rested and f"{local:%H:%M}" >= at:
                self._rested.add((symbol, at))
                self.buy(symbol, p.quantity, limit=round(bar.close * (1 - p.resting_limit_pct / 100), 2))
        minute = int((start - opened).total_seconds() // 60)
        if minute < p.first_minute or (minute - p.first_minute) % p.every_minutes:
            return
        held = self.position(symbol)
        closing = session.regular_close - timedelta(minutes=p.quiet_minutes + p.end_long_minutes)
        if start >= closing:  # hold a position into the close flatten
            if held <= 0:
                self.buy(symbol, p.quantity)
        elif held > 0:
            self.sell(symbol, held)
        else:
            self.buy(symbol, p.quantity)
