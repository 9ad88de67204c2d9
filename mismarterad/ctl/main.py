"""`mismarterctl`: talk to a running mismarterad through its control socket."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from mismarterad.ctl.client import ControlClient, CtlError, default_socket_path

__all__ = ["main"]

EX_UNAVAILABLE = 69
EX_NOPERM = 77
EX_SOFTWARE = 1

EXAMPLES = """examples:
  mismarterctl status
  mismarterctl --json status
  mismarterctl --socket /run/mismarterad/mismarterad.sock help

The socket path also comes from MISMARTERAD_SOCKET. Exit codes: 0 ok, 1 the daemon answered
with an error, 69 the daemon is not reachable, 77 no permission to use the socket."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mismarterctl", description="Control a running mismarterad.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", type=Path, default=None, help="control socket path")
    parser.add_argument("--json", action="store_true", help="print the raw JSON result")
    parser.add_argument("command", help="daemon command, e.g. status or help")
    parser.add_argument("words", nargs="*", help="arguments of the command")
    args = parser.parse_args(argv)
    path = args.socket or default_socket_path()
    try:
        with ControlClient(path) as client:
            result = client.request(args.command, {"words": args.words} if args.words else {})
    except CtlError as exc:
        print(f"mismarterctl: {exc}", file=sys.stderr)
        if exc.code == "permission_denied":
            return EX_NOPERM
        return EX_UNAVAILABLE if exc.code in {"not_running", "timeout", "connection_lost"} else EX_SOFTWARE
    print(json.dumps(result, indent=2, sort_keys=True) if args.json or not isinstance(result, str) else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
