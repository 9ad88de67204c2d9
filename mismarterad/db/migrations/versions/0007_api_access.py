"""The REST API's users, access tokens and audit trail.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from mismarterad.db.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_utc", UTCDateTime, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("api_users.name", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("issued_utc", UTCDateTime, nullable=False),
        sa.Column("expires_utc", UTCDateTime, nullable=False),
        sa.Column("revoked_utc", UTCDateTime, nullable=True),
        sa.Column("address", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts_utc", UTCDateTime, nullable=False, index=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("result", sa.String(500), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
    op.drop_table("api_users")
