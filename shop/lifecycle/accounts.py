"""Buyers who signed in with Amazon, and their saved Amazon Pay wallet (table ``buyers``).

A buyer is known by Amazon's ``buyerId`` (from Get Buyer after Sign in with Amazon). The
saved wallet is a ``PaymentMethodOnFile`` Charge Permission made at checkout; the shop keeps
only its id and the product type (PayAndShip / PayOnly) it was saved with. Everything else
(descriptor, address, Chargeable or not) is read from Amazon when shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .db import db, now, read, upsert, write

buyers_table = db.Table(
    "buyers",
    sa.Column("buyer_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("email", sa.String(320)),
    sa.Column("charge_permission_id", sa.String(64)),
    sa.Column("product_type", sa.String(16)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)


@dataclass(frozen=True)
class Buyer:
    buyer_id: str
    name: str | None
    email: str | None
    charge_permission_id: str | None
    product_type: str | None
    created_at: str
    updated_at: str


def get(buyer_id: str | None) -> Buyer | None:
    if not buyer_id:
        return None
    with read() as connection:
        row = connection.execute(sa.select(buyers_table).where(buyers_table.c.buyer_id == buyer_id)).first()
    return Buyer(**row._asdict()) if row else None


def signed_in(buyer_id: str, name: str | None, email: str | None) -> Buyer:
    at = now()
    with write() as connection:
        connection.execute(
            upsert(
                buyers_table,
                "buyer_id",
                {"name": name, "email": email, "updated_at": at},
                buyer_id=buyer_id,
                name=name,
                email=email,
                created_at=at,
                updated_at=at,
            )
        )
    return get(buyer_id)


def save_wallet(buyer_id: str, charge_permission_id: str | None, product_type: str | None) -> None:
    with write() as connection:
        connection.execute(
            sa.update(buyers_table)
            .where(buyers_table.c.buyer_id == buyer_id)
            .values(charge_permission_id=charge_permission_id, product_type=product_type, updated_at=now())
        )
