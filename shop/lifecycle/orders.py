"""Orders, with every state change recorded (tables ``orders``, ``order_events``,
``checkout_claims``; see ``db.py`` for the database).

An order is made from the server's cart, once per payment request: at Place Order for an
Amazon Checkout Session, or when a signed-in buyer pays with the saved wallet. The request
key is UNIQUE, so a double click or a second tab finds the same order. Its amounts never
change afterwards: Amazon is sent exactly these, with an idempotency key derived from the
order reference, so a retry can never charge twice.

States: ``awaiting_payment`` (made; the buyer is on the way to Amazon, or paying with the
saved wallet) -> ``paid`` (Amazon authorized or captured) | ``pending`` (Amazon is still
deciding: the order is on hold) | ``failed`` (Amazon said no) | ``unconfirmed`` (the shop
asked Amazon to take the money and got no answer: the buyer may be charged, and
``reconcile.py`` finds out). ``paid`` and ``failed`` are final; the others are settled by
``reconcile.py``.

An order also keeps what its summary shows the buyer (order page, result page, e-mails): the
buyer's name, the ``shippingAddress`` and payment descriptor Amazon gave at Place Order, made
right after **Complete Checkout Session** with the ones Amazon completed it with.

Amazon Pay steps kept here: the one **Update Checkout Session** of an order
(``redirect_once``), and the ``checkout_completed`` signal after **Complete Checkout
Session**, which optional features (the saved wallet) listen to. Every change of an order
(``record``, ``note``) is announced by ``order_changed`` once it is stored (the buyer's
e-mails, ``notifications.py``, listen).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app
from sqlalchemy.engine import Connection, Row

from ..money import Totals
from .db import Money, db, insert_or_ignore, later, now, order_lock, read, write

orders_table = db.Table(
    "orders",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(40), unique=True, nullable=False),
    sa.Column("payment_request", sa.String(120), unique=True, nullable=False),
    sa.Column("checkout_session_id", sa.String(64), unique=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("subtotal", Money, nullable=False),
    sa.Column("shipping", Money, nullable=False),
    sa.Column("tax", Money, nullable=False),
    sa.Column("total", Money, nullable=False),
    sa.Column("included_tax", Money),  # VAT / consumption tax the total contains (not added)
    sa.Column("items", sa.JSON, nullable=False),
    sa.Column("buyer_email", sa.String(320)),
    sa.Column("buyer_name", sa.String(200)),
    sa.Column("ship_to", sa.JSON),  # Amazon's shippingAddress object; none for downloads
    sa.Column("payment_descriptor", sa.String(200)),  # "Visa ****1111", as Amazon Pay shows it
    sa.Column("charge_id", sa.String(64)),
    sa.Column("charge_permission_id", sa.String(64)),
    sa.Column("failure_reason", sa.String(64)),
    sa.Column("redirect_url", sa.Text),
    sa.Column("lease_until", sa.String(32)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)
events_table = db.Table(
    "order_events",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text),
)
notifications_table = db.Table(
    "ipn_notifications",
    sa.Column("notification_id", sa.String(128), primary_key=True),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(128), nullable=False),
    sa.Column("received_at", sa.String(32), nullable=False),
)
claims_table = db.Table(
    "checkout_claims",
    sa.Column("checkout_session_id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

DONE = ("paid", "failed")
OPEN = ("awaiting_payment", "unconfirmed", "pending")
#: How long a reconcile pass may work on an order before another pass may take it.
LEASE_SECONDS = 120

#: The lifecycle's signals (blinker, as Flask's own): whoever sends them does not know who listens.
signals = Namespace()

#: Sent when Complete Checkout Session settled an order: ``sender`` is the Flask app, with
#: ``order`` and ``checkout_session`` (Amazon's body). The checkout does not need to know
#: who listens (the saved-wallet feature keeps a PaymentMethodOnFile charge permission).
checkout_completed = signals.signal("checkout-completed")

#: Sent after a change of an order is committed (``record``, ``note``): ``sender`` is the Flask
#: app, with ``order`` (as it is now), ``before`` (its status before the change) and ``step``
#: (the back office's step: shipped, canceled, refunded, refund_declined; None for a change of
#: state). The buyer's e-mails listen (``notifications.py``).
order_changed = signals.signal("order-changed")


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
    included_tax: Decimal | None
    items: list[dict[str, Any]]
    buyer_email: str | None
    buyer_name: str | None
    ship_to: dict[str, Any] | None
    payment_descriptor: str | None
    charge_id: str | None
    charge_permission_id: str | None
    failure_reason: str | None
    redirect_url: str | None
    lease_until: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Row) -> Order:
        return cls(**row._asdict())

    @property
    def totals(self) -> Totals:
        return Totals(self.subtotal, self.shipping, self.tax, self.total, self.currency, self.included_tax)

    @property
    def digital_only(self) -> bool:
        """Downloads only: nothing ships (no address, no shipping row, no "when it ships")."""
        return bool(self.items) and all(item.get("digital") for item in self.items)


def claim_checkout_session(checkout_session_id: str, owner: str) -> bool:
    """Bind an Amazon checkout session to the first browser session that brings it back
    from Amazon; False if it already belongs to someone else."""
    with write() as connection:
        connection.execute(
            insert_or_ignore(claims_table, checkout_session_id=checkout_session_id, owner=owner, created_at=now())
        )
    return claim_owner(checkout_session_id) == owner


def claim_owner(checkout_session_id: str) -> str | None:
    query = sa.select(claims_table.c.owner).where(claims_table.c.checkout_session_id == checkout_session_id)
    with read() as connection:
        return connection.execute(query).scalar()


def items_from_cart(lines) -> list[dict[str, Any]]:
    """How an order keeps its lines: what was bought, at which price (cart.Line objects in)."""
    return [
        {
            "productId": line.product.id,
            "name": line.product.name,
            "quantity": line.quantity,
            "unitPrice": str(line.unit_price),
            "total": str(line.total),
            "digital": line.product.digital,
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
    buyer_name: str | None = None,
    ship_to: dict[str, Any] | None = None,
    payment_descriptor: str | None = None,
) -> Order:
    """The order for this payment request (``checkout:<id>`` or ``wallet:<nonce>``): made
    once; a repeat (a double click, a second tab, another app server) returns the first one.
    ``buyer_name``, ``ship_to`` (Amazon's ``shippingAddress``) and ``payment_descriptor`` are
    what the buyer reviewed, kept for the order page and e-mails."""
    at = now()
    order = {
        "payment_request": payment_request,
        "checkout_session_id": checkout_session_id,
        "owner": owner,
        "status": "awaiting_payment",
        "currency": totals.currency,
        "subtotal": totals.subtotal,
        "shipping": totals.shipping,
        "tax": totals.tax,
        "total": totals.total,
        "included_tax": totals.included_tax,
        "items": items,
        "buyer_email": buyer_email,
        "buyer_name": buyer_name,
        "ship_to": ship_to,
        "payment_descriptor": payment_descriptor,
        "charge_permission_id": charge_permission_id,
        "created_at": at,
        "updated_at": at,
    }
    for _ in range(8):  # a new random reference if one collides with an existing order's
        with write() as connection:
            # The UNIQUE payment request decides who makes the order; the loser finds it below.
            made = connection.execute(
                insert_or_ignore(orders_table, reference=new_reference(), **order).returning(orders_table.c.id)
            ).scalar()
            if made is not None:
                _event(connection, made, "awaiting_payment", f"Order placed; total {totals.total} {totals.currency}")
        found = by_payment_request(payment_request)
        if found is not None:
            return found
    raise RuntimeError("no free order reference after 8 tries")


def new_reference() -> str:
    """ORD- and 8 random hex digits: short enough to read out on the phone."""
    return "ORD-" + secrets.token_hex(4).upper()


def _event(connection: Connection, order_id: int, status: str, detail: str) -> None:
    connection.execute(sa.insert(events_table).values(order_id=order_id, at=now(), status=status, detail=detail))


def _one(column: sa.Column, value: str) -> Order | None:
    with read() as connection:
        row = connection.execute(sa.select(orders_table).where(column == value)).first()
    return Order.from_row(row) if row else None


def by_payment_request(payment_request: str) -> Order | None:
    return _one(orders_table.c.payment_request, payment_request)


def by_checkout_session(checkout_session_id: str) -> Order | None:
    return _one(orders_table.c.checkout_session_id, checkout_session_id)


def by_reference(reference: str) -> Order | None:
    return _one(orders_table.c.reference, reference)


def by_charge_id(charge_id: str) -> Order | None:
    return _one(orders_table.c.charge_id, charge_id)


def open_of(charge_permission_id: str | None) -> list[Order]:
    """The orders not yet final that were paid through this charge permission."""
    if not charge_permission_id:
        return []
    query = sa.select(orders_table).where(
        orders_table.c.charge_permission_id == charge_permission_id, orders_table.c.status.in_(OPEN)
    )
    with read() as connection:
        return [Order.from_row(row) for row in connection.execute(query)]


def first_notice(notification_id: str, object_type: str, object_id: str) -> bool:
    """Record an Instant Payment Notification; False if it was seen before (SNS delivers at
    least once: duplicates are expected)."""
    with write() as connection:
        inserted = connection.execute(
            insert_or_ignore(
                notifications_table,
                notification_id=notification_id,
                object_type=object_type,
                object_id=object_id,
                received_at=now(),
            ).returning(notifications_table.c.notification_id)
        ).scalar()
    return inserted is not None


def page(status: str | None = None, before_id: int | None = None, size: int = 25) -> list[Order]:
    """Newest orders first, ``size`` at a time, after ``before_id`` (keyset pagination: a page
    costs the same however many orders there are), optionally in one ``status``."""
    query = sa.select(orders_table).order_by(orders_table.c.id.desc()).limit(size)
    if status:
        query = query.where(orders_table.c.status == status)
    if before_id:
        query = query.where(orders_table.c.id < before_id)
    with read() as connection:
        return [Order.from_row(row) for row in connection.execute(query)]


def unconfirmed_of(owner: str) -> list[Order]:
    """This browser's orders whose payment Amazon has not confirmed yet."""
    query = sa.select(orders_table).where(orders_table.c.owner == owner, orders_table.c.status == "unconfirmed")
    with read() as connection:
        return [Order.from_row(row) for row in connection.execute(query)]


def redirect_once(order: Order, update: Callable[[Order], str]) -> str:
    """Amazon's ``amazonPayRedirectUrl`` for this order, from exactly one successful Update
    Checkout Session: ``update(order)`` sends it and returns the URL. A double click or a
    second tab waits for the first request (no polling: a lock released even if that request
    dies) and reuses its URL. If ``update`` raises, nothing is stored and the next Place
    Order tries again."""
    if order.redirect_url:
        return order.redirect_url
    with order_lock(order.reference):
        current = by_reference(order.reference)
        if current.redirect_url:
            return current.redirect_url
        redirect_url = update(current)
        with write() as connection:
            connection.execute(
                sa.update(orders_table).where(orders_table.c.id == order.id).values(redirect_url=redirect_url)
            )
            _event(connection, order.id, order.status, "Update Checkout Session: buyer sent to Amazon Pay")
    return redirect_url


def note(order: Order, detail: str, step: str | None = None) -> Order:
    """Add to the order's history without changing its payment state: the back office's
    actions, marked with the ``step`` the buyer sees (shipped, canceled, refunded, …)."""
    with write() as connection:
        _event(connection, order.id, step or order.status, detail)
        connection.execute(sa.update(orders_table).where(orders_table.c.id == order.id).values(updated_at=now()))
    return _changed(order, step)


def record(order: Order, status: str, detail: str, **fields: str | None) -> Order:
    """Move the order to ``status``, store ``fields`` (charge ids, failure reason), log an event."""
    allowed = {"charge_id", "charge_permission_id", "failure_reason"}
    assert set(fields) <= allowed, fields
    with write() as connection:
        connection.execute(
            sa.update(orders_table)
            .where(orders_table.c.id == order.id)
            .values(status=status, updated_at=now(), **fields)
        )
        _event(connection, order.id, status, detail)
    return _changed(order, None)


def _changed(order: Order, step: str | None) -> Order:
    """The order as stored now, announced by ``order_changed`` (the write has committed)."""
    changed = by_reference(order.reference)
    order_changed.send(current_app._get_current_object(), order=changed, before=order.status, step=step)
    return changed


def events(order: Order) -> list[Row]:
    query = sa.select(events_table.c.at, events_table.c.status, events_table.c.detail)
    with read() as connection:
        return connection.execute(query.where(events_table.c.order_id == order.id).order_by(events_table.c.id)).all()


def lease_open(connection: Connection, after_id: int, limit: int) -> list[Order]:
    """Take up to ``limit`` orders that are not final (after ``after_id``) for a reconcile
    pass: one UPDATE … RETURNING marks them leased for ``LEASE_SECONDS``. The inner SELECT is
    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so passes running at once on several workers or
    machines take different orders; SQLite has one writer at a time and no row locks."""
    at = now()
    free = sa.or_(orders_table.c.lease_until.is_(None), orders_table.c.lease_until < at)
    chosen = (
        sa.select(orders_table.c.id)
        .where(orders_table.c.status.in_(OPEN), orders_table.c.id > after_id, free)
        .order_by(orders_table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    leased = (
        sa.update(orders_table)
        .where(orders_table.c.id.in_(chosen.scalar_subquery()))
        .values(lease_until=later(LEASE_SECONDS))
        .returning(*orders_table.c)
    )
    return sorted((Order.from_row(row) for row in connection.execute(leased)), key=lambda order: order.id)


def release_lease(order: Order) -> None:
    with write() as connection:
        connection.execute(sa.update(orders_table).where(orders_table.c.id == order.id).values(lease_until=None))


def age_seconds(order: Order) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(order.created_at)).total_seconds()


def _keep_what_amazon_completed(app, order: Order, checkout_session: dict[str, Any], **_extra) -> None:
    """After Complete Checkout Session (``checkout_completed``): the address and payment method
    Amazon completed the order with. The buyer can change them at Amazon after Place Order (in
    another tab); the order page and the back office show what Amazon has."""
    address = None if order.digital_only else checkout_session.get("shippingAddress")
    descriptor = ((checkout_session.get("paymentPreferences") or [None])[0] or {}).get("paymentDescriptor")
    changed = {
        name: value
        for name, value in (("ship_to", address), ("payment_descriptor", descriptor))
        if value and value != getattr(order, name)
    }
    if changed:
        with write() as connection:
            connection.execute(sa.update(orders_table).where(orders_table.c.id == order.id).values(**changed))


checkout_completed.connect(_keep_what_amazon_completed)
