"""RiskGuard: the risk state of one run, kept for the ExecutionManager.

It holds what the pure checks (services/risk_checks.py) cannot compute from one order: the
session's close rules, the day's starting equity and its loss halt, the orders sent in the last
minute, the day trades of the pattern-day-trader window, and every refusal made so far. All
times are market times of the bars (a step's end), so a backtest and a replayed day decide alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

import structlog

from mismarterad.core.orders import Fill, OrderRequest
from mismarterad.core.risk import PDT_MAX_DAY_TRADES, PDT_WINDOW_SESSIONS, LossHalt, Refusal, RiskCheck, RiskLimits
from mismarterad.services.day_trades import DayTradeTally
from mismarterad.services.risk_checks import Verdict, over_limit

__all__ = ["PdtHistory", "RiskGuard"]

log = structlog.get_logger(component="execution_manager")

ONE_MINUTE = timedelta(minutes=1)

#: The PDT window's trading days (today first) and the day trades made on them before this run.
PdtHistory = Callable[[date], tuple[Sequence[date], int]]


class RiskGuard:
    """Limits, windows and refusals of one run; used under the ExecutionManager's book lock."""

    def __init__(self, limits: RiskLimits, flatten_minutes_before_close: int = 0,
                 pdt_history: PdtHistory | None = None) -> None:
        self.limits = limits
        self._flatten_minutes = flatten_minutes_before_close
        self._pdt_history = pdt_history
        self.refusals: list[Refusal] = []
        self.counts: dict[RiskCheck, int] = {}
        self.loss_halts: list[LossHalt] = []
        self.loss_halt: LossHalt | None = None
        self._sent: deque[datetime] = deque()
        self._tally = DayTradeTally()
        self.day: date | None = None
        self.start_equity: float | None = None
        self.entries_closed_utc: datetime | None = None
        self._flatten_at: datetime | None = None
        self.no_entry_utc: datetime | None = None
        self._window: Sequence[date] = ()
        self._earlier_day_trades = 0
        self._flattened = False
        self._entries_canceled = False

    def history(self, day: date) -> tuple[Sequence[date], int]:
        """The PDT window of `day` and its earlier day trades; read before taking the book's lock
        (it may ask the database). If it cannot be read: the most the rule allows (logged)."""
        if not self.limits.pattern_day_trader or self._pdt_history is None:
            return (day,), 0
        try:
            window, earlier = self._pdt_history(day)
        except Exception as exc:  # noqa: BLE001 - a calendar or database error must not stop the session
            log.error("day_trade_history_failed", day=day.isoformat(), error=f"{type(exc).__name__}: {exc}",
                      assumed=PDT_MAX_DAY_TRADES, note="under $25,000 of equity, no entry is allowed today")
            return (day,), PDT_MAX_DAY_TRADES
        return tuple(window)[:PDT_WINDOW_SESSIONS], earlier

    def begin_session(self, day: date, close_utc: datetime | None, start_equity: float,
                      history: tuple[Sequence[date], int]) -> None:
        """A new trading session: the loss halt and the close rules start over."""
        self.day, self.start_equity, self.loss_halt, self._flattened = day, start_equity, None, False
        self._entries_canceled = False
        # entries end at close − N; with N = 0 at the close itself, where no order can fill but
        # the closing market-on-close (an entry sent then would only be canceled)
        self.entries_closed_utc = (close_utc - timedelta(minutes=self._flatten_minutes)
                                   if close_utc is not None else None)
        self._flatten_at = self.entries_closed_utc if self._flatten_minutes else None
        minutes = self.limits.no_entry_minutes_before_close
        self.no_entry_utc = close_utc - timedelta(minutes=minutes) if close_utc is not None and minutes else None
        self._window, self._earlier_day_trades = history

    # -- what the checks read --------------------------------------------------------------

    def orders_last_minute(self, now_utc: datetime) -> int:
        """Orders sent in (now − 1 minute, now]. Stamps are step ends, but an operator's flatten
        carries the daemon's clock, which may run ahead: so the whole window is scanned, not
        just its oldest end."""
        cutoff = now_utc - ONE_MINUTE
        if self._sent and min(self._sent) <= cutoff:
            self._sent = deque(t for t in self._sent if t > cutoff)
        return sum(1 for t in self._sent if t <= now_utc)

    def opened_today(self) -> frozenset[str]:
        """Symbols opened today and still held (day trades to come)."""
        return frozenset(self._tally.open_from(self.day)) if self.day is not None else frozenset()

    def day_trades(self, broker_count: int | None) -> int:
        """The window's day trades: this run's plus the earlier ones, or the broker's if larger."""
        ours = self._tally.count(self._window) + self._earlier_day_trades
        return max(ours, broker_count or 0)

    # -- what happened ---------------------------------------------------------------------

    def sent(self, request: OrderRequest) -> None:
        self._sent.append(request.submitted_utc)

    def filled(self, fill: Fill) -> None:
        if self.day is not None:
            self._tally.add(fill, self.day)

    def refused(self, request: OrderRequest, verdict: Verdict) -> Refusal:
        refusal = Refusal(request.submitted_utc, request.client_order_id, request.strategy, request.symbol,
                          request.side.value, request.quantity, verdict.check, verdict.limit, verdict.value,
                          verdict.detail)
        self.refusals.append(refusal)
        self.counts[verdict.check] = self.counts.get(verdict.check, 0) + 1
        return refusal

    def entries_to_cancel(self, now_utc: datetime) -> bool:
        """True once per session, at the first step ending at or after the no-entry time: the
        working entry orders are canceled then, so none fills inside the window."""
        if self.no_entry_utc is None or self._entries_canceled or now_utc < self.no_entry_utc:
            return False
        self._entries_canceled = True
        return True

    def flatten_due(self, now_utc: datetime) -> bool:
        """True once per session, at the first step ending at or after close − N minutes."""
        if self._flatten_at is None or self._flattened or now_utc < self._flatten_at:
            return False
        self._flattened = True
        return True

    def flattened(self) -> bool:
        """Whether this session's pre-close flatten has been made."""
        return self._flattened

    def next_rule_utc(self) -> datetime | None:
        """The earliest instant at which `flatten_due` or `entries_to_cancel` can still be true
        this session (None: neither can)."""
        times = [t for t, done in ((self._flatten_at, self._flattened), (self.no_entry_utc, self._entries_canceled))
                 if t is not None and not done]
        return min(times) if times else None

    def loss_watch_armed(self) -> bool:
        """Whether `loss_breached` can still halt this session (a limit, no halt yet)."""
        return (self.limits.daily_loss_limit is not None and self.start_equity is not None
                and self.loss_halt is None and self.day is not None)

    def loss_breached(self, equity: float, now_utc: datetime) -> LossHalt | None:
        """The halt, the first time this session the loss passes the limit (else None)."""
        limit = self.limits.daily_loss_limit
        if limit is None or self.start_equity is None or self.loss_halt is not None or self.day is None:
            return None
        if not over_limit(self.start_equity - equity, limit):
            return None
        self.loss_halt = LossHalt(now_utc, self.day, self.start_equity, equity, limit)
        self.loss_halts.append(self.loss_halt)
        log.warning("daily_loss_limit_breached", day=self.day.isoformat(), start_equity=round(self.start_equity, 2),
                    equity=round(equity, 2), loss=round(self.start_equity - equity, 2), limit=limit,
                    action="open orders canceled, positions flattened, entries refused until the next session "
                           "or resume")
        return self.loss_halt

    def lift_loss_halt(self, equity: float) -> None:
        """`resume` after a loss halt: entries again, and the day's loss counts from here."""
        if self.loss_halt is not None:
            self.loss_halt = None
            self.start_equity = equity
