"""The head read from the shipped scripts' files (which spares alembic's import when the
database is current) is alembic's own head."""

from __future__ import annotations

import sqlalchemy

from mismarterad.db.migrate import head_revision, shipped_head, upgrade


def test_the_shipped_head_is_alembics() -> None:
    assert shipped_head() == head_revision()


def test_a_current_database_is_not_migrated_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert upgrade(engine) is True
    assert upgrade(engine) is False
