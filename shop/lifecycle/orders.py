"""Orders in SQLite (``instance/orders.sqlite``), with every state change recorded.

An order is made from the server's cart, once per payment request: at Place Order for an
Amazon Checkout Session, or when a signed-in buyer pays with the saved wallet. The request
key is UNIQUE, so a double click or a second tab finds the same order. Its amounts never
change afterwards: Amazon is sent exactly these, with an idempotency key derived from the
order reference, so a retry can never charge twice.

States: ``awaiting_payment`` (buyer sent to Amazon) -> ``paid`` (Complete answered 200) |
``pending`` (202: authorization still pending; on hold) | ``failed`` (declined or canceled).

Amazon Pay steps kept here: the one **Update Checkout Session** of an order
(``redirect_once``), and the ``checkout_completed`` signal after **Complete Checkout
Session**, which optional features (the saved wallet) listen to.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from blinker import Namespace

from ..money import Totals
from . import db as database

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    reference TEXT UNIQUE NOT NULL,
    payment_request TEXT UNIQUE NOT NULL,
    checkout_session_id TEXT UNIQUE,
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
    update_started_at TEXT,
    redirect_url TEXT,
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

#: Sent when Complete Checkout Session settled an order: ``sender`` is the Flask app, with
#: ``order`` and ``checkout_session`` (Amazon's body). The checkout does not need to know
#: who listens (the saved-wallet feature keeps a PaymentMethodOnFile charge permission).
checkout_completed = Namespace().signal("checkout-completed")


@dataclass(frozen=True)
class Order:
    id: int
    reference: str
    payment_request: str
    checkout_session_id: str | None
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
    update_started_at: str | None
    redirect_url: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Order:
        values = dict(row)
        for name in ("subtotal", "shipping", "tax", "total"):
            values[name] = Decimal(values[name])
        values["items"] = json.loads(values["items"])
        return cls(**values)

    @property
    def totals(self) -> Totals:
        return Totals(self.subtotal, self.shipping, self.tax, self.total, self.currency)


def init_app(app) -> None:
    database.init_app(app, SCHEMA)
    # Databases made by earlier versions of this file get the newer columns.
    database.add_missing_columns(
        app, "orders", {"payment_request": "TEXT", "update_started_at": "TEXT", "redirect_url": "TEXT"}
    )


def claim_checkout_session(checkout_session_id: str, owner: str) -> bool:
    """Bind an Amazon checkout session to the first browser session that brings it back
    from Amazon; False if it already belongs to someone else."""
    connection = database.db()
    connection.execute(
        "INSERT OR IGNORE INTO checkout_claims (checkout_session_id, owner, created_at) VALUES (?, ?, ?)",
        (checkout_session_id, owner, database.now()),
    )
    row = connection.execute(
        "SELECT owner FROM checkout_claims WHERE checkout_session_id = ?", (checkout_session_id,)
    ).fetchone()
    return row is not None and row["owner"] == owner


def claim_owner(checkout_session_id: str) -> str | None:
    row = (
        database.db()
        .execute("SELECT owner FROM checkout_claims WHERE checkout_session_id = ?", (checkout_session_id,))
        .fetchone()
    )
    return row["owner"] if row else None


def items_from_cart(lines) -> list[dict[str, Any]]:
    """How an order keeps its lines: what was bought, at which price (cart.Line objects in)."""
    return [
        {
            "productId": line.product.id,
            "name": line.product.name,
            "quantity": line.quantity,
            "unitPrice": str(line.unit_price),
            "total": str(line.total),
        }
        for line in lines
    ]


def create(
    payment_request: str,
    owner: str,
    items: list[dict[str, Any]],
    totals: Totals,
    buyer_email: str | None,
    checkout_session_id: str | None = None,
    charge_permission_id: str | None = None,
) -> Order:
    """The order for this payment request (``checkout:<id>`` or ``wallet:<nonce>``): made
    once; a repeat returns the first one."""
    now, reference = database.now(), "ORD-" + secrets.token_hex(4).upper()
    with database.transaction() as connection:
        existing = by_payment_request(payment_request)
        if existing is not None:
            return existing
        cursor = connection.execute(
            "INSERT INTO orders (reference, payment_request, checkout_session_id, owner, status, currency, subtotal,"
            " shipping, tax, total, items, buyer_email, charge_permission_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'awaiting_payment', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reference,
                payment_request,
                checkout_session_id,
                owner,
                totals.currency,
                str(totals.subtotal),
                str(totals.shipping),
                str(totals.tax),
                str(totals.total),
                json.dumps(items),
                buyer_email,
                charge_permission_id,
                now,
                now,
            ),
        )
        connection.execute(
            "INSERT INTO order_events (order_id, at, status, detail) VALUES (?, ?, 'awaiting_payment', ?)",
            (cursor.lastrowid, now, f"Order placed; total {totals.total} {totals.currency}"),
        )
    return by_payment_request(payment_request)


def _one(where: str, value: str) -> Order | None:
    assert where in ("payment_request", "checkout_session_id", "reference"), where  # never SQL from input
    row = database.db().execute(f"SELECT * FROM orders WHERE {where} = ?", (value,)).fetchone()
    return Order.from_row(row) if row else None


def by_payment_request(payment_request: str) -> Order | None:
    return _one("payment_request", payment_request)


def by_checkout_session(checkout_session_id: str) -> Order | None:
    return _one("checkout_session_id", checkout_session_id)


def by_reference(reference: str) -> Order | None:
    return _one("reference", reference)


def redirect_once(order: Order, update: Callable[[Order], str]) -> str:
    """Amazon's ``amazonPayRedirectUrl`` for this order, from exactly one successful Update
    Checkout Session: ``update(order)`` sends it and returns the URL. A double click or a
    second tab waits for the first request (no polling: a lock the OS frees if that request
    dies) and reuses its URL. If ``update`` raises, nothing is stored and the next Place
    Order tries again."""
    if order.redirect_url:
        return order.redirect_url
    with database.order_lock(order.reference):
        current = by_reference(order.reference)
        if current.redirect_url:
            return current.redirect_url
        redirect_url = update(current)
        with database.transaction() as connection:
            connection.execute("UPDATE orders SET redirect_url = ? WHERE id = ?", (redirect_url, order.id))
            connection.execute(
                "INSERT INTO order_events (order_id, at, status, detail) VALUES (?, ?, ?, ?)",
                (order.id, database.now(), order.status, "Update Checkout Session: buyer sent to Amazon Pay"),
            )
    return redirect_url


def record(order: Order, status: str, detail: str, **fields: str | None) -> Order:
    """Move the order to ``status``, store ``fields`` (charge ids, failure reason), log an event."""
    allowed = {"charge_id", "charge_permission_id", "failure_reason"}
    assert set(fields) <= allowed, fields  # column names come from this whitelist, never from input
    now = database.now()
    assignments = "".join(f", {name} = ?" for name in fields)
    with database.transaction() as connection:
        connection.execute(
            f"UPDATE orders SET status = ?, updated_at = ?{assignments} WHERE id = ?",
            (status, now, *fields.values(), order.id),
        )
        connection.execute(
            "INSERT INTO order_events (order_id, at, status, detail) VALUES (?, ?, ?, ?)",
            (order.id, now, status, detail),
        )
    return by_reference(order.reference)


def events(order: Order) -> list[sqlite3.Row]:
    return (
        database.db()
        .execute("SELECT at, status, detail FROM order_events WHERE order_id = ? ORDER BY id", (order.id,))
        .fetchall()
    )
