"""Every language-model call counted before and after it is made: the budgets are checked
against its worst case before it is sent, and its real tokens and cost are stored after.

Calls of one process go one at a time through `call`, whichever ledger they use (a review and
asks on other threads never race past a budget together). Budgets count UTC days and months of the wall clock, as the provider bills.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import structlog

from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.core.clock import Clock
from mismarterad.core.errors import BudgetExceededError
from mismarterad.core.claude_usage import UsageRecord, UsageStore
from mismarterad.services.claude_costs import Budgets, budget_refusal, call_cost, worst_case_cost

__all__ = ["UsageLedger"]

log = structlog.get_logger(component="claude_usage")

_ONE_CALL_AT_A_TIME = threading.Lock()  # of the process: each call checks what the last one spent


class UsageLedger:
    def __init__(self, repository: UsageStore, config: ClaudeConfig, wall_clock: Clock,
                 on_usage: Callable[[UsageRecord], None] | None = None) -> None:
        self._repository, self._config, self._clock, self._on_usage = repository, config, wall_clock, on_usage

    def worst_case(self, request_chars: int) -> float:
        price = self._config.price
        return worst_case_cost(request_chars, self._config.max_tokens, price.input_usd_per_mtok,
                               price.output_usd_per_mtok)

    def check(self, request_chars: int) -> None:
        """BudgetExceededError when a call of this size could pass a budget now."""
        now = self._clock.now().astimezone(UTC)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        month = day.replace(day=1)
        refusal = budget_refusal(self._repository.spent_usd(day, day + timedelta(days=1)),
                                 self._repository.spent_usd(month, _next_month(month)), self.worst_case(request_chars),
                                 Budgets(self._config.daily_budget_usd, self._config.monthly_budget_usd))
        if refusal is not None:
            log.warning("claude_call_refused", reason=refusal)
            raise BudgetExceededError(f"not sent: {refusal} (see mismarterad claude usage)")

    @contextmanager
    def call(self, request_chars: int) -> Iterator[None]:
        """Hold the process's one call slot for one call, checked against the budgets first."""
        with _ONE_CALL_AT_A_TIME:
            self.check(request_chars)
            yield

    def record(self, purpose: str, input_tokens: int, output_tokens: int) -> UsageRecord:
        price = self._config.price
        usage = UsageRecord(self._clock.now().astimezone(UTC), self._config.model, purpose, input_tokens,
                            output_tokens, call_cost(input_tokens, output_tokens, price.input_usd_per_mtok,
                                                     price.output_usd_per_mtok))
        self._repository.record(usage)
        log.info("claude_call", purpose=purpose, model=usage.model, input_tokens=input_tokens,
                 output_tokens=output_tokens, cost_usd=round(usage.cost_usd, 6))
        if self._on_usage is not None:
            self._on_usage(usage)
        return usage


def _next_month(first: datetime) -> datetime:
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)
