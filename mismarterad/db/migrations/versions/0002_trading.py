"""Trading records: runs, and the orders and fills of each run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from mismarterad.db.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("session_name", sa.String(200), nullable=False),
        sa.Column("config_sha256", sa.String(64), nullable=False),
        sa.Column("started_utc", UTCDateTime, nullable=False),
        sa.Column("finished_utc", UTCDateTime, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("limit_price", sa.Float, nullable=True),
        sa.Column("stop_price", sa.Float, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submitted_utc", UTCDateTime, nullable=False),
        sa.Column("filled_utc", UTCDateTime, nullable=True),
        sa.Column("filled_quantity", sa.Integer, nullable=False),
        sa.Column("avg_fill_price", sa.Float, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.UniqueConstraint("run_id", "client_order_id", name="uq_orders_run_client_order_id"),
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("commission", sa.Float, nullable=False),
        sa.Column("ts_utc", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fills")
    op.drop_table("orders")
    op.drop_table("runs")
