"""The merchant's actions on an order after checkout, each one Amazon Pay operation:

- **Capture Charge** when the order ships (full or part of the authorized amount): money moves
  (https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#capture-charge);
- **Create Charge** on the order's Charge Permission, captured at once: a further charge for the
  next parcel of a split shipment, after a partial capture; a one-time Charge Permission takes
  "up to 25 Charges as long as the total amount captured does not exceed the amountLimit"
  (https://developer.amazon.com/docs/amazon-pay-checkout/deferred-transactions.html,
  https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#create-charge); a pending one
  is settled by IPN and by the reconcile pass (``settle_charge``);
- **Cancel Charge**: release an authorization that will not be captured
  (https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#cancel-charge);
- **Close Charge Permission** with ``cancelPendingCharges``: close the order, so that nothing
  more can be charged on it, canceling what is authorized and not captured (an order canceled
  before it shipped, or the rest of a split shipment that will not ship)
  (https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html#close-charge-permission);
- **Create Refund** of one of the order's charges, full or partial, several: asynchronous,
  ``RefundInitiated`` then ``Refunded`` or ``Declined`` (the merchant must then refund the buyer
  by another means), settled by IPN and by the reconcile pass (``settle_refund``)
  (https://developer.amazon.com/docs/amazon-pay-api-v2/refund.html).

Each sends an idempotency key derived from the order and the action (a double-submitted form
repeats, never duplicates; Close, a DELETE that takes no key, is guarded by the order's history
and the Charge Permission's state), and Amazon's rules are checked first so a merchant gets a
plain reason instead of an error code: a capture needs an Authorized charge and at most its amount;
a further charge a Chargeable permission and at most its ``amountBalance``; at most 10 refunds
per charge, and no more than the charge's captured amount plus 15 % or 75 in the currency,
whichever is less (https://pay.amazon.com/help/201212360).

The order's first charge (from checkout, or the saved wallet) is ``orders.charge_id``, settled
with the order (``reconcile.py``); further charges are rows of ``charges``, numbered 2, 3, …
A further charge whose answer was lost (``Unconfirmed``) is asked again by the reconcile pass
(``confirm_charge``), with the same amount and idempotency key, so Amazon replays its answer.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Row

from ..amazon_pay import AmazonPayError
from ..money import amazon_price, quantize
from . import orders
from .db import Money, db, later, now, order_lock, read, write
from .reconcile import RESEND_WITHIN_SECONDS, client, no_answer

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
    sa.Column("charge_id", sa.String(64)),  # the charge it refunds
)
#: Further charges: a row is written before Create Charge is sent (state ``Unconfirmed``), so that
#: a lost answer is asked again with the same idempotency key and amount, never charged twice.
charges_table = db.Table(
    "charges",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),  # 2, 3, …: the order's first charge is 1
    sa.Column("charge_id", sa.String(64), unique=True),  # Amazon's, once it answered
    sa.Column("amount", Money, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("order_id", "number", name="uq_charges_order_number"),
)

SOFT_DESCRIPTOR = "Trailhead Supply"  # on the buyer's statement (at most 16 characters)
MAX_CHARGES = 25  # per one-time Charge Permission
PENDING_CHARGE_STATES = ("AuthorizationInitiated", "CaptureInitiated")
MAX_REFUNDS = 10
MAX_CLOSURE_REASON = 255  # characters, Amazon's limit for closureReason
#: The history note of a close: the guard against closing (and telling the buyer) twice.
CLOSED_NOTE = "Order closed at Amazon Pay"
TRACKER_NOTE = "Delivery Tracker sent: "
#: Carriers offered for a Delivery Tracker: Amazon's carrier codes, and the names buyers know
#: (https://developer.amazon.com/docs/amazon-pay-api-v2/delivery-tracker.html, "carrierCode").
CARRIERS = {
    "UPS": "UPS",
    "USPS": "USPS",
    "FEDEX": "FedEx",
    "DHL": "DHL",
    "DHL_PAKET": "DHL Paket",
    "DPD": "DPD",
    "HERMES": "Hermes",
    "GLS": "GLS",
    "ROYAL_MAIL": "Royal Mail",
    "YAMATO": "Yamato Transport",
    "JAPAN_POST": "Japan Post",
}
OVER_REFUND_SHARE = Decimal("0.15")
OVER_REFUND_CAP = Decimal(75)


class Refused(ValueError):
    """Amazon's rules (or Amazon itself) forbid this action now: the message says why, plainly."""


