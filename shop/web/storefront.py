"""The shop's own pages: catalog, cart (with the Amazon Pay button), order page.

Amazon Pay step: **button**, on the cart page. ``button.render_options`` builds the signed
payload; ``static/js/amazon-pay.js`` hands it to ``amazon.Pay.renderButton``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from .. import cart, catalog, money
from ..lifecycle import backoffice, orders, reconcile
from . import button
from .pages import buyer_required, owner_key, region
from .problems import Problem

log = logging.getLogger(__name__)
bp = Blueprint("storefront", __name__)


@bp.get("/", endpoint="catalog")
def catalog_page():
    currency = region().ledger_currency
    return render_template("catalog.html", products=catalog.PRODUCTS.values(), currency=currency)


@bp.get("/cart", endpoint="cart")
def cart_page():
    items = cart.lines(session, region().ledger_currency)
    totals = cart.totals(items, region().ledger_currency)
    save_wallet = bool(g.buyer and session.get("save_wallet"))
    options = None
    if items:
        product_type = "PayOnly" if cart.is_digital_only(items) else "PayAndShip"
        options = button.render_options(product_type, totals.subtotal, save_wallet=save_wallet)
    return render_template(
        "cart.html", items=items, totals=totals, button_options=options, buyer=g.buyer, save_wallet=save_wallet
    )


@bp.post("/cart/save-wallet")
@buyer_required
def choose_save_wallet():
    """The buyer's choice: ask Amazon for a saved wallet (PaymentMethodOnFile) at checkout."""
    session["save_wallet"] = request.form.get("save_wallet") == "1"
    return redirect(url_for("storefront.cart"), code=303)


@bp.post("/cart/items")
def change_cart():
    """Add to the cart (``add=1``) or set a line's quantity; 0 removes it."""
    product_id = request.form.get("product_id", "")
    try:
        quantity = int(request.form.get("quantity", ""))
        cart.set_quantity(session, product_id, quantity, add=request.form.get("add") == "1")
    except (ValueError, cart.CartError) as error:
        message = str(error) if isinstance(error, cart.CartError) else "The quantity must be a whole number."
        log.warning("cart: refused change %r x %r: %s", product_id[:40], request.form.get("quantity", "")[:20], message)
        raise Problem(400, "We could not change your cart", message) from error
    if request.form.get("add") == "1":
        flash(f"Added to your cart: {catalog.get(product_id).name}.", "info")
    return redirect(url_for("storefront.cart"), code=303)


@bp.get("/orders/<reference>")
def order(reference: str):
    """The buyer's order: what was bought, where it goes, how it is paid, and its steps so
    far in the buyer's words (the API history is the back office's). An order Amazon has not
    settled yet is asked about again on view."""
    found = _own_order(reference)
    if found.status in orders.OPEN:
        found = reconcile.settle(found, source="order page")
    events = orders.events(found)
    happened = {event.status for event in events}
    return render_template(
        "order.html",
        order=found,
        steps=buyer_steps(found, events, backoffice.refunds_of(found)),
        was_pending="pending" in happened,
        shipped="shipped" in happened,
        closed=bool({"canceled", "refunded"} & happened),
    )


def buyer_steps(order: orders.Order, events, refunds) -> list[tuple[str, str]]:
    """(what happened, when: stored UTC time) for the buyer: ordered, payment being confirmed,
    confirmed or not accepted, shipped, canceled, each refund Amazon Pay completed. Never an
    API operation's name."""
    download = order.digital_only
    words = {
        "pending": "Payment being confirmed by Amazon Pay",
        "unconfirmed": "Payment being confirmed by Amazon Pay",
        "paid": "Payment confirmed",
        "failed": "Payment not accepted: nothing was charged",
        "shipped": "Completed: your payment was taken" if download else "Shipped: your payment was taken",
        "canceled": "Canceled: the payment was released, nothing was charged",
        "refund_declined": "Your refund is being arranged another way; we will contact you",
    }
    steps, said = [("Ordered", order.created_at)], set()
    for event in events:
        label = words.get(event.status)
        if label and label not in said:  # "being confirmed" once, however often Amazon was asked
            said.add(label)
            steps.append((label, event.at))
    for refund in refunds:
        if refund.state == "Refunded":
            amount = money.display(refund.amount, order.currency, region().locale)
            steps.append((f"Refunded: Amazon Pay has returned {amount} to you", refund.updated_at))
    return sorted(steps, key=lambda step: step[1])


@bp.post("/orders/<reference>/buy-again")
def buy_again(reference: str):
    """Put the items of a failed order back in the cart, to pay for them another way."""
    found = _own_order(reference)
    for item in found.items:
        try:
            cart.set_quantity(session, item["productId"], item["quantity"])
        except cart.CartError:
            log.info("buy again: %s is no longer sold", item["productId"])
    return redirect(url_for("storefront.cart"), code=303)


def _own_order(reference: str) -> orders.Order:
    found = orders.by_reference(reference[:40])
    if found is None or found.owner != owner_key():
        raise Problem(404, "Order not found", "There is no such order in this browser.")
    return found
