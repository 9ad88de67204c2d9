"""Calendar: market hours per exchange group and one row per calendar date.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from datetime import time

import sqlalchemy as sa
from alembic import op

from mismarterad.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    market_hours = op.create_table(
        "market_hours",
        sa.Column("exchange_group", sa.String(32), primary_key=True),
        sa.Column("asset_class", sa.String(32), primary_key=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("pre_market_open", sa.Time, nullable=False),
        sa.Column("regular_open", sa.Time, nullable=False),
        sa.Column("regular_close", sa.Time, nullable=False),
        sa.Column("post_market_close", sa.Time, nullable=False),
        sa.Column("early_close_post_market_close", sa.Time, nullable=False),
    )
    # US equities: extended hours 04:00-20:00 New York; on early-close days (13:00) the
    # after-hours session ends at 17:00. Regular hours per day come from the exchange calendar.
    op.bulk_insert(
        market_hours,
        [
            {
                "exchange_group": "US_EQUITY",
                "asset_class": "EQUITY",
                "timezone": "America/New_York",
                "pre_market_open": time(4, 0),
                "regular_open": time(9, 30),
                "regular_close": time(16, 0),
                "post_market_close": time(20, 0),
                "early_close_post_market_close": time(17, 0),
            }
        ],
    )
    op.create_table(
        "calendar_days",
        sa.Column("exchange_group", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("is_trading_day", sa.Boolean, nullable=False),
        sa.Column("holiday_name", sa.String(128), nullable=True),
        sa.Column("is_early_close", sa.Boolean, nullable=False),
        sa.Column("pre_market_open_utc", UTCDateTime, nullable=True),
        sa.Column("regular_open_utc", UTCDateTime, nullable=True),
        sa.Column("regular_close_utc", UTCDateTime, nullable=True),
        sa.Column("post_market_close_utc", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("calendar_days")
    op.drop_table("market_hours")