def charge_of(order: orders.Order, charge_id: str | None = None) -> dict[str, Any]:
    """Get Charge: the order's first charge, or ``charge_id`` if it is one of the order's."""
    charge_id = charge_id or order.charge_id
    if not charge_id or charge_id not in charge_ids(order):
        raise Refused("This order has no such charge at Amazon Pay.")
    return _send(lambda: client().get_charge(charge_id))


def charge_ids(order: orders.Order) -> list[str]:
    """Amazon's ids of the order's charges, first to last."""
    further = [row.charge_id for row in further_charges(order) if row.charge_id]
    return ([order.charge_id] if order.charge_id else []) + further


def further_charges(order: orders.Order) -> list[Row]:
    query = sa.select(charges_table).where(charges_table.c.order_id == order.id).order_by(charges_table.c.number)
    with read() as connection:
        return connection.execute(query).all()


def _amount(value: dict[str, str] | None) -> Decimal:
    return Decimal(value["amount"]) if value else Decimal(0)


def capture(order: orders.Order, amount: Decimal, carrier: str = "", tracking: str = "") -> orders.Order:
    """Capture ``amount`` of the order's authorized charge (the order ships; a part of it when
    the rest ships later, with a further charge); with a carrier and tracking number, also a
    Delivery Tracker, so that Amazon can tell the buyer on Alexa when the parcel is out for
    delivery and delivered."""
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
                {"captureAmount": amazon_price(amount, order.currency), "softDescriptor": SOFT_DESCRIPTOR},
                idempotency_key=f"{order.reference}-capture",
            )
        )
        state = answer["statusDetails"]["state"]
        order = orders.note(order, f"Captured {amount} {order.currency} (Capture Charge: {state})", "shipped")
        if carrier and tracking:
            order = _track(order, carrier, tracking, "tracker")
        return order


def charge_further(
    order: orders.Order, amount: Decimal, number: int, carrier: str = "", tracking: str = ""
) -> orders.Order:
    """The next parcel of a split shipment: Create Charge on the order's Charge Permission for
    ``amount``, captured at once. ``number`` (2, 3, …) comes from the form the merchant saw and
    makes the idempotency key (``ORD-…-charge-2``): a double submit changes nothing, and after a
    lost answer the same request is sent again, so Amazon replays its answer instead of
    charging twice."""
    with order_lock(order.reference):
        order = orders.by_reference(order.reference)
        done = further_charges(order)
        asked = next((row for row in done if row.number == number), None)
        if asked is not None and asked.state != "Unconfirmed":
            return order  # this form was submitted already: Amazon answered it
        if asked is None:
            if number != len(done) + 2:
                return order  # an old form: the page has changed since
            amount = _chargeable(order, amount, len(done) + 1)
            _store_asked_charge(order, number, amount)
        else:
            amount = asked.amount  # the same request again, for Amazon to replay
        try:
            answer = _send(
                lambda: client().create_charge(
                    _further_charge(order, amount), idempotency_key=f"{order.reference}-charge-{number}"
                )
            )
        except Refused as refused:
            if isinstance(refused.__cause__, AmazonPayError) and not no_answer(refused.__cause__):
                _charge_answered(order, number, None, "Refused", refused.__cause__.reason_code)
            raise
        state = answer["statusDetails"]["state"]
        _charge_answered(order, number, answer["chargeId"], state, answer["statusDetails"].get("reasonCode"))
        step = "shipped" if state == "Captured" else None
        order = orders.note(order, f"Further charge {number}: {amount} {order.currency} (Create Charge: {state})", step)
        if carrier and tracking:
            order = _track(order, carrier, tracking, f"tracker-{number}")
        return order


