"""The daemon's paper account across days: the account, each day's opening and closing balance.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

from mismarterad.db.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_accounts",
        sa.Column("account", sa.String(32), primary_key=True),
        sa.Column("starting_cash", sa.Float, nullable=False),
        sa.Column("opened_utc", UTCDateTime, nullable=False),
    )
    op.create_table(
        "paper_days",
        sa.Column("account", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("id_prefix", sa.String(64), nullable=False),
        sa.Column("opening_cash", sa.Float, nullable=False),
        sa.Column("closing_cash", sa.Float, nullable=True),
    )
    op.create_table(
        "paper_positions",
        sa.Column("account", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("at", sa.String(8), primary_key=True),
        sa.Column("symbol", sa.String(20), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("avg_price", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paper_positions")
    op.drop_table("paper_days")
    op.drop_table("paper_accounts")
