"""The `[claude]` table of the daemon's TOML: the language model that explains a day, never trades.

`mismarterad review` and `mismarterad ask` read the same table from `--config FILE`; without a
file they use these defaults. The key is never a config key (ANTHROPIC_API_KEY, a mode-0600
file, or systemd's credentials directory: integrations/claude/credentials.py). Prices are USD
per million tokens, per model; a model without a price is refused, since its calls could not
be counted against the budgets. A budget of 0 means no calls at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from mismarterad.config.bounds import FiniteFloat

__all__ = ["DEFAULT_MODEL", "ClaudeConfig", "ModelPrice"]

StrictBool = Annotated[bool, Strict()]

DEFAULT_MODEL = "claude-sonnet-4-5"


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_usd_per_mtok: FiniteFloat = Field(ge=0, le=10_000, description="USD per million input tokens")
    output_usd_per_mtok: FiniteFloat = Field(ge=0, le=10_000, description="USD per million output tokens")


# list prices when this table was written; the operator's own table replaces it whole
DEFAULT_PRICES = {
    "claude-sonnet-4-5": ModelPrice(input_usd_per_mtok=3.0, output_usd_per_mtok=15.0),
    "claude-haiku-4-5": ModelPrice(input_usd_per_mtok=1.0, output_usd_per_mtok=5.0),
    "claude-opus-4-1": ModelPrice(input_usd_per_mtok=15.0, output_usd_per_mtok=75.0),
}


class ClaudeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=100, description="model id, priced in prices")
    max_tokens: int = Field(default=1500, ge=1, le=64_000, description="output tokens per call")
    daily_budget_usd: FiniteFloat = Field(default=1.0, ge=0, le=100_000, description="UTC day; 0: no calls")
    monthly_budget_usd: FiniteFloat = Field(default=20.0, ge=0, le=1_000_000, description="UTC month; 0: no calls")
    review: StrictBool = Field(default=False, description="write review.md after each session")
    max_turns: int = Field(default=8, ge=1, le=30, description="model calls per review or question")
    max_conversation_tokens: int = Field(default=200_000, ge=1000, le=5_000_000,
                                         description="input + output tokens per review or question")
    timeout_secs: FiniteFloat = Field(default=60.0, gt=0, le=600, description="seconds per call")
    credentials_file: Path | None = Field(default=None, description="file with ANTHROPIC_API_KEY=..., mode 0600")
    prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES),
                                          description="USD per million tokens, per model id")

    @model_validator(mode="after")
    def _priced(self) -> ClaudeConfig:
        if self.model not in self.prices:
            raise ValueError(f"model {self.model!r} has no price: add a [claude.prices.\"{self.model}\"] table "
                             f"with input_usd_per_mtok and output_usd_per_mtok")
        return self

    @property
    def price(self) -> ModelPrice:
        return self.prices[self.model]