def _chargeable(order: orders.Order, amount: Decimal, charges: int) -> Decimal:
    """Amazon's rules for one more charge on the order's Charge Permission, checked first."""
    if not order.charge_permission_id:
        raise Refused("This order has no Charge Permission at Amazon Pay.")
    permission = _send(lambda: client().get_charge_permission(order.charge_permission_id))
    details = permission["statusDetails"]
    if details["state"] != "Chargeable":
        reasons = ", ".join(reason["reasonCode"] for reason in details.get("reasons") or [])
        raise Refused(
            f"Amazon Pay can charge a Chargeable Charge Permission only; this one is {details['state']}"
            + (f" ({reasons})." if reasons else ".")
        )
    if charges >= MAX_CHARGES:
        raise Refused(f"Amazon Pay allows at most {MAX_CHARGES} charges on one order's Charge Permission.")
    balance = _amount((permission.get("limits") or {}).get("amountBalance"))
    amount = quantize(amount, order.currency)
    if not Decimal(0) < amount <= balance:
        raise Refused(
            f"Charge between 0 and the {balance} {order.currency} left on the Charge Permission "
            "(the order's amount, less what was captured or is still authorized)."
        )
    return amount


def _further_charge(order: orders.Order, amount: Decimal) -> dict[str, Any]:
    return {
        "chargePermissionId": order.charge_permission_id,
        "chargeAmount": amazon_price(amount, order.currency),
        "captureNow": True,  # it ships now
        "softDescriptor": SOFT_DESCRIPTOR,
        "canHandlePendingAuthorization": current_app.config["AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION"],
        "merchantMetadata": {"merchantReferenceId": order.reference},
    }


def _store_asked_charge(order: orders.Order, number: int, amount: Decimal) -> None:
    at = now()
    with write() as connection:
        connection.execute(
            sa.insert(charges_table).values(
                order_id=order.id, number=number, amount=amount, state="Unconfirmed", created_at=at, updated_at=at
            )
        )


def _charge_answered(order: orders.Order, number: int, charge_id: str | None, state: str, reason: str | None) -> None:
    with write() as connection:
        connection.execute(
            sa.update(charges_table)
            .where(charges_table.c.order_id == order.id, charges_table.c.number == number)
            .values(charge_id=charge_id, state=state, reason=reason, updated_at=now())
        )


def _track(order: orders.Order, carrier: str, tracking: str, action: str) -> orders.Order:
    """Delivery Tracker for the shipment (https://developer.amazon.com/docs/amazon-pay-api-v2/delivery-tracker.html).
    The money is captured already: a refused tracker is noted, not an error."""
    try:
        client().delivery_trackers(
            {
                "chargePermissionId": order.charge_permission_id,
                "deliveryDetails": [{"trackingNumber": tracking[:64], "carrierCode": carrier}],
            },
            idempotency_key=f"{order.reference}-{action}",
        )
    except AmazonPayError as error:
        return orders.note(order, f"Delivery Tracker not sent: {error.reason_code} ({error.message})")
    return orders.note(order, f"{TRACKER_NOTE}{carrier} {tracking[:64]}", "tracking")


def trackers(events) -> list[tuple[str, str, str]]:
    """(carrier's name, tracking number, when) of each parcel with a Delivery Tracker, from the
    order's history: what the buyer's order page shows."""
    found = []
    for event in events:
        if event.status == "tracking" and event.detail.startswith(TRACKER_NOTE):
            code, _, number = event.detail.removeprefix(TRACKER_NOTE).partition(" ")
            found.append((CARRIERS.get(code, code), number, event.at))
    return found


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


