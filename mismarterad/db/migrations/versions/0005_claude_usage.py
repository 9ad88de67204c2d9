"""The language model's calls: tokens, model, purpose and cost of each, for the budgets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from mismarterad.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claude_usage",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts_utc", UTCDateTime, nullable=False, index=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("claude_usage")
