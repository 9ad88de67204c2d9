"""`ask QUESTION...` through the control API, against a fake DaemonControl: the question is
checked before the daemon is asked, and budget and model failures get their own codes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from mismarterad.cli.control_api import ControlApi
from mismarterad.core.errors import AssistantError, BudgetExceededError, StateError
from mismarterad.daemon.control_server import CommandError
from mismarterad.integrations.claude.conversation import Answer, ToolCall


@dataclass
class FakeDaemon:
    failure: Exception | None = None
    asked: list[str] = field(default_factory=list)

    def ask(self, question: str) -> tuple[str, Answer]:
        self.asked.append(question)
        if self.failure is not None:
            raise self.failure
        return "2011-01-04", Answer("SPY lost $20 [trades].", 2, 3000, 150, 0.01125,
                                    (ToolCall("trades", '{"symbol": "SPY"}', False),))


def test_the_words_are_the_question_and_the_answer_says_its_report_and_usage() -> None:
    daemon = FakeDaemon()
    reply = ControlApi(daemon).handle("ask", {"words": ["why", "did", "SPY", "lose?"]})  # type: ignore[arg-type]
    assert daemon.asked == ["why did SPY lose?"]
    assert reply == {"report": "2011-01-04", "answer": "SPY lost $20 [trades].", "calls": 2, "input_tokens": 3000,
                     "output_tokens": 150, "cost_usd": 0.01125, "tools": ["trades"]}


@pytest.mark.parametrize("words, message", [([], "the question is empty"),
                                            (["bell\x07"], "control characters"),
                                            (["x" * 2001], "at most 2000")])
def test_a_bad_question_is_refused_before_the_daemon_is_asked(words: list[str], message: str) -> None:
    daemon = FakeDaemon()
    with pytest.raises(CommandError, match=message) as raised:
        ControlApi(daemon).handle("ask", {"words": words})  # type: ignore[arg-type]
    assert raised.value.code == "bad_request" and daemon.asked == []


@pytest.mark.parametrize("failure, code", [(BudgetExceededError("not sent: the daily budget is 0"), "budget"),
                                           (AssistantError("the Messages API answered HTTP 529"),
                                            "assistant_unavailable"),
                                           (StateError("ask is off: the daemon config has no [claude] table"),
                                            "refused")])
def test_failures_keep_their_reason_and_get_their_code(failure: Exception, code: str) -> None:
    with pytest.raises(CommandError) as raised:
        ControlApi(FakeDaemon(failure)).handle("ask", {"words": ["why?"]})  # type: ignore[arg-type]
    assert raised.value.code == code and str(failure) in str(raised.value)
