"""The language model as the operator's explainer: a review of a finished session, and answers
about a day, both grounded in the day's report through read-only tools. It never trades: no
tool writes, and nothing it says reaches an order.

`review.md` is written beside the report's files, staged and renamed so it appears whole or
not at all. It holds the model's text, then the figures read from the report by our own code
(so a reader can check the model against them), the tools the model called, and the usage.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.config.session_config import SessionConfig
from mismarterad.core.claude_usage import UsageRecord, UsageStore
from mismarterad.core.clock import Clock
from mismarterad.core.errors import DataError, StorageError
from mismarterad.core.redaction import redact
from mismarterad.integrations.claude.client import CLAUDE_RETRY, MessagesClient
from mismarterad.integrations.claude.conversation import Answer, converse
from mismarterad.integrations.claude.credentials import load_anthropic_key
from mismarterad.integrations.claude.usage_ledger import UsageLedger
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.runs.app import App
from mismarterad.runs.day_tools import DayTools
from mismarterad.runs.report_facts import ReportFacts

__all__ = ["REVIEW_FILE", "REVIEW_PROMPT", "ROLE_PROMPT", "DayAssistant", "facts_of", "latest_report", "usage_line"]

REVIEW_FILE = "review.md"

ROLE_PROMPT = ("You explain one report of MisMartera, an unattended intraday US-equity trading daemon, to its "
         "operator. The report's facts are only available through the tools: call them, and never state a "
         "figure you did not read from a tool. After each figure, name the tool it came from in brackets, "
         "e.g. [pnl]. You cannot trade and must not tell the operator to place, change or cancel orders; "
         "point out what they should look at instead. Be brief and concrete; times are the exchange's.")

REVIEW_PROMPT = ("Review the session report {name}. Use these sections: What was traded and why; P&L; "
                 "Anything unusual (gaps, risk refusals, halts, restarts, reconnects, slippage against the bar); "
                 "Questions for the operator.")


@dataclass(frozen=True)
class DayAssistant:
    config: ClaudeConfig
    usage: UsageStore
    wall_clock: Clock
    environ: Mapping[str, str] = field(repr=False)  # holds the key
    on_usage: Callable[[UsageRecord], None] | None = None
    retry: RetryPolicy = CLAUDE_RETRY

    def review(self, facts: ReportFacts) -> Path:
        """Write `review.md` into the report folder; AssistantError when the model cannot answer."""
        answer = self._converse(facts, "review", REVIEW_PROMPT.format(name=facts.name))
        return _write_atomically(facts.folder / REVIEW_FILE, _review_text(facts, answer, self.config.model))

    def ask(self, facts: ReportFacts, question: str) -> Answer:
        return self._converse(facts, "ask", f"About the report {facts.name}: {question}")

    def _converse(self, facts: ReportFacts, purpose: str, question: str) -> Answer:
        ledger = UsageLedger(self.usage, self.config, self.wall_clock, self.on_usage)
        ledger.check(len(ROLE_PROMPT) + len(question))  # a spent budget says so before a missing key does
        key = load_anthropic_key(self.environ, self.config.credentials_file)
        client = MessagesClient(key, self.config, self.wall_clock, self.retry)
        return converse(client, ledger, DayTools(facts), self.config, purpose=purpose, system=ROLE_PROMPT,
                        question=question)


def facts_of(folder: Path, app: App, session: SessionConfig | None) -> ReportFacts:
    """The facts of a report folder: its files, the store's bars in the session's time zone, and
    the session config with its secrets hidden (None: not known, e.g. a folder given alone)."""
    tm = app.time_manager(session.exchange_group, session.asset_class) if session else app.time_manager()
    config = redact(session.model_dump(mode="json", by_alias=True, exclude_none=True)) if session else None
    return ReportFacts(folder, app.bar_store, tm.timezone, config)


def latest_report(reports_dir: Path) -> Path | None:
    """The newest report folder (by its date name) under `reports_dir`, or None."""
    folders = sorted(p for p in reports_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]") if p.is_dir())
    return folders[-1] if folders else None


def usage_line(answer: Answer, model: str) -> str:
    return (f"{answer.calls} model call(s) to {model}: {answer.input_tokens} input and {answer.output_tokens} "
            f"output tokens, ${answer.cost_usd:.4f}")


def _review_text(facts: ReportFacts, answer: Answer, model: str) -> str:
    """The review file: the model's text, then what our code reads from the report (the same
    files; a damaged one is a DataError, raised before anything is written)."""
    tools = DayTools(facts)
    pnl, risk = (json.loads(tools.call(name, {})[0]) for name in ("pnl", "risk"))
    for result in (pnl, risk):
        if "error" in result:
            raise DataError(f"{facts.folder}: {result['error']}")
    gaps = ", ".join(f"{r.get('date')} {r.get('symbol')} ({r['gaps']})" for r in facts.rows("validation.csv")
                     if r.get("gaps"))
    statuses: dict[str, int] = {}
    for order in facts.rows("orders.csv"):
        statuses[order.get("status", "")] = statuses.get(order.get("status", ""), 0) + 1
    run, halts = risk["run"], risk["summary"].get("loss_halts", []) if isinstance(risk["summary"], dict) else []
    lines = [f"# Session review: {facts.name}", "",
             f"> Written by the language model {model} from this report's files, through read-only tools. It "
             "explains; it does not trade. Its figures should match the ones below, which our own code read "
             "from the report.", "", answer.text, "", "## Figures from the report", "",
             f"- status: {run.get('status') or 'unknown'}" + (f" ({run['error']})" if run.get("error") else ""),
             f"- equity: {pnl.get('initial_equity')} to {pnl.get('final_equity')}; trades: {pnl.get('trades')}",
             f"- realized P&L by symbol: {_pairs(pnl['realized_pnl_by_symbol'])}",
             f"- orders by status: {_pairs(dict(sorted(statuses.items())))}",
             f"- risk refusals: {len(risk['refusals'])}; daily-loss halts: {len(halts) if isinstance(halts, list) else 0}",
             f"- days and symbols with gaps: {gaps or 'none'}",
             "", "## Tools the model called", ""]
    lines += [f"- {c.name} {c.arguments}" + (" (refused)" if c.error else "") for c in answer.tool_calls] or ["- none"]
    lines += ["", "## Usage", "", usage_line(answer, model), ""]
    return "\n".join(lines)


def _pairs(values: dict[str, object]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items()) or "none"


def _write_atomically(path: Path, text: str) -> Path:
    try:
        fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(staging, 0o644)
            os.replace(staging, path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StorageError(f"{path}: cannot write the review ({exc.strerror or type(exc).__name__})") from None
    return path
