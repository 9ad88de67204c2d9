"""The [claude] table: defaults, bounds, and a model that must have a price."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mismarterad.config.claude_config import DEFAULT_MODEL, ClaudeConfig


def test_the_defaults_are_priced_and_spend_little() -> None:
    config = ClaudeConfig()
    assert config.model == DEFAULT_MODEL and config.price.input_usd_per_mtok > 0
    assert (config.review, config.daily_budget_usd, config.monthly_budget_usd) == (False, 1.0, 20.0)


@pytest.mark.parametrize("raw, field", [
    ({"model": "claude-x"}, "has no price"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"daily_budget_usd": -1}, "daily_budget_usd"),
    ({"daily_budget_usd": float("inf")}, "daily_budget_usd"),
    ({"review": "yes"}, "review"),
    ({"max_turns": 0}, "max_turns"),
    ({"prices": {"m": {"input_usd_per_mtok": 1}}}, "output_usd_per_mtok"),
    ({"api_key": "sk-ant"}, "api_key"),
])
def test_bad_values_name_their_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ClaudeConfig.model_validate(raw)


def test_an_own_price_table_replaces_the_default_and_a_zero_budget_is_allowed() -> None:
    config = ClaudeConfig.model_validate({"model": "mine", "daily_budget_usd": 0,
                                          "prices": {"mine": {"input_usd_per_mtok": 0.5, "output_usd_per_mtok": 2}}})
    assert list(config.prices) == ["mine"] and config.price.output_usd_per_mtok == 2
