"""The Messages API through the official `anthropic` SDK: one call, retried by the project's
retry policy on 429, 529 (overloaded), other 5xx and connection failures, bounded in time.

The SDK's own retries are off (max_retries=0) so that every attempt is ours to count and to
bound. Its base URL follows its own `ANTHROPIC_BASE_URL`, so a local stand-in can answer.
Errors become AssistantError with the status and the error type only: never the request,
whose headers carry the key.
"""

from __future__ import annotations

from typing import Any

import anthropic
from anthropic.types import Message

from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.core.clock import Clock
from mismarterad.core.errors import AssistantError
from mismarterad.integrations.claude.credentials import AnthropicKey
from mismarterad.integrations.retry_policy import RetryPolicy

__all__ = ["CLAUDE_RETRY", "MessagesClient"]

# a review runs off the trading threads and an ask waits for its answer: minutes, not the
# venue calls' five seconds
CLAUDE_RETRY = RetryPolicy(max_attempts=5, initial_backoff_secs=1.0, max_backoff_secs=16.0, jitter_secs=0.5,
                           max_total_secs=180.0, max_real_secs=180.0)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, anthropic.APIConnectionError):  # a timeout is one
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


class MessagesClient:
    def __init__(self, key: AnthropicKey, config: ClaudeConfig, clock: Clock, retry: RetryPolicy = CLAUDE_RETRY) -> None:
        self._sdk = anthropic.Anthropic(api_key=key.value, max_retries=0, timeout=config.timeout_secs)
        self._config, self._clock, self._retry = config, clock, retry

    @property
    def base_url(self) -> str:
        return str(self._sdk.base_url)

    def create(self, **request: Any) -> Message:
        """`messages.create(**request)`, tried again while the failure is transient."""
        try:
            return self._retry.call(lambda: self._sdk.messages.create(**request), self._clock,
                                    what="claude_messages", transient=_transient)
        except anthropic.APITimeoutError:
            raise AssistantError(f"no answer from the Messages API at {self.base_url} within "
                                 f"{self._config.timeout_secs:g} s (timeout_secs), after retries") from None
        except anthropic.APIConnectionError:
            raise AssistantError(f"cannot reach the Messages API at {self.base_url}") from None
        except anthropic.APIStatusError as exc:
            kind = _error_type(exc.body)
            raise AssistantError(f"the Messages API answered HTTP {exc.status_code}"
                                 + (f" ({kind})" if kind else "")) from None


def _error_type(body: object) -> str:
    """The `error.type` of an Anthropic error body (rate_limit_error, overloaded_error, ...)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return error["type"][:60]
    return ""
