"""The commands of the control socket, grouped in namespaces for the three-level help.

The namespaces are the MisMartera CLI's (system, data, time) and session. `help` lists them,
`help data` the commands of one, `help data session` one command in full, and so does the bare
`help report`. A command runs by its name (`status`) or by its phrase (`system status`,
`data quality`, `time now`), which the interactive shell completes; `hello` answers the phrases.
Arguments arrive as `args.words` (what mismarterctl typed after the command) or as named keys;
every command answers JSON-ready values. A new command is one `Command` here and a `_name` method.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import structlog

from mismarterad import __version__
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

__all__ = ["COMMANDS", "NAMESPACES", "OPERATOR_COMMANDS", "PHRASES", "ControlApi"]

log = structlog.get_logger(component="control_socket")

HELP_WIDTH = 79  # help reads in an 80-column terminal, and the same through a pipe


@dataclass(frozen=True)
class Command:
    name: str
    namespace: str
    summary: str
    usage: str
    details: str
    word: str = ""  # its word after the namespace when that is not its name (`time now` runs `time`)

    @property
    def phrase(self) -> tuple[str, str]:
        return self.namespace, self.word or self.name


NAMESPACES = {
    "system": "the daemon: state, threads, config, start/stop, halt/resume, flatten, reload",
    "data": "the session's market data: symbols, hours, last bars, quality",
    "session": "what the session holds: positions, orders, trades, P&L, reports",
    "time": "the daemon's clock, the trading calendar and the session schedule",
}

COMMANDS = {c.name: c for c in (
    Command("hello", "system", "protocol version and the commands known", "hello", "Used by clients to check the "
            "protocol: answers {protocol, version, commands}."),
    Command("status", "system", "state, clock, next start/stop, session date", "status",
            "state is the SystemManager state (STOPPED, STARTING, RUNNING, STOPPING, ERROR); clock is the daemon's "
            "market time; next_start the next session start still ahead (during a session, the next day's); next_stop "
            "the planned window's stop; session_date the running day."),
    Command("threads", "system", "the four session threads: alive, last loop, queue depth, items", "threads",
            "Empty outside a session. last_loop_age_seconds over 10 s means the thread is stuck and the systemd "
            "watchdog pings stop."),
    Command("config", "system", "the running daemon and session config (secrets redacted)", "config",
            "database_url and other secrets are shown as ***."),
    Command("start", "system", "start today's session now", "start",
            "Only on a trading day whose window has not ended; the stop stays planned at close + lag."),
    Command("stop", "system", "stop the running session now and write its report", "stop",
            "Open orders and positions are handled as the daemon config's on_shutdown says."),
    Command("halt", "system", "kill switch: refuse new orders and cancel the open ones until resume",
            "halt [flatten] [REASON...]",
            "Works in and outside a session and survives restarts (kept in <state_dir>/halt.json). In a session "
            "the open orders are canceled and, with 'flatten', every position is closed with market orders "
            "(filled at each symbol's next bar open). Strategies keep running; their orders are refused. "
            "REASON (at most 200 characters, no control characters) is shown by status with who halted and "
            "since when. Halting again keeps the first 'since'. Exits 1 if the halt could not be saved to disk "
            "(it holds until the daemon stops)."),
    Command("resume", "system", "accept orders again after halt (also lifts a daily-loss or reconciliation halt)", "resume",
            "Removes <state_dir>/halt.json; works in and outside a session."),
    Command("flatten", "system", "close every position with market orders", "flatten",
            "Only in a running session. The orders fill at each symbol's next bar open; open orders of those "
            "symbols are canceled first. Use 'halt flatten' to also stop new orders."),
    Command("reload", "system", "re-read the config and re-plan (like SIGHUP)", "reload",
            "An invalid config is rejected with its errors and the running one is kept."),
    Command("paper", "system", "the paper account: start it again at its starting cash", "paper reset",
            "With broker = \"paper\" the account keeps its cash and positions across days and restarts. "
            "'paper reset' sets it to [paper] initial_cash (default 1,000,000) with no positions; refused while a "
            "session runs (stop it first). Logged with who asked. Backtests never use this account."),
    Command("session", "data", "the session config, hours, symbols, last bars and progress", "session", ""),
    Command("quality", "data", "data quality and gaps per symbol so far", "quality", ""),
    Command("positions", "session", "open positions", "positions", ""),
    Command("orders", "session", "orders of the running (or last) session", "orders", ""),
    Command("trades", "session", "closed round trips so far", "trades", ""),
    Command("pnl", "session", "today's realized and unrealized P&L per strategy, with a total", "pnl",
            "realized: the strategy's round trips closed today (first in, first out, as the report's trades.csv), "
            "net of their commissions; unrealized: the shares it holds marked at the last bar's close, net of "
            "their opening commissions; fees: the commissions of its fills today (already in both figures). "
            "Unrealized is '-' while a held symbol has no bar yet. The figures last until the session stops "
            "(close + lag); then the day's report has them (report DATE)."),
    Command("report", "session", "a written session report", "report DATE",
            "DATE is YYYY-MM-DD; answers the report folder, its files and summary.json."),
    Command("ask", "session", "ask the language model about the newest report", "ask QUESTION...",
            "Needs a [claude] table in the daemon config. The model reads the newest report folder through "
            "read-only tools and answers with the figures it used; it cannot trade. Counted against the daily and "
            "monthly budgets: a call that would pass one is not sent (mismarterctl exits 75)."),
    Command("time", "time", "the daemon's clock in market time and today's session", "time", "", word="now"),
    Command("calendar", "time", "the coming trading sessions", "calendar [DAYS]",
            "DAYS calendar days ahead (default 7, at most 60)."),
    Command("schedule", "time", "the planned session windows", "schedule [COUNT]",
            "COUNT upcoming windows (default 5, at most 30): start = open - lead, stop = close + lag."),
    Command("help", "system", "three-level help", "help [NAMESPACE [COMMAND]] | help COMMAND",
            "help alone lists the namespaces, help NAMESPACE its commands, help COMMAND (or NAMESPACE COMMAND) one "
            "command in full."),
)}

PHRASES = {c.phrase: c.name for c in COMMANDS.values()}  # (namespace, word) -> command


#: The commands that change the daemon, each logged (`operator_command`) with the peer, the
#: words and the result: these keys of its answer, or the error. A new such command goes here.
OPERATOR_COMMANDS: dict[str, tuple[str, ...]] = {
    "start": ("state", "session_date"),
    "stop": ("state", "last_report"),
    "halt": ("in_session", "canceled", "flatten_orders"),
    "resume": ("in_session",),
    "flatten": ("orders",),
    "reload": ("reloaded",),
    "paper": ("reset", "cash"),
}


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
            raise CommandError("unknown_command", f"{said}; its commands: {', '.join(_words_of(cmd))}")
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
                "namespaces": {ns: _words_of(ns) for ns in NAMESPACES}}

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
        if not words:
            intro = ("mismarterctl COMMAND [ARGS], or NAMESPACE COMMAND [ARGS]. help NAMESPACE lists its commands, "
                     "help COMMAND explains one. Namespaces:")
            return "\n".join([*_wrapped(intro), ""] + [line for ns, text in NAMESPACES.items()
                                                       for line in _wrapped(text, f"  {ns:<9} ")])
        if len(words) > 2:
            raise CommandError("bad_request", "usage: help [NAMESPACE [COMMAND]] | help COMMAND")
        if len(words) == 1 and words[0] in NAMESPACES:
            namespace = words[0]
            listed = [line for c in COMMANDS.values() if c.namespace == namespace
                      for line in _wrapped(c.summary, f"  {_listed(c):<18} ")]
            return "\n".join([*_wrapped(f"{namespace}: {NAMESPACES[namespace]}"), "", *listed])
        if len(words) == 1:
            command = COMMANDS.get(words[0])
            if command is None:
                raise CommandError("bad_request", f"no namespace or command {words[0]!r}; namespaces: "
                                                  f"{', '.join(NAMESPACES)}; commands: {', '.join(sorted(COMMANDS))}")
        else:
            namespace, word = words
            if namespace not in NAMESPACES:
                raise CommandError("bad_request", f"no namespace {namespace!r}; one of: {', '.join(NAMESPACES)}")
            if (namespace, word) not in PHRASES:
                raise CommandError("bad_request", f"no command {word!r} in {namespace}; one of: "
                                                  f"{', '.join(_words_of(namespace))}")
            command = COMMANDS[PHRASES[(namespace, word)]]
        usage = [f"usage: mismarterctl {command.usage}"]
        if command.name != "help":
            usage.append(f"   or: mismarterctl {' '.join([*command.phrase, *_args(command)])}")
        return "\n".join([*usage, *_wrapped(command.summary), *_wrapped(command.details)])

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


def _wrapped(text: str, first: str = "") -> list[str]:
    """`text` in lines of at most HELP_WIDTH, after `first` and indented below it."""
    return textwrap.wrap(text, HELP_WIDTH, initial_indent=first, subsequent_indent=" " * len(first))


def _listed(command: Command) -> str:
    """Its word in its namespace's help, with its arguments when they are short."""
    listed = " ".join([command.phrase[1], *_args(command)])
    return listed if len(listed) <= 18 else command.phrase[1]


def _args(command: Command) -> list[str]:
    return command.usage.split()[1:]


def _words_of(namespace: str) -> list[str]:
    return [word for ns, word in PHRASES if ns == namespace]


def _count(words: list[str], default: int, limit: int, what: str) -> int:
    if not words:
        return default
    if len(words) != 1 or not words[0].isdigit() or not 1 <= int(words[0]) <= limit:
        raise CommandError("bad_request", f"{what} must be a whole number from 1 to {limit}")
    return int(words[0])
