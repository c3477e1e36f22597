"""The Amazon Pay checkout: review, Place Order, result, cancel.

Amazon Pay steps, in the order the buyer meets them (the button itself is on the cart page,
``storefront.cart`` + ``button.py``):

1. **review**: Amazon sends the buyer to ``checkoutReviewReturnUrl?amazonCheckoutSessionId=…``.
   Get Checkout Session; show buyer, address, payment method, with Change buttons
   (``amazon.Pay.bindChangeAction``); re-check the address against the shop's own rules.
2. **place_order** (POST): make the order from the server's cart, Update Checkout Session
   with its amount (once per order: ``orders.redirect_once``), then 303 to Amazon's
   ``amazonPayRedirectUrl``.
3. **result**: Amazon sends the buyer to ``checkoutResultReturnUrl?amazonCheckoutSessionId=…``.
   Complete Checkout Session with the order's stored amount (``reconcile.settle``): 200 paid,
   202 pending, ``CheckoutSessionCanceled`` failed, no answer unconfirmed. Safe to reload: a
   settled order is shown as it is; an open one is settled again (same idempotency key).
4. **cancel**: the buyer left Amazon's page; back to the cart.

Failures are raised (``Problem``, ``AmazonPayError``) and rendered by ``problems.py``.
"""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from .. import cart, shipping
from ..amazon_pay import AmazonPayError
from ..lifecycle import orders, reconcile
from ..money import Totals, amazon_price
from . import pages
from .pages import REASONS, amazon_pay, owner_key, region
from .problems import Problem, way_back

log = logging.getLogger(__name__)
bp = Blueprint("checkout", __name__, url_prefix="/checkout")

STORE_NAME = "Trailhead Supply (demo)"  # merchantStoreName: 50 characters at most


def _not_yours() -> Problem:
    log.warning("checkout: a checkout session that belongs to another visitor")
    return Problem(403, "This checkout is not yours", "This Amazon Pay checkout was started in another browser.")


def _empty_cart() -> Problem:
    return Problem(
        409,
        "Your cart is empty",
        "Add something to your cart, then check out with Amazon Pay again.",
        (url_for("storefront.catalog"), "Continue shopping"),
    )


def _review_link(checkout_session_id: str, label: str = "Back to your order review") -> tuple[str, str]:
    return url_for("checkout.review", amazonCheckoutSessionId=checkout_session_id), label


def _result_redirect(checkout_session_id: str):
    return redirect(url_for("checkout.result", amazonCheckoutSessionId=checkout_session_id), code=303)


def _reviewed_digest(items: list[cart.Line], total: Decimal) -> str:
    """What the review page showed (lines and total), so Place Order can tell if the cart
    changed since (another tab): the buyer must never pay a total they have not seen."""
    return _digest([(line.product.id, line.quantity, line.unit_price) for line in items], total)


def _order_digest(order: orders.Order) -> str:
    """The same digest for an order already made (the buyer is placing it again)."""
    return _digest([(i["productId"], i["quantity"], Decimal(i["unitPrice"])) for i in order.items], order.total)


def _digest(lines: list[tuple[str, int, Decimal]], total: Decimal) -> str:
    shown = ";".join(f"{product}:{quantity}:{price}" for product, quantity, price in lines) + f"|{total}"
    return hashlib.sha256(shown.encode()).hexdigest()[:32]


def _totals(checkout_session: dict[str, Any], items: list[cart.Line]) -> tuple[shipping.Quote, Totals]:
    here = region()
    return shipping.order_amounts(here.code, here.ledger_currency, checkout_session.get("shippingAddress"), items)


def _show_an_order_still_being_confirmed(items: list[cart.Line]) -> None:
    """A new checkout of a cart this browser already ordered, while Amazon has not confirmed
    that order yet, would risk paying twice: show that order first."""
    bought = sorted((line.product.id, line.quantity) for line in items)
    for order in orders.unconfirmed_of(owner_key()):
        if sorted((item["productId"], item["quantity"]) for item in order.items) == bought:
            raise Problem(
                409,
                f"Your order {order.reference} is still being confirmed",
                "We are confirming the payment of this cart with Amazon Pay; you will not be charged twice. "
                "Please check that order before paying again.",
                (url_for("storefront.order", reference=order.reference), "See the order"),
            )


