"""`mismarterad strategy new NAME` and `strategy list`: start a strategy, see what exists.

User strategies are found where the user points: `--dir DIR` (every `*.py` file directly in
it) and `--config FILE` (the files a session config's entries name). Nothing is searched
implicitly: listing imports each file, which runs its code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mismarterad.cli.support import EX_CONFIG, EX_OK, EX_USAGE

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad strategy new buy-the-dip --dir strategies
  mismarterad strategy list
  mismarterad strategy list --dir strategies --config session.json
"""

NEW_HELP = """Write DIR/<name>.py from the strategy template (a working RSI example using the whole
API). NAME may be buy-the-dip, buy_the_dip or BuyTheDip: the class is BuyTheDip, the file
buy_the_dip.py. A bad NAME exits 2; an existing file exits 73 unless --force."""

LIST_HELP = """List the built-in strategies and the user strategies found in --dir (every *.py
directly in it) and in the files --config's entries name, each with its parameters (name,
type, default, description, from its Params model). A file that cannot be loaded is named on
stderr and makes the exit code 78."""

WIDTH = 80


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("strategy", help="write a new strategy from the template; list strategies and their params",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = actions.add_parser("new", help="write a strategy file from the template", description=NEW_HELP,
                             epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    new.add_argument("name", metavar="NAME")
    new.add_argument("--dir", type=Path, default=Path("."), help="folder to write into (default: here)")
    new.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    new.set_defaults(func=_new, needs_app=False)
    listing = actions.add_parser("list", help="built-in and user strategies with their parameters",
                                 description=LIST_HELP, epilog=EXAMPLES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    listing.add_argument("--dir", type=Path, action="append", default=[], metavar="DIR",
                         help="list the strategies of every *.py in DIR (repeatable)")
    listing.add_argument("--config", type=Path, action="append", default=[], metavar="FILE",
                         help="list the strategies a session config uses (repeatable)")
    listing.set_defaults(func=_list, needs_app=False)


def _new(args: argparse.Namespace) -> int:
    from mismarterad.cli.scaffold import render, strategy_names, write_new_files

    try:
        class_name, stem = strategy_names(args.name)
    except ValueError as exc:
        print(f"mismarterad: error: {exc}", file=sys.stderr)
        return EX_USAGE
    path = args.dir / f"{stem}.py"
    refused = write_new_files({path: render("strategy.py.tmpl", class_name=class_name, file_path=path.name)},
                              args.force)
    if refused is not None:
        return refused
    print(path)
    print(f'session config entry: {{"file": "{path}", "class": "{class_name}"}} (file relative to the config)')
    return EX_OK


class _Found:
    """The strategies to list, each once: keyed by built-in name, or by file and class."""

    def __init__(self) -> None:
        self.blocks: list[tuple[type, str, str]] = []
        self._keys: set[tuple[str, str]] = set()

    def add(self, key: tuple[str, str], cls: type, title: str, entry: str) -> None:
        if key not in self._keys:
            self._keys.add(key)
            self.blocks.append((cls, title, entry))


def _list(args: argparse.Namespace) -> int:
    from mismarterad.strategies.builtin import BUILTIN_STRATEGIES

    for folder in args.dir:
        if not folder.is_dir():
            print(f"mismarterad: error: --dir {folder}: not a directory", file=sys.stderr)
            return EX_USAGE
    found = _Found()
    for name, cls in sorted(BUILTIN_STRATEGIES.items()):
        found.add(("", name), cls, f"{name} (built-in)", f'entry: {{"name": "{name}"}}')
    status = EX_OK
    for folder in args.dir:
        status = max(status, _from_folder(folder, found))
    for config in args.config:
        status = max(status, _from_config(config, found))
    print("\n\n".join(_block(cls, title, entry) for cls, title, entry in found.blocks))
    return status


def _from_folder(folder: Path, found: _Found) -> int:
    import inspect

    from mismarterad.core.errors import ConfigError
    from mismarterad.runs.strategy_loading import load_strategy_file
    from mismarterad.strategies.base import Strategy

    status = EX_OK
    for path in sorted(folder.glob("*.py")):
        try:
            module = load_strategy_file(path, str(path))
        except ConfigError as exc:
            print(f"mismarterad: {exc}", file=sys.stderr)
            status = EX_CONFIG
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Strategy) and cls.__module__ == module.__name__:
                found.add((str(path.resolve()), cls.__name__), cls, cls.__name__, _file_line(path))
    return status


def _from_config(config: Path, found: _Found) -> int:
    from mismarterad.config.session_config import load_session_config
    from mismarterad.core.errors import ConfigError
    from mismarterad.runs.strategy_loading import resolve_strategies

    try:
        session = load_session_config(config)
        specs = resolve_strategies(session, config.resolve().parent)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"mismarterad: {config}: {problem}", file=sys.stderr)
        return EX_CONFIG
    for spec, entry in zip(specs, session.strategies, strict=True):
        if entry.file is None:
            continue  # a built-in: listed already
        path = Path(entry.file) if Path(entry.file).is_absolute() else config.resolve().parent / entry.file
        found.add((str(path.resolve()), spec.cls.__name__), spec.cls, spec.cls.__name__, _file_line(path))
    return EX_OK


def _file_line(path: Path) -> str:
    """`file: PATH`, relative to here when below it, the path's head cut to fit the width."""
    shown = str(path.resolve())
    here = str(Path.cwd())
    if shown.startswith(here + "/"):
        shown = shown[len(here) + 1:]
    room = WIDTH - len("  file: ")
    return f"file: {shown if len(shown) <= room else '...' + shown[-(room - 3):]}"


def _block(cls: type, title: str, source: str) -> str:
    import textwrap

    from mismarterad.strategies.catalog import describe

    info = describe(cls)  # type: ignore[arg-type]
    lines = [title, f"  {source}"]
    lines += textwrap.wrap(info.summary, WIDTH, initial_indent="  ", subsequent_indent="  ")
    if not info.params:
        return "\n".join([*lines, "  (no parameters)"])
    name_w = max(len(p.name) for p in info.params)
    type_w = min(16, max(len(p.type) for p in info.params))
    default_w = min(14, max(len(p.default) for p in info.params))
    column = 2 + name_w + 2 + type_w + 2 + default_w + 2
    for p in info.params:
        head = f"  {p.name:<{name_w}}  {_cut(p.type, type_w):<{type_w}}  {_cut(p.default, default_w):<{default_w}}  "
        if not p.description:
            lines.append(head.rstrip())
        elif WIDTH - column >= 24:
            lines += textwrap.wrap(p.description, WIDTH, initial_indent=head, subsequent_indent=" " * column)
        else:
            lines.append(head.rstrip())
            lines += textwrap.wrap(p.description, WIDTH, initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
