"""Instant Payment Notifications seen (``ipn_notifications``): each is handled once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ipn_notifications",
        sa.Column("notification_id", sa.String(128), primary_key=True),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ipn_notifications")
