"""The control socket's commands: their namespaces, phrases, usage and three-level help.

The namespaces are the MisMartera CLI's (system, data, time) and session. `help` lists them,
`help data` the commands of one, `help data session` one command in full, and so does the bare
`help report`. A command runs by its name (`status`) or by its phrase (`system status`,
`data quality`, `time now`). A new command is one `Command` here and a `_name` method of
ControlApi (cli/control_api.py), which answers them.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from mismarterad.daemon.control_server import CommandError

__all__ = ["COMMANDS", "NAMESPACES", "OPERATOR_COMMANDS", "PHRASES", "Command", "help_text", "words_of"]

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


def help_text(words: list[str]) -> str:
    """`help`, `help NAMESPACE`, `help COMMAND` or `help NAMESPACE COMMAND`, in 79 columns."""
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
                                              f"{', '.join(words_of(namespace))}")
        command = COMMANDS[PHRASES[(namespace, word)]]
    usage = [f"usage: mismarterctl {command.usage}"]
    if command.name != "help":
        usage.append(f"   or: mismarterctl {' '.join([*command.phrase, *_args(command)])}")
    return "\n".join([*usage, *_wrapped(command.summary), *_wrapped(command.details)])


def _wrapped(text: str, first: str = "") -> list[str]:
    """`text` in lines of at most HELP_WIDTH, after `first` and indented below it."""
    return textwrap.wrap(text, HELP_WIDTH, initial_indent=first, subsequent_indent=" " * len(first))


def _listed(command: Command) -> str:
    """Its word in its namespace's help, with its arguments when they are short."""
    listed = " ".join([command.phrase[1], *_args(command)])
    return listed if len(listed) <= 18 else command.phrase[1]


def _args(command: Command) -> list[str]:
    return command.usage.split()[1:]


def words_of(namespace: str) -> list[str]:
    return [word for ns, word in PHRASES if ns == namespace]
