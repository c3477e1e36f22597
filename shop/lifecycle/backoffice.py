"""The merchant's actions on an order after checkout, each one Amazon Pay operation:

- **Capture Charge** when the order ships (full or part of the authorized amount): money moves
  (https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#capture-charge);
- **Cancel Charge**: release an authorization that will not be captured
  (https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#cancel-charge);
- **Create Refund**, full or partial, several: asynchronous, ``RefundInitiated`` then
  ``Refunded`` or ``Declined``, settled by IPN and by the reconcile pass
  (https://developer.amazon.com/docs/amazon-pay-api-v2/refund.html).

Each sends an idempotency key derived from the order and the action (a double-submitted form
repeats, never duplicates), and Amazon's rules are checked first so a merchant gets a plain
reason instead of an error code: a capture needs an Authorized charge and at most its amount;
at most 10 refunds per charge, and no more than the captured amount plus 15 % or 75 in the
currency, whichever is less (https://pay.amazon.com/help/201212360).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from ..amazon_pay import AmazonPayError
from ..money import amazon_price, quantize
from . import orders
from .db import Money, db, now, order_lock, read, write
from .reconcile import client, no_answer

log = logging.getLogger(__name__)

refunds_table = db.Table(
    "refunds",
    sa.Column("refund_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

MAX_REFUNDS = 10
OVER_REFUND_SHARE = Decimal("0.15")
OVER_REFUND_CAP = Decimal(75)


class Refused(ValueError):
    """Amazon's rules (or Amazon itself) forbid this action now: the message says why, plainly."""


def charge_of(order: orders.Order) -> dict[str, Any]:
    if not order.charge_id:
        raise Refused("This order has no charge at Amazon Pay.")
    return client().get_charge(order.charge_id).body


def _amount(value: dict[str, str] | None) -> Decimal:
    return Decimal(value["amount"]) if value else Decimal(0)


def capture(order: orders.Order, amount: Decimal, carrier: str = "", tracking: str = "") -> orders.Order:
    """Capture ``amount`` of the order's authorized charge (the order ships); with a carrier and
    tracking number, also a Delivery Tracker, so that Amazon can tell the buyer on Alexa when the
    parcel is out for delivery and delivered."""
    with order_lock(order.reference):
        order = orders.by_reference(order.reference)
        charge = charge_of(order)
        state, authorized = charge["statusDetails"]["state"], _amount(charge.get("chargeAmount"))
        amount = quantize(amount, order.currency)
        if state != "Authorized":
            raise Refused(f"Amazon Pay can capture an authorized charge only; this one is {state}.")
        if not Decimal(0) < amount <= authorized:
            raise Refused(f"Capture between 0 and the authorized {authorized} {order.currency}.")
        answer = _send(
            lambda: client().capture_charge(
                order.charge_id,
                {"captureAmount": amazon_price(amount, order.currency), "softDescriptor": "Trailhead Supply"},
                idempotency_key=f"{order.reference}-capture",
            )
        )
        state = answer["statusDetails"]["state"]
        order = orders.note(order, f"Captured {amount} {order.currency} (Capture Charge: {state})", "shipped")
        if carrier and tracking:
            order = _track(order, carrier, tracking)
        return order


def _track(order: orders.Order, carrier: str, tracking: str) -> orders.Order:
    """Delivery Tracker for the shipment (https://developer.amazon.com/docs/amazon-pay-api-v2/delivery-tracker.html).
    The money is captured already: a refused tracker is noted, not an error."""
    try:
        client().delivery_trackers(
            {
                "chargePermissionId": order.charge_permission_id,
                "deliveryDetails": [{"trackingNumber": tracking[:64], "carrierCode": carrier}],
            },
            idempotency_key=f"{order.reference}-tracker",
        )
    except AmazonPayError as error:
        return orders.note(order, f"Delivery Tracker not sent: {error.reason_code} ({error.message})")
    return orders.note(order, f"Delivery Tracker sent: {carrier} {tracking[:64]}")


def cancel(order: orders.Order) -> orders.Order:
    """Release the order's authorization (nothing was captured): Cancel Charge."""
    with order_lock(order.reference):
        order = orders.by_reference(order.reference)
        charge = charge_of(order)
        if charge["statusDetails"]["state"] not in ("Authorized", "AuthorizationInitiated"):
            raise Refused(f"Only an authorization can be canceled; this charge is {charge['statusDetails']['state']}.")
        answer = _send(lambda: client().cancel_charge(order.charge_id, {"cancellationReason": "Canceled by the shop"}))
        return orders.note(
            order, f"Authorization canceled (Cancel Charge: {answer['statusDetails']['state']})", "canceled"
        )


