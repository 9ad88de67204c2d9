"""`mismarterad user add|list|remove|passwd|revoke`: the users of the REST API and web console."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mismarterad.cli.support import EX_SOFTWARE, EX_USAGE

if TYPE_CHECKING:
    from mismarterad.api.user_admin import Actor, UserAdmin

__all__ = ["register"]

EXAMPLES = """examples:
  printf '%s\\n' "$PASSWORD" | mismarterad user add alice --role operator --password-stdin
  mismarterad user list --config /etc/mismarterad/mismarterad.toml
  printf '%s\\n' "$NEW" | mismarterad user passwd alice --password-stdin    # also revokes her tokens
  mismarterad user revoke alice        # sign every console and script of hers out
  mismarterad user remove alice

Roles: viewer reads; operator also starts, stops, halts, resumes, flattens and reloads; admin
also manages users (through the API too). Passwords: 12 to 1024 characters, one line on stdin
(typed at a terminal, it is not echoed), stored as argon2id hashes. Users live in the daemon's
database: give --config (the daemon's TOML, found as `run` finds it: under systemd a relative
one in $CONFIGURATION_DIRECTORY, and none given is its mismarterad.toml) when it sets
database_url. Every change is written to the audit trail. Exit codes: 2 a bad name, role or
password; 1 no such user, the name is taken, or the last admin."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("user", help="users of the REST API and web console", epilog=EXAMPLES, formatter_class=fmt)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help_text: str, *, named: bool = True, password: bool = False) -> argparse.ArgumentParser:
        a = actions.add_parser(name, help=help_text, epilog=EXAMPLES, formatter_class=fmt)
        if named:
            a.add_argument("name", metavar="NAME")
        if password:
            a.add_argument("--password-stdin", action="store_true", required=True,
                           help="read the password from the first line of standard input")
        a.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="the daemon's TOML (its database_url); default: $CONFIGURATION_DIRECTORY/mismarterad.toml "
                            "under systemd, else the environment's settings")
        a.set_defaults(func=_run, needs_app=False)
        return a

    action("add", "add a user", password=True).add_argument(
        "--role", required=True, choices=["viewer", "operator", "admin"])
    action("list", "the users, their roles and live tokens", named=False)
    action("remove", "remove a user and its tokens")
    action("passwd", "change a user's password (revokes its tokens)", password=True)
    action("revoke", "revoke every token of a user")


def _run(args: argparse.Namespace) -> int:
    from mismarterad.api.user_admin import UserAdminError

    admin, actor = _admin(args.config)
    try:
        return _ACTIONS[args.action](args, admin, actor)
    except UserAdminError as exc:
        print(f"mismarterad: {exc}", file=sys.stderr)
        return EX_USAGE if exc.code == "invalid" else EX_SOFTWARE


def _admin(config: Path | None) -> tuple[UserAdmin, Actor]:
    from mismarterad.api.user_admin import Actor, UserAdmin
    from mismarterad.cli.support import daemon_settings
    from mismarterad.config.daemon_config import load_daemon_config
    from mismarterad.config.settings import daemon_config_path, load_settings
    from mismarterad.core.clock import SystemClock
    from mismarterad.runs.app import App

    path = daemon_config_path(config)  # as `run` finds its config
    settings = daemon_settings(load_daemon_config(path)) if path is not None else load_settings()
    app = App(settings=settings)
    admin = UserAdmin(app.user_repository, app.token_repository, app.audit_repository, SystemClock())
    return admin, Actor(f"cli ({getpass.getuser()})", "local")


def _password() -> str:
    if sys.stdin.isatty():  # typed by hand: not echoed
        return getpass.getpass("password: ")
    line = sys.stdin.readline()
    return line[:-1].removesuffix("\r") if line.endswith("\n") else line


def _add(args: argparse.Namespace, admin: UserAdmin, actor: Actor) -> int:
    admin.add(args.name, args.role, _password(), actor)
    print(f"user {args.name} added ({args.role})")
    return 0


def _list(_args: argparse.Namespace, admin: UserAdmin, _actor: Actor) -> int:
    from mismarterad.cli.support import print_table

    print_table(["name", "role", "created (UTC)", "live tokens"],
                [(u.name, u.role, f"{u.created_utc:%Y-%m-%d %H:%M}", u.live_tokens) for u in admin.list()])
    return 0


def _remove(args: argparse.Namespace, admin: UserAdmin, actor: Actor) -> int:
    admin.remove(args.name, actor)
    print(f"user {args.name} removed")
    return 0


def _passwd(args: argparse.Namespace, admin: UserAdmin, actor: Actor) -> int:
    revoked = admin.set_password(args.name, _password(), actor)
    print(f"password of {args.name} changed; {revoked} token(s) revoked")
    return 0


def _revoke(args: argparse.Namespace, admin: UserAdmin, actor: Actor) -> int:
    print(f"{admin.revoke(args.name, actor)} token(s) of {args.name} revoked")
    return 0


_ACTIONS = {"add": _add, "list": _list, "remove": _remove, "passwd": _passwd, "revoke": _revoke}
