"""`mismarterctl`: talk to a running mismarterad through its control socket."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from mismarterad.ctl.client import ControlClient, CtlError, default_socket_path
from mismarterad.ctl.render import render
from mismarterad.ctl.shell import ControlShell
from mismarterad.ctl.tables import output_width

__all__ = ["main"]

EX_ERROR = 1
EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75
EX_NOPERM = 77
DEFAULT_TIMEOUT_SECS = 15.0
ASK_TIMEOUT_SECS = 300.0  # the language model's calls and their retries (the daemon stops at 240 s)

EXAMPLES = """examples:
  mismarterctl status                (or: system status)
  mismarterctl --json status
  mismarterctl pnl                   today's P&L per strategy, with a total
  mismarterctl report 2011-01-04
  mismarterctl help report           (same as: help session report)
  mismarterctl halt flatten broker outage   (kill switch: refuse orders, cancel,
                                            close positions)
  mismarterctl resume
  mismarterctl paper reset    (between sessions: paper account to starting cash)
  mismarterctl ask why did TSLA lose money today?
  mismarterctl                       (interactive shell: history, completion)

Commands by namespace (a command runs by its name or as NAMESPACE COMMAND):
  system  status threads config start stop halt resume flatten reload paper help
  data    session quality
  session positions orders trades pnl report ask
  time    now (the time command) calendar schedule

The socket path comes from --socket, else MISMARTERAD_SOCKET, else
$RUNTIME_DIRECTORY or $XDG_RUNTIME_DIR + /mismarterad.sock. halt [flatten]
[REASON...] works in and outside a session and survives restarts; resume lifts
it. On a terminal, tables fit its width (too wide ones show a block per row);
piped, they are $COLUMNS or 160 columns wide.
Exit codes: 0 ok, 1 the daemon refused or failed the command (also: a halt that
took effect but could not be saved to disk), 69 the daemon is not reachable,
75 the daemon's socket is full (busy for 3 s; try again) or a language-model
budget refused an ask, 77 no permission to use the socket."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mismarterctl", description="Control a running mismarterad.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", type=Path, default=None, help="control socket path")
    parser.add_argument("--json", action="store_true", help="print the raw JSON result (for scripts)")
    parser.add_argument("--timeout", type=float, default=None,
                        help=f"seconds to wait for an answer (default {DEFAULT_TIMEOUT_SECS:g}; ask: {ASK_TIMEOUT_SECS:g})")
    parser.add_argument("command", nargs="?", help="daemon command; none starts the interactive shell")
    parser.add_argument("words", nargs="*", help="arguments of the command")
    args = parser.parse_args(argv)
    path = args.socket or default_socket_path()
    console = Console(highlight=False, width=output_width())
    try:
        with ControlClient(path, args.timeout or DEFAULT_TIMEOUT_SECS) as client:
            def send(command: str, words: list[str]) -> Any:
                asking = command == "ask" or (command == "session" and words[:1] == ["ask"])
                slow = ASK_TIMEOUT_SECS if asking and args.timeout is None else None
                return client.request(command, {"words": words} if words else {}, slow)

            if args.command is None:
                return _shell(client, send, args.json, console)
            _show(send(args.command, args.words), args.json, console)
            return 0
    except CtlError as exc:
        return _fail(exc)


def _show(result: Any, as_json: bool, console: Console) -> None:
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        render(result, console)


def _fail(exc: CtlError) -> int:
    print(f"mismarterctl: {exc}", file=sys.stderr)
    if exc.code == "permission_denied":
        return EX_NOPERM
    if exc.code in {"busy", "too_many_clients", "budget"}:
        return EX_TEMPFAIL
    if exc.code in {"not_running", "timeout", "connection_lost"}:
        return EX_UNAVAILABLE
    return EX_ERROR


def _shell(client: ControlClient, send: Callable[[str, list[str]], Any], as_json: bool, console: Console) -> int:
    hello = client.request("hello")

    def run(command: str, words: list[str]) -> int:
        try:
            _show(send(command, words), as_json, console)
            return 0
        except CtlError as exc:
            code = _fail(exc)
            if code == EX_UNAVAILABLE:
                raise
            return code

    shell = ControlShell(hello.get("commands", []), run, hello.get("namespaces", {}))
    try:
        shell.cmdloop()
    except KeyboardInterrupt:
        print()
    return shell.last_error


if __name__ == "__main__":
    sys.exit(main())
