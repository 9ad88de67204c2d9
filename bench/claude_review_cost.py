"""What a session review costs at the default settings, from the sizes of the real requests.

Run: .venv/bin/python bench/claude_review_cost.py REPORT_DIR [--session-config FILE]

No model is called. The script builds the requests a review of REPORT_DIR sends when the model
reads each day tool once (pnl, trades, orders, quality, risk: one per call, the conversation
growing by each tool's real answer), then answers. Input tokens are estimated from each
request's JSON at 4 characters per token (English and JSON text run 3.5 to 4.5); output is
assumed at 100 tokens per tool-calling turn and 800 for the review. It prints each call's
size and the day's cost at the [claude] defaults' price, and the worst case the budget
reserves (3 characters per token, max_tokens of output).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.config.session_config import load_session_config
from mismarterad.core.redaction import redact
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from mismarterad.runs.day_assistant import ROLE_PROMPT, REVIEW_PROMPT
from mismarterad.runs.day_tools import DayTools
from mismarterad.runs.report_facts import ReportFacts
from mismarterad.services.claude_costs import call_cost, worst_case_cost

CHARS_PER_TOKEN_TYPICAL = 4
TOOLS_READ = ("pnl", "trades", "orders", "quality", "risk")
TOOL_TURN_OUTPUT, REVIEW_OUTPUT = 100, 800


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("report", type=Path)
    parser.add_argument("--session-config", type=Path, default=None)
    args = parser.parse_args()
    config = ClaudeConfig()
    session = load_session_config(args.session_config) if args.session_config else None
    facts = ReportFacts(args.report, MemoryBarStore(), ZoneInfo("America/New_York"),
                        redact(session.model_dump(mode="json", by_alias=True, exclude_none=True)) if session else None)
    tools = DayTools(facts)
    messages: list[dict[str, object]] = [{"role": "user", "content": REVIEW_PROMPT.format(name=facts.name)}]
    price = config.price
    total_in = total_out = 0
    worst = 0.0
    print(f"{'call':<6}{'request chars':>15}{'input tokens':>14}{'output tokens':>15}")
    for n, name in enumerate((*TOOLS_READ, None), start=1):
        request = {"model": config.model, "max_tokens": config.max_tokens, "system": ROLE_PROMPT, "messages": messages,
                   "tools": tools.schemas()}
        chars = len(json.dumps(request))
        tokens_in, tokens_out = chars // CHARS_PER_TOKEN_TYPICAL, REVIEW_OUTPUT if name is None else TOOL_TURN_OUTPUT
        total_in, total_out = total_in + tokens_in, total_out + tokens_out
        worst += worst_case_cost(chars, config.max_tokens, price.input_usd_per_mtok, price.output_usd_per_mtok)
        print(f"{n:<6}{chars:>15}{tokens_in:>14}{tokens_out:>15}")
        if name is not None:
            answer, _ = tools.call(name, {})
            messages += [{"role": "assistant", "content": [{"type": "tool_use", "id": f"t{n}", "name": name,
                                                            "input": {}}]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{n}",
                                                       "content": answer}]}]
    cost = call_cost(total_in, total_out, price.input_usd_per_mtok, price.output_usd_per_mtok)
    print(f"review of {facts.name}: {total_in} input + {total_out} output tokens = ${cost:.4f} at {config.model} "
          f"(${price.input_usd_per_mtok:g}/${price.output_usd_per_mtok:g} per million); the budget reserves up to "
          f"${worst:.4f}; the default daily budget is ${config.daily_budget_usd:g}")


if __name__ == "__main__":
    main()