@bp.get("/review")
def review():
    checkout_session_id = pages.checkout_session_id(request.args.get("amazonCheckoutSessionId"))
    existing = orders.by_checkout_session(checkout_session_id)
    if existing is not None and existing.owner == owner_key() and existing.status != "awaiting_payment":
        return redirect(url_for("storefront.order", reference=existing.reference))
    # An order made but not yet paid (Amazon failed at Place Order) is reviewed and placed again.
    if existing is not None and existing.owner != owner_key():
        raise _not_yours()
    items = cart.lines(session, region().ledger_currency)
    if not items:
        raise _empty_cart()
    _show_an_order_still_being_confirmed(items)
    checkout_session = amazon_pay().get_checkout_session(checkout_session_id).body
    # Claimed only now that Amazon knows the id: made-up ids write nothing.
    if not orders.claim_checkout_session(checkout_session_id, owner_key()):
        raise _not_yours()
    session["checkout_session_id"] = checkout_session_id  # for the cancel URL
    if checkout_session["statusDetails"]["state"] != "Open":
        raise Problem(
            409,
            "This checkout has ended",
            "This Amazon Pay checkout expired or was canceled. Please check out again from your cart.",
        )
    quote, totals = _totals(checkout_session, items)
    return render_template(
        "review.html",
        checkout_session=checkout_session,
        checkout_session_id=checkout_session_id,
        items=items,
        totals=totals,
        quote=quote,
        payment_descriptor=_payment_descriptor(checkout_session),
        digital_only=cart.is_digital_only(items),
        save_wallet=checkout_session.get("chargePermissionType") == "PaymentMethodOnFile",
        change_options={"amazonCheckoutSessionId": checkout_session_id},
        reviewed=_reviewed_digest(items, totals.total),
    )


@bp.post("/place-order")
def place_order():
    checkout_session_id = pages.checkout_session_id(
        request.form.get("amazonCheckoutSessionId"),
        "This order form is incomplete",
        "The Amazon Pay checkout id is missing or malformed.",
    )
    way_back(*_review_link(checkout_session_id))
    claimed_by = orders.claim_owner(checkout_session_id)
    if claimed_by is None:  # never reviewed in this shop
        raise Problem(409, "Please review your order first", "Start the checkout from your cart.")
    if claimed_by != owner_key():
        raise _not_yours()
    order = orders.by_checkout_session(checkout_session_id)
    if order is not None and order.status != "awaiting_payment":
        return _result_redirect(checkout_session_id)
    if order is None:
        order = _create_order(checkout_session_id)
    elif request.form.get("reviewed") != _order_digest(order):
        # The order exists (an earlier Place Order reached us, Amazon did not answer) but the
        # page the buyer just saw shows another cart: never charge what they have not seen.
        log.info("checkout: Place Order again with a cart that differs from the order")
        raise Problem(
            409,
            "Your cart has changed",
            "Your cart changed after this order was started. Nothing "
            "was charged. Please check out again from your cart.",
        )
    # A second click, a second tab or a retry lands here too: the same order, the same amount,
    # and one Update Checkout Session: whoever comes second reuses the first one's redirect.
    try:
        return redirect(orders.redirect_once(order, _update_checkout_session), code=303)
    except AmazonPayError as error:
        if error.reason_code == "InvalidCheckoutSessionStatus":  # the buyer already went to Amazon
            return _result_redirect(checkout_session_id)
        raise


def _create_order(checkout_session_id: str) -> orders.Order:
    """The order, made from the server's cart and priced for Amazon's address, if it is the
    cart the buyer reviewed."""
    items = cart.lines(session, region().ledger_currency)
    if not items:
        raise _empty_cart()
    checkout_session = amazon_pay().get_checkout_session(checkout_session_id).body
    quote, totals = _totals(checkout_session, items)
    if not quote.can_ship:
        raise Problem(
            409,
            "We cannot ship there",
            f"{quote.problem} Please choose another address.",
            _review_link(checkout_session_id, "Back to review"),
        )
    if request.form.get("reviewed") != _reviewed_digest(items, totals.total):
        log.info("checkout: cart changed between review and Place Order")
        raise Problem(
            409,
            "Your cart has changed",
            "Your cart changed after you reviewed the order (in another "
            "tab?). Nothing was charged. Please check the new total before placing the order.",
            _review_link(checkout_session_id, "Review the order"),
        )
    buyer = checkout_session.get("buyer") or {}
    return orders.create(
        f"checkout:{checkout_session_id}",
        owner_key(),
        orders.items_from_cart(items),
        totals,
        buyer.get("email"),
        checkout_session_id=checkout_session_id,
        buyer_name=buyer.get("name"),
        ship_to=None if cart.is_digital_only(items) else checkout_session.get("shippingAddress"),
        payment_descriptor=_payment_descriptor(checkout_session),
    )


