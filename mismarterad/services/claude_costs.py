"""What a language-model call costs, and whether the budgets allow the next one.

Pure arithmetic on token counts and a price per million tokens. A call is allowed only when
what was already spent plus its worst case stays within both budgets: its input estimated
from the request's size at one token per `CHARS_PER_TOKEN` characters (more tokens than any
English or JSON text has), and its output at the full `max_tokens`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CHARS_PER_TOKEN", "Budgets", "budget_refusal", "call_cost", "worst_case_cost"]

CHARS_PER_TOKEN = 3
PER = 1_000_000


def call_cost(input_tokens: int, output_tokens: int, input_usd_per_mtok: float, output_usd_per_mtok: float) -> float:
    return (input_tokens * input_usd_per_mtok + output_tokens * output_usd_per_mtok) / PER


def worst_case_cost(request_chars: int, max_tokens: int, input_usd_per_mtok: float,
                    output_usd_per_mtok: float) -> float:
    return call_cost(math.ceil(request_chars / CHARS_PER_TOKEN), max_tokens, input_usd_per_mtok, output_usd_per_mtok)


@dataclass(frozen=True, slots=True)
class Budgets:
    daily_usd: float
    monthly_usd: float


def budget_refusal(spent_today: float, spent_this_month: float, worst_case: float, budgets: Budgets) -> str | None:
    """Why the call must not be sent, or None when both budgets have room for its worst case."""
    for name, spent, limit in (("daily", spent_today, budgets.daily_usd),
                               ("monthly", spent_this_month, budgets.monthly_usd)):
        if limit <= 0:
            return f"the {name} budget is 0: no calls are made"
        if spent + worst_case > limit:
            return (f"the {name} budget of ${limit:.2f} has ${max(0.0, limit - spent):.4f} left, and this call "
                    f"may cost up to ${worst_case:.4f}")
    return None