def close_order(order: orders.Order, reason: str = "") -> orders.Order:
    """Close the order's Charge Permission with ``cancelPendingCharges``: nothing more can be
    charged on it, and what is authorized and not captured is canceled (a whole order
    canceled). ``reason`` is the closureReason Amazon keeps.

    A DELETE takes no idempotency key, so the order's history is the guard: a double submit
    finds the order closed by the shop and changes nothing. A Charge Permission Amazon shows
    ``Closed`` by the merchant (``MerchantClosed``) without that note was closed by an earlier
    try whose answer was lost: it is noted now. Closed for another reason (all captured, the
    buyer or Amazon canceled it, expired): refused, there is nothing to close."""
    reason = " ".join(reason.split()) or "Canceled by the shop"
    if len(reason) > MAX_CLOSURE_REASON:
        raise Refused(f"Amazon Pay takes a reason of at most {MAX_CLOSURE_REASON} characters.")
    with order_lock(order.reference):
        order = orders.by_reference(order.reference)
        if not order.charge_permission_id:
            raise Refused("This order has no Charge Permission at Amazon Pay.")
        if closed_by_shop(order):
            return order  # a double submit
        permission = _send(lambda: client().get_charge_permission(order.charge_permission_id))
        details = permission["statusDetails"]
        reasons = [item["reasonCode"] for item in details.get("reasons") or []]
        if details["state"] == "Closed" and "MerchantClosed" not in reasons:
            why = ", ".join(reasons) or "Closed"
            raise Refused(
                f"Amazon Pay has closed the Charge Permission of this order already ({why}): "
                "there is nothing left to close."
            )
        if details["state"] != "Closed":
            payload = {"closureReason": reason, "cancelPendingCharges": True}
            permission = _send(lambda: client().close_charge_permission(order.charge_permission_id, payload))
        return _note_closed(order, permission, reason)


def closed_by_shop(order: orders.Order) -> bool:
    """Whether the order's history has the shop's close of it."""
    return any(event.detail.startswith(CLOSED_NOTE) for event in orders.events(order))


def _note_closed(order: orders.Order, permission: dict[str, Any], reason: str) -> orders.Order:
    """The close in the order's history; the buyer's step ``canceled`` only when Amazon shows
    that none of the order's charges took or will take money."""
    charges = [_send(lambda charge_id=charge_id: client().get_charge(charge_id)) for charge_id in charge_ids(order)]
    captured = sum((_amount(charge.get("captureAmount")) for charge in charges), Decimal(0))
    released = all(charge["statusDetails"]["state"] in ("Canceled", "Declined") for charge in charges)
    state = permission["statusDetails"]["state"]
    if released and not captured:
        detail = "nothing was captured; what was authorized is canceled"
    else:
        detail = f"nothing more can be charged; {captured} {order.currency} captured stays (refund it if needed)"
    note = f"{CLOSED_NOTE}: {detail} (Close Charge Permission: {state}; reason: {reason})"
    return orders.note(order, note, "canceled" if released and not captured else None)


