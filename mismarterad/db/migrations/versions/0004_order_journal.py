"""The order journal: ids unique per account, fills booked once per execution.

A daemon's orders are journaled per account (`account`: the venue, e.g. "alpaca"), and a
client_order_id is unique within an account across days and restarts; a resumed day-run
updates the rows its earlier runs wrote. Backtest rows keep `account` NULL (NULLs never
collide), so one backtest can still run twice against one database under the old
(run_id, client_order_id) rule. A fill is booked once per (account, order, execution id), and
remembers the step whose positions first counted it (`applied_utc`), so a resume replays it at
the same place. Statuses move to the journal's state machine: `new` is now `accepted`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from mismarterad.db.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("account", sa.String(32), nullable=True))
        batch.create_unique_constraint("uq_orders_account_client_order_id", ["account", "client_order_id"])
    op.execute("UPDATE orders SET status = 'accepted' WHERE status = 'new'")
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("account", sa.String(32), nullable=True))
        batch.add_column(sa.Column("execution_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("applied_utc", UTCDateTime, nullable=True))
        batch.create_unique_constraint("uq_fills_account_order_execution",
                                       ["account", "client_order_id", "execution_id"])


def downgrade() -> None:
    with op.batch_alter_table("fills") as batch:
        batch.drop_constraint("uq_fills_account_order_execution", type_="unique")
        batch.drop_column("applied_utc")
        batch.drop_column("execution_id")
        batch.drop_column("account")
    op.execute("UPDATE orders SET status = 'new' WHERE status = 'accepted'")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("uq_orders_account_client_order_id", type_="unique")
        batch.drop_column("account")
