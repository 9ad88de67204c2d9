"""`mismarterad review`, `mismarterad ask` and `mismarterad claude usage`: the language model's
review of a report, its answers about one, and what its calls cost.

They read the `[claude]` table (and the session config it names) from `--config FILE`, a daemon
TOML, or use the defaults of config/claude_config.py. Exit codes beyond the usual: 69 the
Messages API could not answer, 75 a budget refused the call before it was sent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mismarterad.cli.support import EX_USAGE, arg_date, print_table, reversed_range
from mismarterad.core.questions import bad_question

if TYPE_CHECKING:  # the handlers import these themselves, so `--help` stays light
    from mismarterad.config.claude_config import ClaudeConfig
    from mismarterad.config.session_config import SessionConfig
    from mismarterad.runs.app import App
    from mismarterad.runs.day_assistant import DayAssistant

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad review 2011-01-04 --config /etc/mismarterad/mismarterad.toml
  mismarterad review --report-dir out/spy --session-config session_configs/spy_2011_backtest.json
  mismarterad ask "why did TSLA lose money today?"
  mismarterad ask --date 2011-01-04 "which orders were refused, and why?"
  mismarterad claude usage --from 2026-12-01 --to 2026-12-31

The key comes from ANTHROPIC_API_KEY, the [claude] credentials_file (mode 0600), or
$CREDENTIALS_DIRECTORY/anthropic. Exit codes: 69 the Messages API could not answer,
75 a daily or monthly budget refused the call (nothing was sent), 78 bad config or no key."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    review = sub.add_parser("review", help="write review.md for a report folder with the language model",
                            epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    review.add_argument("day", nargs="?", type=arg_date, metavar="DATE", help="a daemon day (its report folder)")
    _report_arguments(review)
    review.set_defaults(func=_review)
    ask = sub.add_parser("ask", help="ask the language model about a report", epilog=EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    ask.add_argument("question", metavar="QUESTION")
    ask.add_argument("--date", dest="day", type=arg_date, default=None, metavar="YYYY-MM-DD",
                     help="the daemon day to ask about (default: the newest report)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    _report_arguments(ask)
    ask.set_defaults(func=_ask)
    claude = sub.add_parser("claude", help="the language model's usage", epilog=EXAMPLES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    claude_sub = claude.add_subparsers(dest="claude_command", required=True, metavar="COMMAND")
    usage = claude_sub.add_parser("usage", help="tokens and cost per UTC day and purpose")
    usage.add_argument("--from", dest="start", type=arg_date, default=None, metavar="YYYY-MM-DD",
                       help="first UTC day (default: the first of this month)")
    usage.add_argument("--to", dest="end", type=arg_date, default=None, metavar="YYYY-MM-DD",
                       help="last UTC day, inclusive (default: today)")
    usage.set_defaults(func=_usage)


def _report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report-dir", type=Path, default=None, metavar="DIR", help="a report folder (any backtest's)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="daemon TOML: its [claude] table and session config")
    p.add_argument("--session-config", type=Path, default=None, metavar="FILE",
                   help="the session config the report ran with (default: the daemon config's)")


def _setup(args: argparse.Namespace, app: App) -> tuple[ClaudeConfig, SessionConfig | None, Path | None]:
    from mismarterad.config.claude_config import ClaudeConfig
    from mismarterad.config.daemon_config import load_daemon_config
    from mismarterad.config.session_config import load_session_config
    from mismarterad.runs.day_assistant import latest_report

    claude, session_path = ClaudeConfig(), args.session_config
    if args.config is not None:
        daemon = load_daemon_config(args.config)
        claude = daemon.claude or claude
        session_path = session_path or daemon.session_config
    session = load_session_config(session_path) if session_path is not None else None
    if args.report_dir is not None:
        return claude, session, args.report_dir
    reports = app.settings.state_dir / "reports"
    return claude, session, (reports / args.day.isoformat() if args.day else latest_report(reports))


def _assistant(app: App, claude: ClaudeConfig) -> DayAssistant:
    from mismarterad.runs.day_assistant import DayAssistant

    return DayAssistant(claude, app.claude_usage_repository, app.wall_clock, os.environ)


def _review(args: argparse.Namespace, app: App) -> int:
    if (args.day is None) == (args.report_dir is None):
        print("mismarterad: error: give a DATE or --report-dir DIR (one of them)", file=sys.stderr)
        return EX_USAGE
    from mismarterad.runs.day_assistant import facts_of

    claude, session, folder = _setup(args, app)
    assert folder is not None
    print(_assistant(app, claude).review(facts_of(folder, app, session)))
    return 0


def _ask(args: argparse.Namespace, app: App) -> int:
    problem = bad_question(args.question)
    if problem is not None:
        print(f"mismarterad: error: QUESTION: {problem}", file=sys.stderr)
        return EX_USAGE
    if args.day is not None and args.report_dir is not None:
        print("mismarterad: error: give --date or --report-dir, not both", file=sys.stderr)
        return EX_USAGE
    from mismarterad.runs.day_assistant import facts_of, usage_line

    claude, session, folder = _setup(args, app)
    if folder is None:
        print(f"mismarterad: no report under {app.settings.state_dir / 'reports'} yet (sessions write one at "
              f"close + lag); name one with --report-dir", file=sys.stderr)
        return 74

    reply = _assistant(app, claude).ask(facts_of(folder, app, session), args.question)
    if args.json:
        print(json.dumps({"report": str(folder), "answer": reply.text, "calls": reply.calls,
                          "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
                          "cost_usd": round(reply.cost_usd, 6),
                          "tools": [{"name": c.name, "arguments": c.arguments, "error": c.error}
                                    for c in reply.tool_calls]}, indent=2, sort_keys=True))
    else:
        print(f"{reply.text}\n\n(about {folder}; tools: {', '.join(c.name for c in reply.tool_calls) or 'none'}; "
              f"{usage_line(reply, claude.model)})")
    return 0


def _usage(args: argparse.Namespace, app: App) -> int:
    today = app.wall_clock.now().astimezone(UTC).date()
    start: date = args.start or today.replace(day=1)
    end: date = args.end or today
    if (err := reversed_range(start, end)) is not None:
        return err
    totals = app.claude_usage_repository.totals(datetime.combine(start, time(0), UTC),
                                                datetime.combine(end + timedelta(days=1), time(0), UTC))
    rows = [[t.day.isoformat(), t.purpose, t.calls, t.input_tokens, t.output_tokens, f"{t.cost_usd:.4f}"]
            for t in totals]
    rows.append(["total", "", sum(t.calls for t in totals), sum(t.input_tokens for t in totals),
                 sum(t.output_tokens for t in totals), f"{sum(t.cost_usd for t in totals):.4f}"])
    print_table(["day (UTC)", "purpose", "calls", "input tokens", "output tokens", "cost USD"], rows,
                title=f"language-model usage {start} to {end}")
    return 0
