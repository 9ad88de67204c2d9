"""`mismarterad config check FILE...` and `config schema`: validate configs, publish their shape.

`check` takes session configs (JSON) and daemon configs (TOML) alike, told apart by extension
(`.json`, `.toml`) or else by content (a JSON file starts with `{`). A daemon config is checked
as `run` loads it: its keys, the session config it names, that config's strategies. Files are
found as `run` finds its --config (config/settings.daemon_config_path): under systemd a relative
one in $CONFIGURATION_DIRECTORY, and none given is its mismarterad.toml.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mismarterad.cli.support import EX_CONFIG, EX_OK, EX_USAGE
from mismarterad.core.errors import ConfigError

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad config check session_configs/spy_2011_backtest.json
  mismarterad config check /etc/mismarterad/mismarterad.toml
  mismarterad config check        # under systemd: $CONFIGURATION_DIRECTORY/mismarterad.toml
  mismarterad config check my_session.json || echo "exit $? (78 = invalid config)"
  mismarterad config schema > session-config.schema.json
"""

CHECK_HELP = """Validate session configs (JSON) and daemon configs (TOML, with the session config
they name); print OK, or every error with its field path (exit 78). The kind comes from the
extension, else from the content (JSON starts with '{'). Under systemd a relative FILE is taken
in $CONFIGURATION_DIRECTORY, and no FILE means its mismarterad.toml, as for `run --config`."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("config", help="validate configuration files; print the session config schema",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate session configs (JSON) and daemon configs (TOML)",
                               description=CHECK_HELP, epilog=EXAMPLES,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("files", nargs="*", type=Path, metavar="FILE")
    check.set_defaults(func=_check, needs_app=False)
    schema = actions.add_parser(
        "schema", help="print the JSON Schema of session configs (docs/session-config.md explains each field)",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    schema.set_defaults(func=_schema, needs_app=False)


def _check(args: argparse.Namespace) -> int:
    from mismarterad.cli.logging import print_error
    from mismarterad.config.settings import daemon_config_path

    files = [daemon_config_path(f) for f in args.files] or [daemon_config_path(None)]
    if files == [None]:
        print_error("mismarterad: error: config check needs FILE (under systemd, ConfigurationDirectory= supplies "
                    "$CONFIGURATION_DIRECTORY/mismarterad.toml)")
        return EX_USAGE
    status = EX_OK
    for path in files:
        assert path is not None  # a given file always resolves
        prefix = f"{path}: " if len(files) > 1 else ""
        try:
            _check_file(path)
        except ConfigError as exc:
            status = EX_CONFIG
            for problem in exc.problems:
                print(f"{_where(exc, path, prefix)}{problem}")
        else:
            print(f"{prefix}OK")
    return status


def _where(exc: ConfigError, path: Path, prefix: str) -> str:
    from mismarterad.config.session_config import ConfigFileError

    if exc.source is not None and Path(exc.source).resolve() != Path(path).resolve():
        return f"{prefix}{exc.source}: "  # the session config a daemon config names
    # a file that cannot even be read as JSON is named, also when it is the only one
    return f"{path}: " if isinstance(exc, ConfigFileError) else prefix


def _check_file(path: Path) -> None:
    if _is_daemon_config(path):
        from mismarterad.runs.loaded_config import load_config

        load_config(path)
        return
    from mismarterad.config.session_config import load_session_config
    from mismarterad.runs.strategy_loading import resolve_strategies

    resolve_strategies(load_session_config(path), path.resolve().parent)


def _is_daemon_config(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".toml", ".json"):
        return suffix == ".toml"
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return False  # the session config loader names the unreadable file
    return not head.startswith((b"{", b"["))


def _schema(args: argparse.Namespace) -> int:
    import json

    from mismarterad.config.session_config import session_config_schema

    print(json.dumps(session_config_schema(), indent=2, sort_keys=True, ensure_ascii=False))
    return EX_OK
