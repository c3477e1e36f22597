"""Orders get a lease for the reconcile pass (``lease_until``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("lease_until", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("lease_until")
