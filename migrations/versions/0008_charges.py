"""Further charges on an order's Charge Permission (``charges``, a split shipment), and the charge
each refund refunds (``refunds.charge_id``; refunds made before this revision refunded the order's
own charge).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("charge_id", sa.String(64), unique=True),
        sa.Column("amount", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("order_id", "number", name="uq_charges_order_number"),
    )
    op.add_column("refunds", sa.Column("charge_id", sa.String(64)))
    op.execute("UPDATE refunds SET charge_id = (SELECT charge_id FROM orders WHERE orders.id = refunds.order_id)")


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("charge_id")
    op.drop_table("charges")
