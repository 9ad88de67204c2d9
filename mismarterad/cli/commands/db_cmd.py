"""`mismarterad db upgrade|status`: create or migrate the database explicitly."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from mismarterad.runs.app import App

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad db upgrade
  MISMARTERAD_DATABASE_URL=postgresql://trader@localhost/mismarterad mismarterad db status

Every command that needs the database migrates it by itself; these are for operators.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("db", help="create, migrate and inspect the database", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="migrate the database to the newest schema").set_defaults(func=_upgrade)
    actions.add_parser("status", help="show the database URL (password hidden) and schema revision").set_defaults(
        func=_status
    )


def _upgrade(args: argparse.Namespace, app: App) -> int:
    from mismarterad.db.engine import make_engine, redact_url
    from mismarterad.db.migrate import current_revision, upgrade

    url = app.settings.database_url_value
    engine = make_engine(url)
    applied = upgrade(engine)
    print(f"{redact_url(url)}: {'migrated to' if applied else 'already at'} revision {current_revision(engine)}")
    return 0


def _status(args: argparse.Namespace, app: App) -> int:
    from mismarterad.db.engine import make_engine, redact_url
    from mismarterad.db.migrate import current_revision, head_revision

    url = app.settings.database_url_value
    current = current_revision(make_engine(url))
    head = head_revision()
    state = "up to date" if current == head else "needs upgrade"
    print(f"url: {redact_url(url)}\nrevision: {current or 'none (empty database)'}\nnewest: {head} ({state})")
    return 0
