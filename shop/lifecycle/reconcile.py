"""Amazon's truth about an order, applied in one place, whoever brings the news: the result
page, the order page, the reconcile pass (``flask amazon-pay reconcile``, a timer in the
demo) and, later, Instant Payment Notifications.

Amazon Pay steps: **Complete Checkout Session** (the buyer is back, or never came back but
finished at Amazon: the shop completes before Amazon's 24-hour limit cancels the session),
**Get Checkout Session**, **Get Charge**, and for a saved-wallet order whose answer was lost,
**Create Charge** again with the same idempotency key (Amazon replays its stored answer:
https://developer.amazon.com/docs/amazon-pay-checkout/faqs.html).

An order moves only on what Amazon said. What the shop could not learn (no answer, a 5xx
after retries, a killed worker) leaves it ``unconfirmed``: never "nothing was charged". At
most two API calls settle an order. Asynchronous outcomes (a pending authorization decided
later) are described at
https://developer.amazon.com/docs/amazon-pay-checkout/asynchronous-processing.html.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import current_app

from .. import shipping
from ..amazon_pay import AmazonPayClient, AmazonPayError
from ..money import amazon_price
from ..regions import REGIONS
from . import orders
from .db import order_lock, write

log = logging.getLogger(__name__)

#: Re-send a lost Create Charge only well within the time Amazon keeps idempotency keys.
RESEND_WITHIN_SECONDS = 12 * 3600

#: Charge states, as the buyer's order sees them.
PAID_CHARGE_STATES = ("Authorized", "CaptureInitiated", "Captured")
PENDING_CHARGE_STATES = ("AuthorizationInitiated",)


def no_answer(error: AmazonPayError) -> bool:
    """Amazon did not say yes or no: no answer at all, a timeout, throttling or a server error
    (after the client's retries). A request that takes money may still have been applied."""
    return error.status is None or error.status in (408, 425, 429) or error.status >= 500


@dataclass(frozen=True)
class News:
    """What Amazon said about an order, in the shop's words."""

    status: str  # paid | pending | failed | unconfirmed
    detail: str  # for the order's history
    charge_id: str | None = None
    charge_permission_id: str | None = None
    failure_reason: str | None = None
    checkout_session: dict[str, Any] | None = None  # Amazon's body, when it was a Complete


def client() -> AmazonPayClient:
    return current_app.extensions["amazon_pay"]


def apply(order: orders.Order, news: News, source: str = "") -> orders.Order:
    """Move the order to what Amazon said (the one place that does), noting in its history who
    brought the news (``source``). Idempotent: the same news twice changes nothing the second
    time; a final order never moves back."""
    if order.status in orders.DONE or (order.status == news.status and news.status != "unconfirmed"):
        return order
    if news.status == "unconfirmed" and order.status == "unconfirmed":
        return order
    fields = {"charge_id": news.charge_id, "charge_permission_id": news.charge_permission_id}
    fields = {name: value for name, value in fields.items() if value}
    if news.failure_reason:
        fields["failure_reason"] = news.failure_reason
    detail = f"{news.detail} ({source})" if source else news.detail
    settled = orders.record(order, news.status, detail, **fields)
    if news.checkout_session is not None and news.status in ("paid", "pending"):
        orders.checkout_completed.send(
            current_app._get_current_object(), order=settled, checkout_session=news.checkout_session
        )
    return settled


def settle(order: orders.Order, buyer_returned: bool = False, source: str = "") -> orders.Order:
    """Learn the order's state from Amazon and apply it; one at a time per order (a buyer's
    reload, another worker, the reconcile pass and an IPN may ask at once). ``buyer_returned``:
    Amazon just sent the buyer to the result URL, so Complete comes first (one call)."""
    if order.status in orders.DONE:
        return order
    with order_lock(order.reference):
        order = orders.by_reference(order.reference)
        if order.status in orders.DONE:
            return order
        news = _learn(order, buyer_returned)
        return apply(order, news, source) if news is not None else order


def settle_notified(object_type: str, object_id: str, charge_permission_id: str | None) -> str:
    """An Instant Payment Notification named an object: read it from Amazon and settle the
    orders it belongs to (found by Amazon's ids, or the ``merchantReferenceId`` Amazon keeps).
    Returns what happened, for the log."""
    if object_type == "CHARGE":
        charge = client().get_charge(object_id).body
        reference = (charge.get("merchantMetadata") or {}).get("merchantReferenceId")
        order = orders.by_charge_id(object_id) or (orders.by_reference(reference) if reference else None)
        if order is None:
            return "no order of this shop has this charge"
        with order_lock(order.reference):
            order = orders.by_reference(order.reference)
            settled = apply(order, _from_charge(charge), "Instant Payment Notification")
        return f"{settled.reference}: {settled.status}"
    if object_type in ("CHARGE_PERMISSION", "REFUND", "CHARGEBACK"):
        permission_id = charge_permission_id or (object_id if object_type == "CHARGE_PERMISSION" else None)
        touched = [settle(order, source="Instant Payment Notification") for order in orders.open_of(permission_id)]
        return f"{len(touched)} open orders of this charge permission looked at"
    return f"object type {object_type} is not handled"


def _learn(order: orders.Order, buyer_returned: bool) -> News | None:
    """What Amazon says now, or None if there is nothing new (the buyer is still at Amazon)."""
    try:
        if order.charge_id:
            return _from_charge(client().get_charge(order.charge_id).body)
        if order.checkout_session_id is None:
            return _create_charge_again(order)
        if buyer_returned:
            return complete(order)
        return _from_checkout_session(order, client().get_checkout_session(order.checkout_session_id).body)
    except AmazonPayError as error:
        if error.status == 404:
            return News("failed", "Amazon Pay does not know this payment (404)", failure_reason="UnknownToAmazon")
        if no_answer(error):
            log.warning("settle %s: no answer from Amazon Pay (%s)", order.reference, error.reason_code)
            return None
        raise


def complete(order: orders.Order) -> News | None:
    """Complete Checkout Session with the order's stored amount and its own idempotency key."""
    try:
        answer = client().complete_checkout_session(
            order.checkout_session_id,
            {"chargeAmount": amazon_price(order.total, order.currency)},
            idempotency_key=f"{order.reference}-complete",
        )
    except AmazonPayError as error:
        if no_answer(error):
            # Complete may have been applied at Amazon (an earlier try): the buyer may be charged.
            return News("unconfirmed", f"Complete Checkout Session: no answer ({error.reason_code})")
        if error.reason_code in ("CheckoutSessionCanceled", "InvalidCheckoutSessionStatus"):
            return _from_checkout_session(order, client().get_checkout_session(order.checkout_session_id).body)
        raise
    return _refuse_unshippable(order, _from_complete(answer.status, answer.body))


def _refuse_unshippable(order: orders.Order, news: News) -> News:
    """The address that ships must be one the shop accepted. The buyer can change it at Amazon
    after Place Order (another tab), so it is checked again in Complete's answer; a refused
    one cancels the authorization (Cancel Charge): the order fails, and nothing is charged.
    A charge already captured (paymentIntent AuthorizeWithCapture) cannot be canceled: the
    order is kept, with a note in its history for the merchant to refund it."""
    session = news.checkout_session or {}
    if session.get("productType") == "PayOnly" or not news.charge_id:
        return news
    here = REGIONS[current_app.config["AMAZON_PAY_REGION"]]
    quote = shipping.quote(here.code, session.get("shippingAddress"), order.subtotal, order.currency, False)
    if quote.can_ship:
        return news
    log.warning("settle %s: Amazon's shipping address is one the shop refuses: %s", order.reference, quote.problem)
    try:
        client().cancel_charge(news.charge_id, {"cancellationReason": "The shop cannot ship to this address"})
    except AmazonPayError as error:
        log.warning("settle %s: Cancel Charge refused (%s): hold the order", order.reference, error.reason_code)
        return News(
            news.status,
            f"{news.detail}; ON HOLD: {quote.problem} Refund it.",
            news.charge_id,
            news.charge_permission_id,
            None,
            news.checkout_session,
        )
    return News(
        "failed",
        f"Canceled: the address chosen at Amazon Pay is refused ({quote.problem})",
        news.charge_id,
        news.charge_permission_id,
        "AddressNotAccepted",
    )


def _from_complete(status: int, body: dict[str, Any]) -> News:
    ids = {"charge_id": body.get("chargeId"), "charge_permission_id": body.get("chargePermissionId")}
    if status == 202:
        return News("pending", "Complete Checkout Session: 202, authorization pending", checkout_session=body, **ids)
    return News("paid", f"Complete Checkout Session: {status}, payment authorized", checkout_session=body, **ids)


def _from_checkout_session(order: orders.Order, session: dict[str, Any]) -> News | None:
    state = session["statusDetails"]["state"]
    if state == "Canceled":
        reason = session["statusDetails"].get("reasonCode") or "Declined"
        return News("failed", f"Checkout Session canceled: {reason}", failure_reason=reason)
    if state == "Completed" and session.get("chargeId"):
        charge = client().get_charge(session["chargeId"]).body
        return _from_charge(charge, session.get("chargePermissionId"), session)
    if state == "Open" and order.redirect_url:
        # The buyer may have finished at Amazon and never come back: complete it for them
        # (Amazon cancels a session left open for 24 hours). Not yet finished: nothing new.
        try:
            return _complete_quietly(order)
        except AmazonPayError as error:
            if error.reason_code == "InvalidCheckoutSessionStatus":
                return None
            raise
    return None


def _complete_quietly(order: orders.Order) -> News | None:
    answer = client().complete_checkout_session(
        order.checkout_session_id,
        {"chargeAmount": amazon_price(order.total, order.currency)},
        idempotency_key=f"{order.reference}-complete",
    )
    return _refuse_unshippable(order, _from_complete(answer.status, answer.body))


def _from_charge(
    charge: dict[str, Any], charge_permission_id: str | None = None, session: dict[str, Any] | None = None
) -> News:
    state, reason = charge["statusDetails"]["state"], charge["statusDetails"].get("reasonCode")
    ids = {
        "charge_id": charge["chargeId"],
        "charge_permission_id": charge_permission_id or charge.get("chargePermissionId"),
    }
    if state in PAID_CHARGE_STATES:
        return News("paid", f"Charge {state}", checkout_session=session, **ids)
    if state in PENDING_CHARGE_STATES:
        return News("pending", f"Charge {state}: authorization pending", checkout_session=session, **ids)
    return News("failed", f"Charge {state}: {reason or 'Declined'}", failure_reason=reason or "Declined", **ids)


def _create_charge_again(order: orders.Order) -> News | None:
    """A wallet order: Create Charge, the first time or again after a lost answer (or a worker
    that died mid-call). The same request with the same idempotency key returns Amazon's stored
    answer, or makes the one charge the buyer asked for; only while Amazon surely still keeps
    the key, after that the order stays unconfirmed for the merchant to check in Seller Central."""
    if orders.age_seconds(order) > RESEND_WITHIN_SECONDS:
        log.warning("settle %s: too old to re-send Create Charge; check it in Seller Central", order.reference)
        return None
    return create_charge(order)


def create_charge(order: orders.Order) -> News:
    """Create Charge on the saved wallet (CITU, Web, captureNow) for the order's stored amount."""
    try:
        charge = (
            client()
            .create_charge(
                {
                    "chargePermissionId": order.charge_permission_id,
                    "chargeAmount": amazon_price(order.total, order.currency),
                    "captureNow": True,
                    "chargeInitiator": "CITU",  # the buyer is here and asked for it
                    "channel": "Web",
                    "canHandlePendingAuthorization": current_app.config["AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION"],
                    "merchantMetadata": {"merchantReferenceId": order.reference},
                },
                idempotency_key=f"{order.reference}-charge",
            )
            .body
        )
    except AmazonPayError as error:
        if no_answer(error):  # an earlier try may have been applied: never "failed" without a no
            return News("unconfirmed", f"Create Charge: no answer ({error.reason_code})")
        return News("failed", f"Create Charge: {error.status} {error.reason_code}", failure_reason=error.reason_code)
    return _from_charge(charge)


@dataclass(frozen=True)
class Pass:
    seen: int
    settled: Counter
    seconds: float


def reconcile_pass(batch: int = 200) -> Pass:
    """Settle every order that is not final, once. Safe beside buyers' requests and beside
    itself on other workers or machines: each order is taken under a lease that other
    passes skip (``orders.lease_open``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""
    started, seen, settled = time.monotonic(), 0, Counter()
    after_id = 0
    while True:
        with write() as connection:
            taken = orders.lease_open(connection, after_id, batch)
        if not taken:
            break
        for order in taken:
            seen += 1
            after_id = max(after_id, order.id)
            try:
                result = settle(order, source="reconcile")
            except AmazonPayError as error:
                log.warning("reconcile %s: %s %s", order.reference, error.status, error.reason_code)
                settled["error"] += 1
                continue
            finally:
                orders.release_lease(order)
            settled[result.status if result.status != order.status else "unchanged"] += 1
    outcome = Pass(seen, settled, time.monotonic() - started)
    log.info(
        "reconcile: %d open orders in %.1f s: %s",
        seen,
        outcome.seconds,
        ", ".join(f"{name} {count}" for name, count in sorted(settled.items())) or "nothing to do",
    )
    return outcome
