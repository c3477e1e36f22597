"""The shop's own pages: catalog, cart (with the Amazon Pay button), order page.

Amazon Pay step: **button**, on the cart page. ``button.render_options`` builds the signed
payload; ``static/js/amazon-pay.js`` hands it to ``amazon.Pay.renderButton``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from . import button, cart, catalog, orders
from .pages import owner_key, problem, signed_in_buyer
from .regions import REGIONS

log = logging.getLogger(__name__)
bp = Blueprint("storefront", __name__)


def _currency() -> str:
    return REGIONS[current_app.config["AMAZON_PAY_REGION"]].ledger_currency


@bp.get("/", endpoint="catalog")
def catalog_page():
    currency = _currency()
    return render_template("catalog.html", products=catalog.PRODUCTS.values(), currency=currency)


@bp.get("/cart", endpoint="cart")
def cart_page():
    currency = _currency()
    items = cart.lines(session, currency)
    subtotal = cart.subtotal(items)
    buyer = signed_in_buyer()
    save_wallet = bool(buyer and session.get("save_wallet"))
    options = None
    if items:
        product_type = "PayOnly" if cart.is_digital_only(items) else "PayAndShip"
        options = button.render_options(product_type, subtotal, save_wallet=save_wallet)
    return render_template(
        "cart.html",
        items=items,
        subtotal=subtotal,
        currency=currency,
        button_options=options,
        buyer=buyer,
        save_wallet=save_wallet,
    )


@bp.post("/cart/save-wallet")
def choose_save_wallet():
    """The buyer's choice: ask Amazon for a saved wallet (PaymentMethodOnFile) at checkout."""
    if signed_in_buyer() is None:
        return problem(
            403, "Please sign in", "Sign in with Amazon to save your wallet.", (url_for("wallet.account"), "Sign in")
        )
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
        return problem(400, "We could not change your cart", message)
    if request.form.get("add") == "1":
        flash(f"Added to your cart: {catalog.get(product_id).name}.", "info")
    return redirect(url_for("storefront.cart"), code=303)


@bp.get("/orders/<reference>")
def order(reference: str):
    found = orders.by_reference(reference[:40])
    if found is None or found.owner != owner_key():
        return problem(404, "Order not found", "There is no such order in this browser.")
    return render_template("order.html", order=found, events=orders.events(found))