def _payment_descriptor(checkout_session: dict[str, Any]) -> str | None:
    """The payment method as Amazon Pay names it to the buyer ("Visa ****1111")."""
    return ((checkout_session.get("paymentPreferences") or [None])[0] or {}).get("paymentDescriptor")


def _update_checkout_session(order: orders.Order) -> str:
    """Update Checkout Session with the order's amount; Amazon's ``amazonPayRedirectUrl``."""
    config = current_app.config
    updated = (
        amazon_pay()
        .update_checkout_session(
            order.checkout_session_id,
            {
                "webCheckoutDetails": {"checkoutResultReturnUrl": pages.external_url("checkout.result")},
                "paymentDetails": {
                    "paymentIntent": config["AMAZON_PAY_PAYMENT_INTENT"],
                    "canHandlePendingAuthorization": config["AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION"],
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
    if updated["constraints"]:
        details = "; ".join(c["description"] for c in updated["constraints"])
        log.warning("checkout: constraints left after Update Checkout Session: %s", details)
        raise Problem(409, "Amazon Pay needs more information", f"Amazon Pay could not take the order yet: {details}")
    return updated["webCheckoutDetails"]["amazonPayRedirectUrl"]


@bp.get("/result")
def result():
    checkout_session_id = pages.checkout_session_id(request.args.get("amazonCheckoutSessionId"))
    order = orders.by_checkout_session(checkout_session_id)
    if order is None or order.owner != owner_key():
        log.warning("checkout: result for an unknown or foreign checkout session")
        raise Problem(404, "Order not found", "We have no order for this checkout in this browser.")
    # Amazon just sent the buyer back: Complete first (a reload repeats it with the same key).
    order = reconcile.settle(
        order, buyer_returned=order.status in ("awaiting_payment", "unconfirmed"), source="result page"
    )
    if order.status in ("paid", "pending", "unconfirmed"):
        cart.clear(session)
    return render_template("result.html", order=order, reason=REASONS.get(order.failure_reason or "", None))


@bp.get("/cancel")
def cancel():
    """checkoutCancelUrl: the buyer left Amazon's page. If this browser's checkout already has
    an order, Amazon is asked first: a buyer who paid and then came back this way is shown
    their order, never told that nothing was charged."""
    checkout_session_id = session.get("checkout_session_id")
    order = orders.by_checkout_session(checkout_session_id) if isinstance(checkout_session_id, str) else None
    if order is not None and order.owner == owner_key():
        order = reconcile.settle(order, source="cancel URL")
        if order.status in ("paid", "pending", "unconfirmed"):
            cart.clear(session)
            flash(_already_paid(order), "info")
            return redirect(url_for("storefront.order", reference=order.reference))
        if order.status == "awaiting_payment":
            # Still open at Amazon, or Amazon did not answer: not "nothing was charged", because
            # the reconcile pass completes a session the buyer did pay for.
            flash(
                "You left Amazon Pay before finishing, and your cart is still here. If Amazon Pay took your "
                "payment after all, your order page will show it; you will not be charged twice.",
                "info",
            )
            return redirect(url_for("storefront.cart"))
    flash("You left Amazon Pay before paying. Nothing was charged, and your cart is still here.", "info")
    return redirect(url_for("storefront.cart"))


def _already_paid(order: orders.Order) -> str:
    if order.status == "unconfirmed":
        return f"Your order {order.reference} is still being confirmed with Amazon Pay; you will not be charged twice."
    return f"You already paid for order {order.reference}."
