"""`mismarterad config check FILE...`: validate session configs without running anything."""

from __future__ import annotations

import argparse
from pathlib import Path

from mismarterad.cli.support import EX_CONFIG, EX_OK
from mismarterad.core.errors import ConfigError

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad config check session_configs/sma_cross_spy_2011.json
  mismarterad config check my_session.json || echo "exit $? (78 = invalid config)"
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("config", help="validate configuration files", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="validate session config files; print OK or every error with its field path (exit 78)",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(func=_check, needs_app=False)


def _check(args: argparse.Namespace) -> int:
    from mismarterad.config.session_config import ConfigFileError, load_session_config
    from mismarterad.runs.strategy_loading import resolve_strategies

    status = EX_OK
    for path in args.files:
        prefix = f"{path}: " if len(args.files) > 1 else ""
        try:
            config = load_session_config(path)
            resolve_strategies(config, Path(path).resolve().parent)
        except ConfigError as exc:
            status = EX_CONFIG
            # a file that cannot even be read as JSON is named, also when it is the only one
            where = f"{path}: " if isinstance(exc, ConfigFileError) else prefix
            for problem in exc.problems:
                print(f"{where}{problem}")
        else:
            print(f"{prefix}OK")
    return status
