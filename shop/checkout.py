"""The Amazon Pay checkout: review, Place Order, result, cancel.

Amazon Pay steps, in the order the buyer meets them (the button itself is on the cart page,
``storefront.cart`` + ``button.py``):

1. **review**: Amazon sends the buyer to ``checkoutReviewReturnUrl?amazonCheckoutSessionId=…``.
   Get Checkout Session; show buyer, address, payment method, with Change buttons
   (``amazon.Pay.bindChangeAction``); re-check the address against the shop's own rules.
2. **place_order** (POST): make the order from the server's cart, Update Checkout Session
   with its amount, then 303 to Amazon's ``amazonPayRedirectUrl``.
3. **result**: Amazon sends the buyer to ``checkoutResultReturnUrl?amazonCheckoutSessionId=…``.
   Complete Checkout Session with the order's stored amount: 200 paid, 202 pending,
   ``CheckoutSessionCanceled`` failed. Safe to reload: an order already settled is shown as
   it is; an unsettled one is completed again with the same idempotency key.
4. **cancel**: the buyer left Amazon's page; back to the cart.
"""

from __future__ import annotations

import hashlib
import logging
import time
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from . import cart, orders, shipping
from .amazon_pay import AmazonPayError
from .money import amazon_price
from .pages import CHECKOUT_SESSION_ID, REASONS, amazon_pay, owner_key, problem, region
from .wallet import remember_wallet

log = logging.getLogger(__name__)
bp = Blueprint("checkout", __name__, url_prefix="/checkout")

STORE_NAME = "Trailhead Supply (demo)"  # merchantStoreName: 50 characters at most


def _not_yours():
    log.warning("checkout: a checkout session that belongs to another visitor")
    return problem(403, "This checkout is not yours", "This Amazon Pay checkout was started in another browser.")


def _not_a_checkout():
    return problem(400, "This link is not a checkout", "The address is missing a valid Amazon Pay checkout id.")


def _review_url() -> str:
    checkout_session_id = _checkout_session_id(request.form.get("amazonCheckoutSessionId"))
    if checkout_session_id is None:
        return url_for("storefront.cart")
    return url_for("checkout.review", amazonCheckoutSessionId=checkout_session_id)


def _checkout_session_id(raw: str | None):
    if not raw or not CHECKOUT_SESSION_ID.fullmatch(raw):
        log.warning("checkout: malformed amazonCheckoutSessionId %r", (raw or "")[:80])
        return None
    return raw.lower()


def _amazon_unavailable(error: AmazonPayError, during: str):
    log.warning("checkout: %s failed: status=%s reason=%s", during, error.status, error.reason_code)
    if error.status == 404:
        return problem(
            404, "Checkout not found", "Amazon Pay does not know this checkout. Please start again from your cart."
        )
    return problem(
        503,
        "Amazon Pay is not answering",
        "We could not reach Amazon Pay just now. Nothing was charged. Please try again in a moment.",
        # A GET (review, result) can simply be reloaded; after a POST, go back to review.
        (request.url, "Try again") if request.method == "GET" else (_review_url(), "Back to your order review"),
    )


def _reviewed_digest(items: list[cart.Line], total) -> str:
    """What the review page showed (lines and total), so Place Order can tell if the cart
    changed since (another tab): the buyer must never pay a total they have not seen."""
    return _digest([(line.product.id, line.quantity, line.unit_price) for line in items], total)


def _order_digest(order: orders.Order) -> str:
    """The same digest for an order already made (the buyer is placing it again)."""
    return _digest([(i["productId"], i["quantity"], Decimal(i["unitPrice"])) for i in order.items], order.total)


def _digest(lines: list[tuple[str, int, Decimal]], total: Decimal) -> str:
    shown = ";".join(f"{product}:{quantity}:{price}" for product, quantity, price in lines) + f"|{total}"
    return hashlib.sha256(shown.encode()).hexdigest()[:32]


def _totals(checkout_session: dict[str, Any], items: list[cart.Line]):
    here = region()
    found, (subtotal, _shipping, tax, total) = shipping.order_amounts(
        here.code, here.ledger_currency, checkout_session.get("shippingAddress"), items
    )
    return found, subtotal, tax, total


