"""Orders in SQLite (``instance/orders.sqlite``), with every state change recorded.

An order is made at Place Order from the server's cart, bound to one Amazon Checkout
Session (UNIQUE: a double click or a second tab finds the same order) and to the browser
session that placed it. Its amounts never change afterwards: Complete Checkout Session is
sent exactly these, with an idempotency key derived from the order reference.

States: ``awaiting_payment`` (buyer sent to Amazon) -> ``paid`` (Complete answered 200) |
``pending`` (202: authorization still pending; on hold) | ``failed`` (declined or canceled).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, g

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    reference TEXT UNIQUE NOT NULL,
    checkout_session_id TEXT UNIQUE NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    subtotal TEXT NOT NULL,
    shipping TEXT NOT NULL,
    tax TEXT NOT NULL,
    total TEXT NOT NULL,
    items TEXT NOT NULL,
    buyer_email TEXT,
    charge_id TEXT,
    charge_permission_id TEXT,
    failure_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_events (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS checkout_claims (
    checkout_session_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

FINAL = ("paid", "pending", "failed")


@dataclass(frozen=True)
class Order:
    id: int
    reference: str
    checkout_session_id: str
    owner: str
    status: str
    currency: str
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    items: list[dict[str, Any]]
    buyer_email: str | None
    charge_id: str | None
    charge_permission_id: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Order:
        values = dict(row)
        for name in ("subtotal", "shipping", "tax", "total"):
            values[name] = Decimal(values[name])
        values["items"] = json.loads(values["items"])
        return cls(**values)


def db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"], timeout=10, isolation_level=None)
        g.db.row_factory = sqlite3.Row
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def init_app(app) -> None:
    with sqlite3.connect(app.config["DATABASE"]) as connection:
        connection.executescript(SCHEMA)
    connection.close()
    app.teardown_appcontext(close_db)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def claim_checkout_session(checkout_session_id: str, owner: str) -> bool:
    """Bind an Amazon checkout session to the first browser session that brings it back
    from Amazon; False if it already belongs to someone else."""
    db().execute(
        "INSERT OR IGNORE INTO checkout_claims (checkout_session_id, owner, created_at) VALUES (?, ?, ?)",
        (checkout_session_id, owner, _now()),
    )
    row = (
        db()
        .execute("SELECT owner FROM checkout_claims WHERE checkout_session_id = ?", (checkout_session_id,))
        .fetchone()
    )
    return row is not None and row["owner"] == owner


def create(
    checkout_session_id: str,
    owner: str,
    currency: str,
    items: list[dict[str, Any]],
    subtotal: Decimal,
    shipping: Decimal,
    tax: Decimal,
    total: Decimal,
    buyer_email: str | None,
) -> Order:
    """The order for this checkout session: made once; a repeat returns the first one."""
    now, reference = _now(), "ORD-" + secrets.token_hex(4).upper()
    connection = db()
    connection.execute("BEGIN IMMEDIATE")
    try:
        existing = by_checkout_session(checkout_session_id)
        if existing is not None:
            connection.execute("COMMIT")
            return existing
        cursor = connection.execute(
            "INSERT INTO orders (reference, checkout_session_id, owner, status, currency, subtotal, shipping, tax,"
            " total, items, buyer_email, created_at, updated_at) VALUES (?, ?, ?, 'awaiting_payment', ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?)",
            (
                reference,
                checkout_session_id,
                owner,
                currency,
                str(subtotal),
                str(shipping),
                str(tax),
                str(total),
                json.dumps(items),
                buyer_email,
                now,
                now,
            ),
        )
        connection.execute(
            "INSERT INTO order_events (order_id, at, status, detail) VALUES (?, ?, 'awaiting_payment', ?)",
            (cursor.lastrowid, now, f"Order placed; total {total} {currency}"),
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return by_checkout_session(checkout_session_id)


def by_checkout_session(checkout_session_id: str) -> Order | None:
    row = db().execute("SELECT * FROM orders WHERE checkout_session_id = ?", (checkout_session_id,)).fetchone()
    return Order.from_row(row) if row else None


def by_reference(reference: str) -> Order | None:
    row = db().execute("SELECT * FROM orders WHERE reference = ?", (reference,)).fetchone()
    return Order.from_row(row) if row else None


def record(order: Order, status: str, detail: str, **fields: str | None) -> Order:
    """Move the order to ``status``, store ``fields`` (charge ids, failure reason), log an event."""
    allowed = {"charge_id", "charge_permission_id", "failure_reason"}
    assert set(fields) <= allowed, fields
    now = _now()
    assignments = ", ".join(f"{name} = ?" for name in fields)
    connection = db()
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(
            f"UPDATE orders SET status = ?, updated_at = ?{', ' + assignments if fields else ''} WHERE id = ?",
            (status, now, *fields.values(), order.id),
        )
        connection.execute(
            "INSERT INTO order_events (order_id, at, status, detail) VALUES (?, ?, ?, ?)",
            (order.id, now, status, detail),
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return by_reference(order.reference)


def events(order: Order) -> list[sqlite3.Row]:
    return (
        db()
        .execute("SELECT at, status, detail FROM order_events WHERE order_id = ? ORDER BY id", (order.id,))
        .fetchall()
    )
