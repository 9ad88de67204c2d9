"""The tool-use loop: the model asks for the day's facts through read-only tools until it
answers, bounded in calls (`max_turns`) and tokens (`max_conversation_tokens`).

The model's tool calls are input like any other: the toolbox validates their arguments, and an
invalid call gets an error `tool_result` while the loop goes on. The last allowed call is made
with tools refused (`tool_choice: none`), so the model must answer with what it has. Every
call passes the usage ledger first (budgets) and is recorded after (tokens, cost).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.core.errors import AssistantError
from mismarterad.integrations.claude.client import MessagesClient
from mismarterad.integrations.claude.usage_ledger import UsageLedger

__all__ = ["CONVERSATION_SECS", "Answer", "ToolBox", "ToolCall", "converse"]

log = structlog.get_logger(component="claude")

CONVERSATION_SECS = 240.0  # a review or an answer, every call and retry included (mismarterctl waits 300 s)


class ToolBox(Protocol):
    def schemas(self) -> list[dict[str, Any]]:
        """The tools as the Messages API declares them (name, description, input_schema)."""
        ...

    def call(self, name: str, arguments: object) -> tuple[str, bool]:
        """The tool's JSON answer, and whether it is an error (unknown tool, bad arguments)."""
        ...


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # canonical JSON of what the model passed
    error: bool


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    tool_calls: tuple[ToolCall, ...]


def converse(client: MessagesClient, ledger: UsageLedger, tools: ToolBox, config: ClaudeConfig, *, purpose: str,
             system: str, question: str) -> Answer:
    """Ask `question` under `system`; AssistantError (BudgetExceededError) when no answer can be
    had within `max_turns`, `max_conversation_tokens` and CONVERSATION_SECS."""
    deadline = time.monotonic() + CONVERSATION_SECS
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    schemas = tools.schemas()
    used: list[ToolCall] = []
    input_tokens = output_tokens = 0
    cost = 0.0
    for turn in range(1, config.max_turns + 1):
        request: dict[str, Any] = {"model": config.model, "max_tokens": config.max_tokens, "system": system,
                                   "messages": messages, "tools": schemas}
        if turn == config.max_turns:
            request["tool_choice"] = {"type": "none"}
        if time.monotonic() >= deadline:
            raise AssistantError(f"no answer within {CONVERSATION_SECS:g} s")
        with ledger.call(len(json.dumps(request))):
            reply = client.create(deadline, **request)
            usage = ledger.record(purpose, *_tokens(reply.usage))
        input_tokens += usage.input_tokens
        output_tokens += usage.output_tokens
        cost += usage.cost_usd
        text = "\n\n".join(b.text for b in reply.content if b.type == "text").strip()
        uses = [b for b in reply.content if b.type == "tool_use"]
        if not uses:
            if not text:
                raise AssistantError(f"the model's reply had no text (stop_reason {reply.stop_reason})")
            if reply.stop_reason == "max_tokens":
                text += f"\n\n(cut off at max_tokens = {config.max_tokens})"
            return Answer(text, turn, input_tokens, output_tokens, cost, tuple(used))
        if turn == config.max_turns:
            break
        if input_tokens + output_tokens >= config.max_conversation_tokens:
            raise AssistantError(f"no answer within max_conversation_tokens = {config.max_conversation_tokens} "
                                 f"({input_tokens + output_tokens} used)")
        messages.append({"role": "assistant", "content": _assistant_blocks(reply.content)})
        results = []
        for use in uses:
            name = str(use.name)[:100]
            answer, error = tools.call(name, use.input)
            used.append(ToolCall(name, json.dumps(use.input, sort_keys=True, default=str)[:500], error))
            log.info("claude_tool_called", tool=name, error=error)
            results.append({"type": "tool_result", "tool_use_id": use.id, "content": answer, "is_error": error})
        messages.append({"role": "user", "content": results})
    raise AssistantError(f"no answer within max_turns = {config.max_turns} model calls")


def _assistant_blocks(content: Sequence[Any]) -> list[dict[str, Any]]:
    """The reply's text and tool-use blocks as the next request must repeat them."""
    blocks: list[dict[str, Any]] = []
    for b in content:
        if b.type == "text":
            blocks.append({"type": "text", "text": b.text})
        elif b.type == "tool_use":  # repeated as the API requires them: an object of arguments
            arguments = b.input if isinstance(b.input, dict) else {}
            blocks.append({"type": "tool_use", "id": str(b.id), "name": str(b.name), "input": arguments})
    return blocks


def _tokens(usage: Any) -> tuple[int, int]:
    """The reply's input and output tokens; AssistantError when it has none (a gateway's reply)."""
    counts = (getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None))
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        raise AssistantError("the reply's usage has no token counts: its cost cannot be counted")
    return counts[0], counts[1]  # type: ignore[return-value]