@bp.get("/review")
def review():
    checkout_session_id = _checkout_session_id(request.args.get("amazonCheckoutSessionId"))
    if checkout_session_id is None:
        return _not_a_checkout()
    existing = orders.by_checkout_session(checkout_session_id)
    if existing is not None and existing.owner == owner_key() and existing.status in orders.FINAL:
        return redirect(url_for("storefront.order", reference=existing.reference))
    # An order made but not yet paid (Amazon failed at Place Order) is reviewed and placed again.
    if existing is not None and existing.owner != owner_key():
        return _not_yours()
    items = cart.lines(session, region().ledger_currency)
    if not items:
        return problem(
            409,
            "Your cart is empty",
            "Add something to your cart, then check out with Amazon Pay again.",
            (url_for("storefront.catalog"), "Continue shopping"),
        )
    try:
        checkout_session = amazon_pay().get_checkout_session(checkout_session_id).body
    except AmazonPayError as error:
        return _amazon_unavailable(error, "Get Checkout Session")
    # Claimed only now that Amazon knows the id: made-up ids write nothing.
    if not orders.claim_checkout_session(checkout_session_id, owner_key()):
        return _not_yours()
    if checkout_session["statusDetails"]["state"] != "Open":
        return problem(
            409,
            "This checkout has ended",
            "This Amazon Pay checkout expired or was canceled. Please check out again from your cart.",
        )
    quote, subtotal, tax, total = _totals(checkout_session, items)
    return render_template(
        "review.html",
        checkout_session=checkout_session,
        checkout_session_id=checkout_session_id,
        items=items,
        subtotal=subtotal,
        shipping=quote.shipping,
        tax=tax,
        total=total,
        quote=quote,
        currency=region().ledger_currency,
        payment_descriptor=((checkout_session.get("paymentPreferences") or [None])[0] or {}).get("paymentDescriptor"),
        change_options={"amazonCheckoutSessionId": checkout_session_id},
        reviewed=_reviewed_digest(items, total),
    )


@bp.post("/place-order")
def place_order():
    checkout_session_id = _checkout_session_id(request.form.get("amazonCheckoutSessionId"))
    if checkout_session_id is None:
        return problem(400, "This order form is incomplete", "The Amazon Pay checkout id is missing or malformed.")
    claimed_by = orders.claim_owner(checkout_session_id)
    if claimed_by is None:  # never reviewed in this shop
        return problem(409, "Please review your order first", "Start the checkout from your cart.")
    if claimed_by != owner_key():
        return _not_yours()
    order = orders.by_checkout_session(checkout_session_id)
    if order is not None and order.status in orders.FINAL:
        return redirect(url_for("checkout.result", amazonCheckoutSessionId=checkout_session_id), code=303)
    if order is None:
        created = _create_order(checkout_session_id)
        if not isinstance(created, orders.Order):
            return created  # a problem page
        order = created
    elif request.form.get("reviewed") != _order_digest(order):
        # The order exists (an earlier Place Order reached us, Amazon did not answer) but the
        # page the buyer just saw shows another cart: never charge what they have not seen.
        log.info("checkout: Place Order again with a cart that differs from the order")
        return problem(
            409,
            "Your cart has changed",
            "Your cart changed after this order was started. Nothing "
            "was charged. Please check out again from your cart.",
        )
    # A second click, a second tab or a retry lands here too: the same order, the same amount,
    # and one Update Checkout Session: whoever comes second reuses the first one's redirect.
    if order.redirect_url:
        return redirect(order.redirect_url, code=303)
    if not orders.start_update(order):
        order = _wait_for_redirect(order)
        if order.redirect_url:
            return redirect(order.redirect_url, code=303)
        return problem(
            409,
            "Your order is being placed",
            "This order is being placed in another tab. Please wait a moment and try again.",
            (_review_url(), "Back to your order review"),
        )
    try:
        updated = (
            amazon_pay()
            .update_checkout_session(
                checkout_session_id,
                {
                    "webCheckoutDetails": {"checkoutResultReturnUrl": url_for("checkout.result", _external=True)},
                    "paymentDetails": {
                        "paymentIntent": current_app.config["AMAZON_PAY_PAYMENT_INTENT"],
                        "canHandlePendingAuthorization": current_app.config[
                            "AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION"
                        ],
                        "chargeAmount": amazon_price(order.total, order.currency),
                    },
                    "merchantMetadata": {
                        "merchantReferenceId": order.reference,
                        "merchantStoreName": STORE_NAME,
                        "noteToBuyer": f"Your order {order.reference} at {STORE_NAME}",
                    },
                },
            )
            .body
        )
    except AmazonPayError as error:
        orders.update_failed(order)
        if error.reason_code == "InvalidCheckoutSessionStatus":  # the buyer already went to Amazon
            return redirect(url_for("checkout.result", amazonCheckoutSessionId=checkout_session_id), code=303)
        return _amazon_unavailable(error, "Update Checkout Session")
    if updated["constraints"]:
        orders.update_failed(order)
        details = "; ".join(c["description"] for c in updated["constraints"])
        log.warning("checkout: constraints left after Update Checkout Session: %s", details)
        return problem(409, "Amazon Pay needs more information", f"Amazon Pay could not take the order yet: {details}")
    order = orders.update_done(order, updated["webCheckoutDetails"]["amazonPayRedirectUrl"])
    return redirect(order.redirect_url, code=303)


