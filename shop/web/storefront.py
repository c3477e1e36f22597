"""The shop's own pages: catalog, product pages, cart (with the Amazon Pay button), order page.

Amazon Pay step: **button**, in two places. On the cart page ``button.render_options`` builds
the signed payload and ``static/js/amazon-pay.js`` hands it to ``amazon.Pay.renderButton``
(placement ``Cart``). On a product page the button is decoupled (placement ``Product``): its
click POSTs the product and quantity to ``express_checkout``, which adds them to the cart and
answers the signed payload for that cart, and the page then calls ``button.initCheckout``.

A refused change of the cart (a quantity out of range) is a 303 back to the page the form was
on, where the message stands next to the quantity field: a reload never re-sends the POST.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, session, url_for

from .. import cart, catalog, money
from ..lifecycle import backoffice, orders, reconcile
from . import button
from .pages import buyer_required, owner_key, region
from .problems import Problem

log = logging.getLogger(__name__)
bp = Blueprint("storefront", __name__)

#: Where a refused change of the cart is explained: set in the session, shown once.
QUANTITY_PROBLEM = "quantity_problem"

_links_by_root: dict[str, dict[str, tuple[str, str]]] = {}


def product_links() -> dict[str, tuple[str, str]]:
    """Each product's page and picture URLs, built once per application root: the catalog
    and the cart show them on every view, and ``url_for`` per line would cost more than the
    rest of the page's lines."""
    root = request.script_root
    if root not in _links_by_root:
        _links_by_root[root] = {
            p.id: (url_for("storefront.product", product_id=p.id), url_for("static", filename=p.image))
            for p in catalog.PRODUCTS.values()
        }
    return _links_by_root[root]


@bp.get("/", endpoint="catalog")
def catalog_page():
    currency = region().ledger_currency
    return render_template(
        "catalog.html", products=catalog.PRODUCTS.values(), currency=currency, product_links=product_links()
    )


@bp.get("/products/<product_id>")
def product(product_id: str):
    """One product: picture, details, price, quantity, Add to cart, and the express button."""
    found = _product_or_404(product_id)
    currency = region().ledger_currency
    items = cart.lines(session, currency)
    after_adding = [*items, cart.Line(found, 1, found.price(currency))]
    options = button.decoupled_options(cart.product_type(after_adding), cart.subtotal(after_adding), "Product")
    return render_template(
        "product.html",
        product=found,
        image=product_links()[found.id][1],
        currency=currency,
        button_options=options,
        problem=_quantity_problem(found.id),
    )


@bp.post("/products/<product_id>/express-checkout")
def express_checkout(product_id: str):
    """The product page's Amazon Pay button was clicked: add the product to the cart, then
    answer the button options for that cart, with its signed payload (JSON, for fetch); or
    ``{"refused": message}`` for a quantity the cart cannot take."""
    found = _product_or_404(product_id)
    try:
        _change(found.id, request.form.get("quantity", ""), add=True)
    except cart.CartError as error:
        # An answer, not an HTTP error: browsers log every 4xx of a fetch as a console error,
        # and a buyer's quantity is no fault of the page.
        return jsonify(refused=str(error))
    currency = region().ledger_currency
    items = cart.lines(session, currency)
    options = button.render_options(
        cart.product_type(items), cart.subtotal(items), save_wallet=_save_wallet(), placement="Product"
    )
    log.info("express checkout: %s x %s, then Amazon Pay", found.id, request.form.get("quantity", "")[:4])
    return jsonify(options)


@bp.get("/cart", endpoint="cart")
def cart_page():
    items = cart.lines(session, region().ledger_currency)
    totals = cart.totals(items, region().ledger_currency)
    save_wallet = _save_wallet()
    options = button.cart_button(cart.product_type(items), totals.subtotal, save_wallet) if items else None
    problem = session.pop(QUANTITY_PROBLEM, None)
    if isinstance(problem, dict) and all(line.product.id != problem.get("product") for line in items):
        flash(str(problem.get("message")), "error")  # no quantity field to put it by
    return render_template(
        "cart.html",
        items=items,
        totals=totals,
        button_options=options,
        buyer=g.buyer,
        save_wallet=save_wallet,
        problem=problem if isinstance(problem, dict) else None,
        product_links=product_links(),
    )


@bp.post("/cart/save-wallet")
@buyer_required
def choose_save_wallet():
    """The buyer's choice: ask Amazon for a saved wallet (PaymentMethodOnFile) at checkout."""
    session["save_wallet"] = request.form.get("save_wallet") == "1"
    return redirect(url_for("storefront.cart"), code=303)


@bp.post("/cart/items")
def change_cart():
    """Add to the cart (``add=1``), set a line's quantity (0 or ``remove=1`` removes it).
    Refused: back to the form's page (``back``: ``product`` or the cart), message by the field."""
    product_id = request.form.get("product_id", "")[:40]
    add = request.form.get("add") == "1"
    quantity = "0" if request.form.get("remove") == "1" else request.form.get("quantity", "")
    found = catalog.get(product_id)
    if found is None:
        log.warning("cart: refused unknown product %r", product_id)
        flash("Sorry, we do not sell that product.", "error")
        return redirect(url_for("storefront.cart"), code=303)
    try:
        _change(found.id, quantity, add)
    except cart.CartError as error:
        log.warning("cart: refused %s x %r: %s", found.id, quantity[:20], error)
        session[QUANTITY_PROBLEM] = {"product": found.id, "message": str(error), "quantity": quantity[:6]}
        on_product_page = request.form.get("back") == "product"
        back = url_for("storefront.product", product_id=found.id) if on_product_page else url_for("storefront.cart")
        return redirect(back, code=303)
    if add:
        flash(f"Added to your cart: {found.name}.", "info")
    return redirect(url_for("storefront.cart"), code=303)


def _change(product_id: str, quantity: str, add: bool) -> None:
    try:
        number = int(quantity)
    except ValueError:
        raise cart.CartError(f"Enter a whole number from {1 if add else 0} to {cart.MAX_QUANTITY}.") from None
    cart.set_quantity(session, product_id, number, add=add)


def _quantity_problem(product_id: str) -> dict | None:
    """The message of a refused change of this product's quantity, once."""
    problem = session.get(QUANTITY_PROBLEM)
    if isinstance(problem, dict) and problem.get("product") == product_id:
        return session.pop(QUANTITY_PROBLEM)
    return None


def _save_wallet() -> bool:
    return bool(g.buyer and session.get("save_wallet"))


def _product_or_404(product_id: str) -> catalog.Product:
    found = catalog.get(product_id)
    if found is None:
        raise Problem(
            404,
            "We do not sell that",
            "There is no such product in our shop.",
            (url_for("storefront.catalog"), "See what we sell"),
        )
    return found


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
        canceled="canceled" in happened,
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
    for carrier, number, at in backoffice.trackers(events):
        steps.append((f"Tracking number {number} ({carrier})", at))
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
