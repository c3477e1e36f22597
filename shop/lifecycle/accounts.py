"""Buyers who signed in with Amazon, and their saved Amazon Pay wallet.

A buyer is known by Amazon's ``buyerId`` (from Get Buyer after Sign in with Amazon). The
saved wallet is a ``PaymentMethodOnFile`` Charge Permission made at checkout; the shop keeps
only its id and the product type (PayAndShip / PayOnly) it was saved with. Everything else
(descriptor, address, Chargeable or not) is read from Amazon when shown.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import db as database

SCHEMA = """
CREATE TABLE IF NOT EXISTS buyers (
    buyer_id TEXT PRIMARY KEY,
    name TEXT,
    email TEXT,
    charge_permission_id TEXT,
    product_type TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Buyer:
    buyer_id: str
    name: str | None
    email: str | None
    charge_permission_id: str | None
    product_type: str | None
    created_at: str
    updated_at: str


def init_app(app) -> None:
    database.init_app(app, SCHEMA)


def get(buyer_id: str | None) -> Buyer | None:
    if not buyer_id:
        return None
    row: sqlite3.Row | None = database.db().execute("SELECT * FROM buyers WHERE buyer_id = ?", (buyer_id,)).fetchone()
    return Buyer(**dict(row)) if row else None


def signed_in(buyer_id: str, name: str | None, email: str | None) -> Buyer:
    now = database.now()
    with database.transaction() as connection:
        connection.execute(
            "INSERT INTO buyers (buyer_id, name, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (buyer_id) DO UPDATE SET name = excluded.name, email = excluded.email,"
            " updated_at = excluded.updated_at",
            (buyer_id, name, email, now, now),
        )
    return get(buyer_id)


def save_wallet(buyer_id: str, charge_permission_id: str | None, product_type: str | None) -> None:
    with database.transaction() as connection:
        connection.execute(
            "UPDATE buyers SET charge_permission_id = ?, product_type = ?, updated_at = ? WHERE buyer_id = ?",
            (charge_permission_id, product_type, database.now(), buyer_id),
        )