def _wait_for_redirect(order: orders.Order, seconds: float = 10.0) -> orders.Order:
    """Another request (a double click) is sending this order's Update: wait for its result."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        order = orders.by_reference(order.reference)
        if order.redirect_url or order.update_started_at is None:
            break
    return order


def _create_order(checkout_session_id: str):
    items = cart.lines(session, region().ledger_currency)
    if not items:
        return problem(409, "Your cart is empty", "Add something to your cart, then check out with Amazon Pay again.")
    try:
        checkout_session = amazon_pay().get_checkout_session(checkout_session_id).body
    except AmazonPayError as error:
        return _amazon_unavailable(error, "Get Checkout Session")
    quote, subtotal, tax, total = _totals(checkout_session, items)
    if not quote.can_ship:
        return problem(
            409,
            "We cannot ship there",
            f"{quote.problem} Please choose another address.",
            (url_for("checkout.review", amazonCheckoutSessionId=checkout_session_id), "Back to review"),
        )
    if request.form.get("reviewed") != _reviewed_digest(items, total):
        log.info("checkout: cart changed between review and Place Order")
        return problem(
            409,
            "Your cart has changed",
            "Your cart changed after you reviewed the order (in another "
            "tab?). Nothing was charged. Please check the new total before placing the order.",
            (url_for("checkout.review", amazonCheckoutSessionId=checkout_session_id), "Review the order"),
        )
    lines = orders.items_from_cart(items)
    return orders.create(
        f"checkout:{checkout_session_id}",
        owner_key(),
        region().ledger_currency,
        lines,
        (subtotal, quote.shipping, tax, total),
        (checkout_session.get("buyer") or {}).get("email"),
        checkout_session_id=checkout_session_id,
    )


@bp.get("/result")
def result():
    checkout_session_id = _checkout_session_id(request.args.get("amazonCheckoutSessionId"))
    if checkout_session_id is None:
        return _not_a_checkout()
    order = orders.by_checkout_session(checkout_session_id)
    if order is None or order.owner != owner_key():
        log.warning("checkout: result for an unknown or foreign checkout session")
        return problem(404, "Order not found", "We have no order for this checkout in this browser.")
    if order.status not in orders.FINAL:
        order = _complete(order)
        if not isinstance(order, orders.Order):
            return order  # a problem page: nothing settled, the buyer may reload
    if order.status in ("paid", "pending"):
        cart.clear(session)
    return render_template("result.html", order=order, reason=REASONS.get(order.failure_reason or "", None))


def _complete(order: orders.Order):
    """Complete Checkout Session once; settle the order from Amazon's answer."""
    client = amazon_pay()
    try:
        answer = client.complete_checkout_session(
            order.checkout_session_id,
            {"chargeAmount": amazon_price(order.total, order.currency)},
            idempotency_key=f"{order.reference}-complete",
        )
    except AmazonPayError as error:
        if error.reason_code == "CheckoutSessionCanceled":
            return _settle_canceled(order)
        if error.reason_code == "InvalidCheckoutSessionStatus":
            return _reconcile(order)
        return _amazon_unavailable(error, "Complete Checkout Session")
    return _settle(order, answer.status, answer.body)


def _settle(order: orders.Order, status: int, body: dict[str, Any]) -> orders.Order:
    ids = {"charge_id": body.get("chargeId"), "charge_permission_id": body.get("chargePermissionId")}
    remember_wallet(body)  # a PaymentMethodOnFile checkout: keep the wallet for the signed-in buyer
    if status == 202:
        return orders.record(order, "pending", "Complete Checkout Session: 202, authorization pending", **ids)
    return orders.record(order, "paid", f"Complete Checkout Session: {status}, payment authorized", **ids)


def _settle_canceled(order: orders.Order):
    try:
        checkout_session = amazon_pay().get_checkout_session(order.checkout_session_id).body
    except AmazonPayError as error:
        return _amazon_unavailable(error, "Get Checkout Session")
    reason = checkout_session["statusDetails"].get("reasonCode") or "Declined"
    return orders.record(order, "failed", f"Checkout Session canceled: {reason}", failure_reason=reason)


def _reconcile(order: orders.Order):
    """Complete was refused because the session is no longer Open: read what Amazon has."""
    try:
        checkout_session = amazon_pay().get_checkout_session(order.checkout_session_id).body
    except AmazonPayError as error:
        return _amazon_unavailable(error, "Get Checkout Session")
    state = checkout_session["statusDetails"]["state"]
    if state == "Canceled":
        return _settle_canceled(order)
    if state != "Completed":
        return problem(
            409,
            "Payment not finished",
            "Amazon Pay has not finished this payment. Please return to Amazon Pay from your cart and try again.",
        )
    charge_state = None
    if checkout_session.get("chargeId"):
        try:
            charge_state = amazon_pay().get_charge(checkout_session["chargeId"]).body["statusDetails"]["state"]
        except AmazonPayError as error:
            return _amazon_unavailable(error, "Get Charge")
    if charge_state in ("Declined", "Canceled"):
        return orders.record(order, "failed", f"Charge {charge_state}", failure_reason="Declined")
    return _settle(order, 202 if charge_state == "AuthorizationInitiated" else 200, checkout_session)


@bp.get("/cancel")
def cancel():
    flash("You left Amazon Pay before paying. Nothing was charged, and your cart is still here.", "info")
    return redirect(url_for("storefront.cart"))
