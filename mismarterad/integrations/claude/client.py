"""The Messages API through the official `anthropic` SDK: one call, retried by the project's
retry policy on 429, 529 (overloaded), other 5xx and connection failures, bounded in time.

The SDK's own retries are off (max_retries=0) so that every attempt is ours to count and to
bound. A timeout is not retried: the call may have run, and the provider may bill it. Its base URL follows its own `ANTHROPIC_BASE_URL`, so a local stand-in can answer.
Errors become AssistantError with the status and the error type only: never the request,
whose headers carry the key.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import structlog

from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.core.clock import Clock
from mismarterad.core.errors import AssistantError
from mismarterad.integrations.claude.credentials import AnthropicKey
from mismarterad.integrations.retry_policy import RetryPolicy

if TYPE_CHECKING:
    from anthropic.types import Message

__all__ = ["CLAUDE_RETRY", "MessagesClient"]

log = structlog.get_logger(component="claude")

# a review runs off the trading threads and an ask waits for its answer: minutes, not the
# venue calls' five seconds
CLAUDE_RETRY = RetryPolicy(max_attempts=5, initial_backoff_secs=1.0, max_backoff_secs=16.0, jitter_secs=0.5,
                           max_total_secs=180.0, max_real_secs=180.0)


def _transient(exc: BaseException) -> bool:
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):  # it may have run, and be billed: not asked again
        return False
    if isinstance(exc, anthropic.APIConnectionError):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


class MessagesClient:
    def __init__(self, key: AnthropicKey, config: ClaudeConfig, clock: Clock, retry: RetryPolicy = CLAUDE_RETRY) -> None:
        import anthropic  # here, not at module level: the SDK takes 1.5 s to import, and every daemon
        # (re)start, which is every resume after a crash, would pay it before trading again

        self._sdk = anthropic.Anthropic(api_key=key.value, max_retries=0, timeout=config.timeout_secs)
        self._config, self._clock, self._retry = config, clock, retry

    @property
    def base_url(self) -> str:
        return str(self._sdk.base_url)

    def create(self, deadline: float, **request: Any) -> Message:
        """`messages.create(**request)`, tried again while the failure is transient, and not
        after `deadline` (time.monotonic()): each attempt's timeout is cut to what is left."""
        import anthropic

        def attempt() -> Message:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssistantError("no answer in the time a review or question may take")
            return self._sdk.messages.create(**request, timeout=min(self._config.timeout_secs, left))

        try:
            return self._retry.call(attempt, self._clock, what="claude_messages", transient=_transient,
                                    deadline=deadline)
        except anthropic.APITimeoutError:
            log.warning("claude_call_timed_out", note="not retried: the provider may still bill it, and its tokens "
                                                      "are unknown, so it is not in the usage table")
            raise AssistantError(f"no answer from the Messages API at {self.base_url} within "
                                 f"{self._config.timeout_secs:g} s (timeout_secs)") from None
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
