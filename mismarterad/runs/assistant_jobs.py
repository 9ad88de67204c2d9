"""The language model's work inside the daemon: a review of each finished session, written on
its own thread once the report is on disk, and the operator's questions from the socket.

Nothing here touches a session: it reads report folders, the bar store and the usage table.
A failure (no key, a budget, the API down) skips the review with a warning and a metric;
trading never waits for it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

import structlog

from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.config.session_config import SessionConfig
from mismarterad.core.errors import MismarteradError, StateError
from mismarterad.integrations.claude.conversation import Answer
from mismarterad.core.claude_usage import UsageRecord
from mismarterad.runs.app import App
from mismarterad.runs.day_assistant import DayAssistant, facts_of, latest_report

__all__ = ["AssistantCounters", "AssistantJobs"]

log = structlog.get_logger(component="claude")


class AssistantCounters(Protocol):
    """Where the reviews and the model's calls are counted (the daemon's metrics)."""

    def count_claude_call(self, purpose: str, input_tokens: int, output_tokens: int, cost_usd: float) -> None: ...

    def count_claude_review(self, result: str) -> None: ...


class AssistantJobs:
    def __init__(self, app: App, metrics: AssistantCounters, reports_dir: Path) -> None:
        self._app, self._metrics, self._reports_dir = app, metrics, reports_dir

    def review_later(self, claude: ClaudeConfig | None, session: SessionConfig, folder: Path) -> None:
        """With `[claude] review = true`, start writing the folder's review.md on a thread of its own."""
        if claude is None or not claude.review:
            return
        threading.Thread(target=self._review, args=(claude, session, folder), name="claude-review",
                         daemon=True).start()

    def ask(self, claude: ClaudeConfig | None, session: SessionConfig, question: str) -> tuple[str, Answer]:
        """The answer about the newest report folder, and that folder's name."""
        if claude is None:
            raise StateError("ask is off: the daemon config has no [claude] table")
        folder = latest_report(self._reports_dir)
        if folder is None:
            raise StateError("no report yet: sessions write one at close + lag")
        return folder.name, self._assistant(claude).ask(facts_of(folder, self._app, session), question)

    def _review(self, claude: ClaudeConfig, session: SessionConfig, folder: Path) -> None:
        try:
            path = self._assistant(claude).review(facts_of(folder, self._app, session))
        except MismarteradError as exc:
            self._metrics.count_claude_review("skipped")
            log.warning("review_skipped", folder=str(folder), reason=str(exc), note="trading is not affected")
        except Exception as exc:  # noqa: BLE001 - a review never takes the daemon down
            self._metrics.count_claude_review("skipped")
            log.error("review_failed", folder=str(folder), error=type(exc).__name__)
        else:
            self._metrics.count_claude_review("written")
            log.info("review_written", path=str(path))

    def _assistant(self, claude: ClaudeConfig) -> DayAssistant:
        return DayAssistant(claude, self._app.claude_usage_repository, self._app.wall_clock, os.environ,
                            self._count)

    def _count(self, usage: UsageRecord) -> None:
        self._metrics.count_claude_call(usage.purpose, usage.input_tokens, usage.output_tokens, usage.cost_usd)