def refund(order: orders.Order, amount: Decimal, number: int, charge_id: str | None = None) -> orders.Order:
    """Refund ``amount`` of one of the order's charges (default: the first). ``number`` counts
    this order's refunds (1, 2, …) and comes from the form the merchant saw, so that a double
    submit sends the same idempotency key."""
    with order_lock(order.reference):
        order = orders.by_reference(order.reference)
        charge = charge_of(order, charge_id)
        charge_id = charge["chargeId"]
        captured = _amount(charge.get("captureAmount"))
        done = refunds_of(order)
        if number != len(done) + 1:
            return order  # this form was submitted already: the refund exists
        of_charge = [row for row in done if (row.charge_id or order.charge_id) == charge_id]
        if len(of_charge) >= MAX_REFUNDS:
            raise Refused(f"Amazon Pay allows at most {MAX_REFUNDS} refunds per charge.")
        amount = quantize(amount, order.currency)
        allowed = captured + min(captured * OVER_REFUND_SHARE, OVER_REFUND_CAP) - refunded_total(of_charge)
        if not Decimal(0) < amount <= quantize(allowed, order.currency):
            raise Refused(
                f"Refund between 0 and {quantize(allowed, order.currency)} {order.currency} "
                "(what this charge captured and was not refunded, plus Amazon's small margin)."
            )
        answer = _send(
            lambda: client().create_refund(
                {
                    "chargeId": charge_id,
                    "refundAmount": amazon_price(amount, order.currency),
                    "softDescriptor": SOFT_DESCRIPTOR,
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
                charge_id=refund["chargeId"],
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
    state = refund["statusDetails"]["state"]
    order = _store_state(refunds_table, refunds_table.c.refund_id, refund_id, refund["statusDetails"])
    if order is None:
        return "refund unchanged or unknown"
    words = {"Refunded": "Refund completed", "Declined": "Refund DECLINED: refund the buyer by another means"}
    step = {"Refunded": "refunded", "Declined": "refund_declined"}.get(state)
    orders.note(
        order, f"{words.get(state, 'Refund ' + state)}: {refund['refundAmount']['amount']} {order.currency}", step
    )
    return f"{order.reference}: refund {state}"


def is_further_charge(charge_id: str) -> bool:
    with read() as connection:
        return (
            connection.execute(sa.select(charges_table.c.id).where(charges_table.c.charge_id == charge_id)).first()
            is not None
        )


def settle_charge(charge_id: str) -> str:
    """Amazon's news about a further charge (IPN or reconcile): read it and store its state; a
    capture tells the buyer it shipped."""
    charge = client().get_charge(charge_id).body
    state, reason = charge["statusDetails"]["state"], charge["statusDetails"].get("reasonCode")
    order = _store_state(charges_table, charges_table.c.charge_id, charge_id, charge["statusDetails"])
    if order is None:
        return "charge unchanged or unknown"
    amount = f"{charge['chargeAmount']['amount']} {order.currency}"
    if state == "Captured":
        orders.note(order, f"Further charge captured: {amount}", "shipped")
    else:
        orders.note(order, f"Further charge {state}{f' ({reason})' if reason else ''}: {amount}")
    return f"{order.reference}: further charge {state}"


def _store_state(table: sa.Table, id_column: sa.Column, amazon_id: str, status: dict) -> orders.Order | None:
    """Store Amazon's state of a refund or further charge row; its order if the state changed
    (None: the same news again, or an object this shop does not know)."""
    with write() as connection:
        updated = connection.execute(
            sa.update(table)
            .where(id_column == amazon_id, table.c.state != status["state"])
            .values(state=status["state"], reason=status.get("reasonCode"), updated_at=now())
            .returning(table.c.order_id)
        ).scalar()
    return None if updated is None else _order_of(updated)


def _order_of(order_id: int) -> orders.Order:
    with read() as connection:
        reference = connection.execute(
            sa.select(orders.orders_table.c.reference).where(orders.orders_table.c.id == order_id)
        ).scalar()
    return orders.by_reference(reference)


def pending_refunds(limit: int = 200) -> list[str]:
    with read() as connection:
        return list(
            connection.execute(
                sa.select(refunds_table.c.refund_id).where(refunds_table.c.state == "RefundInitiated").limit(limit)
            ).scalars()
        )


def pending_charges(limit: int = 200) -> list[str]:
    with read() as connection:
        return list(
            connection.execute(
                sa.select(charges_table.c.charge_id)
                .where(charges_table.c.state.in_(PENDING_CHARGE_STATES), charges_table.c.charge_id.is_not(None))
                .limit(limit)
            ).scalars()
        )


def unconfirmed_charges(limit: int = 200) -> list[int]:
    """Further charges whose Create Charge answer was lost, young enough to ask again (Amazon
    surely still keeps their idempotency key); older ones wait for the merchant."""
    since = later(-RESEND_WITHIN_SECONDS)
    with read() as connection:
        return list(
            connection.execute(
                sa.select(charges_table.c.id)
                .where(charges_table.c.state == "Unconfirmed", charges_table.c.created_at >= since)
                .limit(limit)
            ).scalars()
        )


def confirm_charge(row_id: int) -> str:
    """Ask Amazon again about a further charge whose answer was lost (the reconcile pass): the
    same Create Charge, amount and idempotency key (``charge_further``), so Amazon replays the
    answer of a charge it made, or makes the one charge the merchant asked for."""
    with read() as connection:
        row = connection.execute(sa.select(charges_table).where(charges_table.c.id == row_id)).first()
    order = _order_of(row.order_id)
    try:
        charge_further(order, row.amount, row.number)
    except Refused as refused:
        return f"{order.reference}: further charge {row.number} not confirmed: {refused}"
    state = next(charge.state for charge in further_charges(order) if charge.number == row.number)
    return f"{order.reference}: further charge {row.number} {state}"
