"""Orders, their history, checkout claims and buyers.

Also adopts a database made before migrations existed (by the shop's earlier add-column
helper): tables that exist are kept, with the columns they lack added, so no order is lost.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> dict[str, list[sa.Column]]:
    return {
        "orders": [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("reference", sa.String(40), unique=True, nullable=False),
            sa.Column("payment_request", sa.String(120), unique=True, nullable=False),
            sa.Column("checkout_session_id", sa.String(64), unique=True),
            sa.Column("owner", sa.String(64), nullable=False),
            sa.Column("status", sa.String(32), nullable=False, index=True),
            sa.Column("currency", sa.String(3), nullable=False),
            sa.Column("subtotal", sa.String(32), nullable=False),
            sa.Column("shipping", sa.String(32), nullable=False),
            sa.Column("tax", sa.String(32), nullable=False),
            sa.Column("total", sa.String(32), nullable=False),
            sa.Column("items", sa.JSON, nullable=False),
            sa.Column("buyer_email", sa.String(320)),
            sa.Column("charge_id", sa.String(64)),
            sa.Column("charge_permission_id", sa.String(64)),
            sa.Column("failure_reason", sa.String(64)),
            sa.Column("redirect_url", sa.Text),
            sa.Column("created_at", sa.String(32), nullable=False),
            sa.Column("updated_at", sa.String(32), nullable=False),
        ],
        "order_events": [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False, index=True),
            sa.Column("at", sa.String(32), nullable=False),
            sa.Column("status", sa.String(32), nullable=False),
            sa.Column("detail", sa.Text),
        ],
        "checkout_claims": [
            sa.Column("checkout_session_id", sa.String(64), primary_key=True),
            sa.Column("owner", sa.String(64), nullable=False),
            sa.Column("created_at", sa.String(32), nullable=False),
        ],
        "buyers": [
            sa.Column("buyer_id", sa.String(128), primary_key=True),
            sa.Column("name", sa.String(200)),
            sa.Column("email", sa.String(320)),
            sa.Column("charge_permission_id", sa.String(64)),
            sa.Column("product_type", sa.String(16)),
            sa.Column("created_at", sa.String(32), nullable=False),
            sa.Column("updated_at", sa.String(32), nullable=False),
        ],
    }


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for name, columns in _tables().items():
        if not inspector.has_table(name):
            op.create_table(name, *columns)
            continue
        present = {column["name"] for column in inspector.get_columns(name)}
        for column in columns:
            if column.name not in present:
                # Added columns of an adopted table are nullable: its old rows have no value.
                op.add_column(name, sa.Column(column.name, column.type, nullable=True))


def downgrade() -> None:
    for name in reversed(list(_tables())):
        op.drop_table(name)
