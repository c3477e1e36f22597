"""What an order's summary shows: the buyer's name, the address it ships to, the payment
method as Amazon Pay describes it, and the VAT / consumption tax its total contains.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (
    ("included_tax", sa.String(32)),
    ("buyer_name", sa.String(200)),
    ("ship_to", sa.JSON),
    ("payment_descriptor", sa.String(200)),
)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
