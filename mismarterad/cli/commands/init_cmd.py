"""`mismarterad init DIR`: a user folder to start from, every file of it valid as written.

It holds a daemon TOML, the session config it runs, an example strategy using the whole
strategy API (requested indicators, on_fill, self.log) and a README of next steps. The session
config backtests on the bundled sample data (`mismarterad data sample`) as it is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mismarterad.cli.support import EX_OK

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad init my-trading && cd my-trading
  mismarterad data sample && mismarterad backtest session.json --out report

Writes DIR/mismarterad.toml, DIR/session.json, DIR/strategies/rsi_reversion.py and DIR/README.md
(DIR is created if needed). An existing file is never overwritten without --force: the command
then writes nothing and exits 73."""

EXAMPLE_STRATEGY = "rsi_reversion"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init", help="write a folder to start from: daemon TOML, session config, strategy, README",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", type=Path, metavar="DIR", help="the folder to write into (created if needed)")
    p.add_argument("--force", action="store_true", help="overwrite files that already exist")
    p.set_defaults(func=_init, needs_app=False)


def _init(args: argparse.Namespace) -> int:
    import json

    from mismarterad.cli.scaffold import render, strategy_names, write_new_files

    folder: Path = args.dir
    class_name, stem = strategy_names(EXAMPLE_STRATEGY)
    strategy_path = f"strategies/{stem}.py"
    files = {
        folder / "mismarterad.toml": render("mismarterad.toml.tmpl"),
        folder / "session.json": render("session.json.tmpl", session_name=json.dumps(f"{folder.resolve().name} session", ensure_ascii=False),
                                        strategy_path=strategy_path, class_name=class_name),
        folder / strategy_path: render("strategy.py.tmpl", class_name=class_name, file_path=strategy_path),
        folder / "README.md": render("README.md.tmpl", folder_name=folder.resolve().name,
                                     strategy_path=strategy_path),
    }
    refused = write_new_files(files, args.force)
    if refused is not None:
        return refused
    for path in files:
        print(path)
    print(f"next: cd {folder} and follow README.md (mismarterad data sample; mismarterad backtest session.json "
          "--out report)")
    return EX_OK
