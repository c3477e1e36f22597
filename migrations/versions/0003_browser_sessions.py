"""Which browser is signed in as whom, kept on the server (``browser_sessions``): signing out
ends the session for every copy of its cookie.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "browser_sessions",
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("buyer_id", sa.String(128)),
        sa.Column("signed_out_at", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("browser_sessions")