def refund(order: orders.Order, amount: Decimal, number: int) -> orders.Order:
    """Refund ``amount``; ``number`` counts this order's refunds (1, 2, …) and comes from the
    form the merchant saw, so that a double submit sends the same idempotency key."""
    with order_lock(order.reference):
        order = orders.by_reference(order.reference)
        charge = charge_of(order)
        captured = _amount(charge.get("captureAmount"))
        done = refunds_of(order)
        if number != len(done) + 1:
            return order  # this form was submitted already: the refund exists
        if len(done) >= MAX_REFUNDS:
            raise Refused(f"Amazon Pay allows at most {MAX_REFUNDS} refunds per charge.")
        amount = quantize(amount, order.currency)
        allowed = captured + min(captured * OVER_REFUND_SHARE, OVER_REFUND_CAP) - refunded_total(done)
        if not Decimal(0) < amount <= quantize(allowed, order.currency):
            raise Refused(
                f"Refund between 0 and {quantize(allowed, order.currency)} {order.currency} "
                "(what was captured and not refunded, plus Amazon's small margin)."
            )
        answer = _send(
            lambda: client().create_refund(
                {
                    "chargeId": order.charge_id,
                    "refundAmount": amazon_price(amount, order.currency),
                    "softDescriptor": "Trailhead Supply",
                },
                idempotency_key=f"{order.reference}-refund-{number}",
            )
        )
        _store_refund(order, answer, amount)
        return orders.note(order, f"Refund of {amount} {order.currency} asked ({answer['statusDetails']['state']})")


def _send(call) -> dict[str, Any]:
    try:
        return call().body
    except AmazonPayError as error:
        if no_answer(error):
            raise Refused("Amazon Pay did not answer. Try again: the same action is not repeated twice.") from error
        raise Refused(f"Amazon Pay refused it: {error.reason_code} ({error.message})") from error


def _store_refund(order: orders.Order, refund: dict[str, Any], amount: Decimal) -> None:
    at = now()
    with write() as connection:
        connection.execute(
            sa.insert(refunds_table).values(
                refund_id=refund["refundId"],
                order_id=order.id,
                amount=amount,
                state=refund["statusDetails"]["state"],
                reason=refund["statusDetails"].get("reasonCode"),
                created_at=at,
                updated_at=at,
            )
        )


def refunds_of(order: orders.Order) -> list[Row]:
    query = sa.select(refunds_table).where(refunds_table.c.order_id == order.id).order_by(refunds_table.c.created_at)
    with read() as connection:
        return connection.execute(query).all()


def refunded_total(refunds: list[Row]) -> Decimal:
    """What is refunded or on its way (a declined refund gives the amount back)."""
    return sum((row.amount for row in refunds if row.state != "Declined"), Decimal(0))


def settle_refund(refund_id: str) -> str:
    """Amazon's news about a refund (IPN or reconcile): read it and store its state."""
    refund = client().get_refund(refund_id).body
    state, reason = refund["statusDetails"]["state"], refund["statusDetails"].get("reasonCode")
    with write() as connection:
        updated = connection.execute(
            sa.update(refunds_table)
            .where(refunds_table.c.refund_id == refund_id, refunds_table.c.state != state)
            .values(state=state, reason=reason, updated_at=now())
            .returning(refunds_table.c.order_id)
        ).scalar()
    if updated is None:
        return "refund unchanged or unknown"
    with read() as connection:
        row = connection.execute(
            sa.select(orders.orders_table.c.reference).where(orders.orders_table.c.id == updated)
        ).first()
    order = orders.by_reference(row.reference)
    words = {"Refunded": "Refund completed", "Declined": "Refund DECLINED: refund the buyer by another means"}
    step = {"Refunded": "refunded", "Declined": "refund_declined"}.get(state)
    orders.note(
        order, f"{words.get(state, 'Refund ' + state)}: {refund['refundAmount']['amount']} {order.currency}", step
    )
    return f"{order.reference}: refund {state}"


def pending_refunds(limit: int = 200) -> list[str]:
    with read() as connection:
        return list(
            connection.execute(
                sa.select(refunds_table.c.refund_id).where(refunds_table.c.state == "RefundInitiated").limit(limit)
            ).scalars()
        )
