"""The answers to the control socket's commands (cli/control_commands.py lists them).

A command runs by its name (`status`) or by its phrase (`system status`, `data quality`, `time
now`), which the interactive shell completes; `hello` answers the phrases. Arguments arrive as
`args.words` (what mismarterctl typed after the command) or as named keys; every command answers
JSON-ready values. A new command is one `Command` in cli/control_commands.py and a `_name`
method here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import structlog

from mismarterad import __version__
from mismarterad.cli.control_commands import COMMANDS, NAMESPACES, OPERATOR_COMMANDS, PHRASES, help_text, words_of
from mismarterad.core.errors import AssistantError, BudgetExceededError, ConfigError, MismarteradError
from mismarterad.core.halt import bad_reason
from mismarterad.core.redaction import redact
from mismarterad.daemon.control import DaemonControl, HaltOutcome
from mismarterad.daemon.control_server import PROTOCOL_VERSION, CommandError, Requester
from mismarterad.core.questions import bad_question
from mismarterad.daemon.views import (
    halt_record,
    orders_view,
    pnl_view,
    positions_view,
    quality_view,
    session_view,
    status_view,
    threads_view,
    trades_view,
)

__all__ = ["ControlApi", "parse_halt"]

log = structlog.get_logger(component="control_socket")

class ControlApi:
    """Answers the socket's commands through `DaemonControl` alone."""

    def __init__(self, daemon: DaemonControl) -> None:
        self._d = daemon
        self._handlers: dict[str, Callable[..., Any]] = {
            name: getattr(self, f"_{name}") for name in COMMANDS
        }

    def handle(self, cmd: str, args: dict[str, Any], peer: Requester | None = None) -> Any:
        words = args.get("words", [])
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise CommandError("bad_request", "'args.words' must be a list of strings")
        if cmd in NAMESPACES and words and (cmd, words[0]) in PHRASES:  # `data quality`, `time now`
            cmd, words = PHRASES[(cmd, words[0])], words[1:]
        elif cmd in NAMESPACES and (words or cmd not in COMMANDS):  # `time` alone is a command too
            said = f"no command {cmd + ' ' + words[0]!r}" if words else f"{cmd!r} is a namespace"
            raise CommandError("unknown_command", f"{said}; its commands: {', '.join(words_of(cmd))}")
        handler = self._handlers.get(cmd)
        if handler is None:
            raise CommandError("unknown_command", f"unknown command {cmd!r}; one of: {', '.join(sorted(COMMANDS))}")
        by = peer.name if peer is not None else "unknown peer"  # as the kernel names the peer
        if cmd not in OPERATOR_COMMANDS:
            return self._call(cmd, handler, words, by)
        try:
            result = self._call(cmd, handler, words, by)
        except Exception as exc:
            error, message = ((exc.code, str(exc)) if isinstance(exc, CommandError)
                              else ("internal_error", f"{type(exc).__name__}: {exc}"))
            log.warning("operator_command", cmd=cmd, words=words, peer=by, peer_pid=peer.pid if peer else None,
                        ok=False, error=error, message=message)
            raise
        shown = {key: result[key] for key in OPERATOR_COMMANDS[cmd] if isinstance(result, dict) and key in result}
        log.info("operator_command", cmd=cmd, words=words, peer=by, peer_pid=peer.pid if peer else None, ok=True,
                 **shown)
        return result

    def _call(self, cmd: str, handler: Callable[..., Any], words: list[str], by: str) -> Any:
        try:
            if cmd in ("halt", "resume", "paper"):  # they record who asked
                return handler(words, by)
            return handler(words)
        except ConfigError as exc:
            raise CommandError("config_invalid", str(exc)) from exc
        except MismarteradError as exc:
            raise CommandError("refused", str(exc)) from exc

    # -- system ----------------------------------------------------------------------------

    def _hello(self, _words: list[str]) -> dict[str, Any]:
        return {"protocol": PROTOCOL_VERSION, "version": __version__, "commands": sorted(COMMANDS),
                "namespaces": {ns: words_of(ns) for ns in NAMESPACES}}

    def _status(self, _words: list[str]) -> dict[str, Any]:
        return status_view(self._d.snapshot())

    def _threads(self, _words: list[str]) -> list[dict[str, Any]]:
        return threads_view(self._d.snapshot())

    def _config(self, _words: list[str]) -> dict[str, Any]:
        s = self._d.snapshot()
        daemon = json.loads(s.daemon_config.model_dump_json())  # SecretStr dumps as '**********'
        if daemon.get("database_url"):
            daemon["database_url"] = "***"
        session = s.session_config.model_dump(mode="json", by_alias=True, exclude_none=True)
        # strategy params are free-form: api keys, tokens, URLs with passwords never leave the daemon
        return {"path": str(s.config_path), "daemon": redact(daemon), "session": redact(session)}

    def _start(self, _words: list[str]) -> dict[str, Any]:
        self._d.start_day_run()
        return status_view(self._d.snapshot())

    def _stop(self, _words: list[str]) -> dict[str, Any]:
        self._d.stop_day_run()
        return status_view(self._d.snapshot())

    def _halt(self, words: list[str], by: str) -> dict[str, Any]:
        flatten, reason = parse_halt(words)
        return self._halt_reply(self._d.halt(by, reason, flatten))

    def _resume(self, words: list[str], by: str) -> dict[str, Any]:
        if words:
            raise CommandError("bad_request", "usage: resume (it takes no arguments)")
        return self._halt_reply(self._d.resume(by))

    def _halt_reply(self, outcome: HaltOutcome) -> dict[str, Any]:
        tz = self._d.snapshot().timezone
        reply: dict[str, Any] = {"halted": halt_record(outcome.state, tz), "in_session": outcome.in_session}
        if outcome.state is not None:
            reply["canceled"] = list(outcome.canceled)
            reply["flatten_orders"] = list(outcome.flattened)
            if not outcome.in_session:
                reply["note"] = "no session is running: nothing was open; sessions start halted until resume"
        if outcome.save_error is not None:
            done = "" if outcome.state is None else (f"; canceled: {', '.join(outcome.canceled) or 'none'}; "
                                                     f"flatten orders: {', '.join(outcome.flattened) or 'none'}")
            raise CommandError("not_saved", outcome.save_error + done)
        return reply

    def _flatten(self, _words: list[str]) -> dict[str, Any]:
        return {"orders": self._d.flatten()}

    def _reload(self, _words: list[str]) -> dict[str, Any]:
        return self._d.reload()

    def _paper(self, words: list[str], by: str) -> dict[str, Any]:
        if words != ["reset"]:
            raise CommandError("bad_request", "usage: paper reset")
        balance = self._d.reset_paper_account(by)
        return {"reset": True, "cash": balance.cash, "equity": balance.equity, "positions": len(balance.positions)}

    def _help(self, words: list[str]) -> str:
        return help_text(words)

    # -- session ---------------------------------------------------------------------------

    def _session(self, _words: list[str]) -> dict[str, Any]:
        return session_view(self._d.snapshot())

    def _positions(self, _words: list[str]) -> list[dict[str, Any]]:
        return positions_view(self._d.snapshot())

    def _orders(self, _words: list[str]) -> list[dict[str, Any]]:
        return orders_view(self._d.snapshot())

    def _trades(self, _words: list[str]) -> list[dict[str, Any]]:
        return trades_view(self._d.snapshot())

    def _quality(self, _words: list[str]) -> list[dict[str, Any]]:
        return quality_view(self._d.snapshot())

    def _pnl(self, _words: list[str]) -> dict[str, Any]:
        return pnl_view(self._d.snapshot())

    def _report(self, words: list[str]) -> dict[str, Any]:
        if len(words) != 1:
            raise CommandError("bad_request", "usage: report YYYY-MM-DD")
        try:
            day = date.fromisoformat(words[0])
        except ValueError:
            raise CommandError("bad_request", f"report: expected a date YYYY-MM-DD, got {words[0]!r}") from None
        folder = self._d.reports_dir / day.isoformat()
        if not folder.is_dir():
            raise CommandError("not_found", f"no report for {day} (sessions write it at close + lag)")
        summary = folder / "summary.json"
        page = folder / "report.html"  # none in a report rebuilt from the database
        return {"path": str(folder), "files": sorted(p.name for p in folder.iterdir()),
                "html": str(page) if page.exists() else None,
                "summary": json.loads(summary.read_text()) if summary.exists() else None}

    def _ask(self, words: list[str]) -> dict[str, Any]:
        question = " ".join(words)
        problem = bad_question(question)
        if problem is not None:
            raise CommandError("bad_request", f"ask: {problem} (usage: ask QUESTION...)")
        try:
            report, answer = self._d.ask(question)
        except BudgetExceededError as exc:
            raise CommandError("budget", str(exc)) from exc
        except AssistantError as exc:
            raise CommandError("assistant_unavailable", str(exc)) from exc
        return {"report": report, "answer": answer.text, "calls": answer.calls,
                "input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens,
                "cost_usd": round(answer.cost_usd, 6), "tools": [c.name for c in answer.tool_calls]}

    # -- time ------------------------------------------------------------------------------

    def _time(self, _words: list[str]) -> dict[str, Any]:
        tm = self._d.time_manager
        now = tm.get_current_time()
        s = tm.get_trading_session(now.date())
        return {"now": now.isoformat(), "clock_kind": self._d.snapshot().clock_kind,
                "market_session": tm.get_market_session(now).value, "trading_day": s.is_trading_day,
                "holiday": s.holiday_name, "early_close": s.is_early_close,
                "regular_open": s.regular_open.isoformat() if s.regular_open else None,
                "regular_close": s.regular_close.isoformat() if s.regular_close else None}

    def _calendar(self, words: list[str]) -> list[dict[str, Any]]:
        days = _count(words, default=7, limit=60, what="DAYS")
        tm = self._d.time_manager
        today = tm.get_current_time().date()
        out = []
        for day in tm.trading_days(today, today + timedelta(days=days - 1)):
            s = tm.get_trading_session(day)
            out.append({"date": day.isoformat(), "regular_open": s.regular_open.isoformat() if s.regular_open else None,
                        "regular_close": s.regular_close.isoformat() if s.regular_close else None,
                        "early_close": s.is_early_close})
        return out

    def _schedule(self, words: list[str]) -> list[dict[str, Any]]:
        count = _count(words, default=5, limit=30, what="COUNT")
        tm = self._d.time_manager
        return [{"date": w.day.isoformat(), "start": tm.to_market_time(w.start_utc).isoformat(),
                 "stop": tm.to_market_time(w.stop_utc).isoformat()} for w in self._d.upcoming_windows(count)]


def parse_halt(words: list[str]) -> tuple[bool, str]:
    """`halt [flatten] [REASON...]` -> (flatten, reason); CommandError(bad_request) for a bad reason."""
    flatten = bool(words) and words[0] == "flatten"
    reason = " ".join(words[1:] if flatten else words)
    problem = bad_reason(reason)
    if problem is not None:
        raise CommandError("bad_request", f"halt: {problem} (usage: halt [flatten] [REASON...])")
    return flatten, reason.strip(" ")


def _count(words: list[str], default: int, limit: int, what: str) -> int:
    if not words:
        return default
    if len(words) != 1 or not words[0].isdigit() or not 1 <= int(words[0]) <= limit:
        raise CommandError("bad_request", f"{what} must be a whole number from 1 to {limit}")
    return int(words[0])
