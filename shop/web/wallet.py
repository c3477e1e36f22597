"""The buyer's account: Sign in with Amazon, and the saved Amazon Pay wallet. Optional: the
shop runs without this feature (``SHOP_FEATURES``); nothing else imports it.

Amazon Pay steps:
- **Sign in with Amazon**: a ``SignIn`` button (``button.sign_in_options``); Amazon returns
  the buyer to ``signInReturnUrl?buyerToken=…``; **Get Buyer** tells us who they are.
- **Save the wallet at checkout**: the cart's button asks for a ``PaymentMethodOnFile``
  Charge Permission; ``remember_wallet`` hears ``orders.checkout_completed`` and stores its id
  with the buyer.
- **Show it**: **Get Charge Permission** (descriptor, address, Chargeable or NonChargeable).
- **Pay with it**: **Create Charge** (``captureNow``, ``chargeInitiator: CITU``, ``channel: Web``)
  for the server's cart, once per cart (``cart.purchase_key``), with an idempotency key
  derived from the order; a lost answer is learned by sending it again with the same key.
- **Remove it**: **Close Charge Permission**.
- **Update it**: ``amazon.Pay.initUpdate`` (falling back to ``initCheckout``) with a signed
  setupOnly payload; back at ``checkoutResultReturnUrl``, **Complete Checkout Session** with the
  body ``{}``, as Amazon's hosted-update-page guide says (nothing is charged, so no amount):
  https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/steps-to-integrate-with-amazon-pay-hosted-update-page.html
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, g, has_request_context, redirect, render_template, request, session, url_for

from .. import cart, shipping
from ..amazon_pay import AmazonPayError
from ..lifecycle import accounts, orders, reconcile
from ..money import Totals
from . import button, pages
from .pages import REASONS, amazon_pay, buyer_required, owner_key, region
from .problems import Problem, way_back

log = logging.getLogger(__name__)
bp = Blueprint("wallet", __name__, url_prefix="/account")

PAYMENT_REQUEST = re.compile(r"^[0-9a-f]{32}$")
BUYER_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{1,1024}$")


@bp.before_request
def back_to_the_account() -> None:
    way_back(url_for("wallet.account"), "Your account")


def _account_link() -> tuple[str, str]:
    return url_for("wallet.account"), "Your account"


def wallet_required(view: Callable) -> Callable:
    """A wallet view: a signed-in buyer with a saved wallet (it may have been removed in
    another tab since the page was shown)."""

    @functools.wraps(view)
    @buyer_required
    def wrapped(**kwargs):
        if not g.buyer.charge_permission_id:
            raise Problem(
                409,
                "No saved wallet",
                "You have no saved Amazon Pay wallet any more (removed in another tab?). Nothing was charged.",
                _account_link(),
            )
        return view(**kwargs)

    return wrapped


def _wallet(buyer: accounts.Buyer) -> tuple[dict[str, Any] | None, bool]:
    """(the saved Charge Permission as Amazon has it now, or None; whether Amazon no longer
    knows it at all: 404, e.g. a wallet saved in another environment). A closed one is
    forgotten here at once; a gone one is said plainly and can be removed."""
    if not buyer.charge_permission_id:
        return None, False
    try:
        permission = amazon_pay().get_charge_permission(buyer.charge_permission_id).body
    except AmazonPayError as error:
        if error.status == 404:
            log.warning("wallet: Amazon Pay does not know the saved charge permission (404)")
            return None, True
        raise
    if permission["statusDetails"]["state"] == "Closed":
        accounts.save_wallet(buyer.buyer_id, None, None)
        return None, False
    return permission, False


def _charge_totals(permission: dict[str, Any], items: list[cart.Line]) -> tuple[shipping.Quote, Totals]:
    here = region()
    return shipping.order_amounts(here.code, here.ledger_currency, permission.get("shippingAddress"), items)


@bp.get("")
def account():
    if g.buyer is None:
        session["sign_in_state"] = state = secrets.token_urlsafe(16)
        return render_template(
            "account.html",
            buyer=None,
            sign_in_options=button.sign_in_options(state),
            sign_out=session.pop("signed_out", False),
        )
    permission, gone = _wallet(g.buyer)
    items = cart.lines(session, region().ledger_currency)
    quote = totals = None
    if permission is not None and items:
        quote, totals = _charge_totals(permission, items)
    reasons = (permission or {}).get("statusDetails", {}).get("reasons") or []
    return render_template(
        "account.html",
        buyer=g.buyer,
        wallet=permission,
        wallet_gone=gone,
        items=items,
        quote=quote,
        totals=totals,
        payment_request=cart.purchase_key(session, g.buyer.buyer_id),
        update_options=button.update_options(g.buyer.product_type or "PayAndShip", g.buyer.charge_permission_id)
        if permission is not None
        else None,
        reasons=[reason["reasonCode"] for reason in reasons],
    )


@bp.get("/signed-in")
def signed_in():
    """signInReturnUrl: Amazon sends the buyer back with a token; Get Buyer says who they are.
    The token is taken once, and only by the browser that started this sign-in (the ``state``
    in the signed return URL matches the one kept in its session); then a redirect takes it
    out of the address bar."""
    token, state = request.args.get("buyerToken", ""), request.args.get("state", "")
    expected = session.pop("sign_in_state", None)
    sign_in_again = (url_for("wallet.account"), "Sign in again")
    if not isinstance(expected, str) or not secrets.compare_digest(state.encode(), expected.encode()):
        log.warning("wallet: sign-in return refused: used already, or started in another browser")
        raise Problem(
            400,
            "Sign-in did not complete",
            "This sign-in link was used already, or was started in another browser. Please sign in again.",
            sign_in_again,
        )
    if not BUYER_TOKEN.fullmatch(token):
        log.warning("wallet: sign-in return without a valid buyerToken")
        raise Problem(
            400,
            "Sign-in did not complete",
            "Amazon did not send a valid sign-in token. Please try again.",
            sign_in_again,
        )
    try:
        found = amazon_pay().get_buyer(token).body
    except AmazonPayError as error:
        log.warning("wallet: Get Buyer failed: %s %s", error.status, error.reason_code)
        raise Problem(
            400,
            "Sign-in did not complete",
            "Amazon could not confirm who you are. Please sign in again.",
            sign_in_again,
        ) from error
    buyer = accounts.signed_in(found["buyerId"], found.get("name"), found.get("email"))
    accounts.sign_in_browser(owner_key(), buyer.buyer_id)
    session["signed_in"] = True  # a hint: who it is, and whether still, is kept on the server
    flash(f"Signed in as {buyer.name}.", "info")
    return redirect(url_for("wallet.account"))


@bp.post("/sign-out")
def sign_out():
    """Sign out everywhere this cookie went: the browser's session ends on the server (its
    wallet access and orders), and the browser starts afresh (an empty cart, a new owner)."""
    accounts.sign_out_browser(owner_key())
    session.clear()
    session["signed_out"] = True  # the account page then calls amazon.Pay.signout()
    flash("You are signed out.", "info")
    return redirect(url_for("wallet.account"), code=303)


def remember_wallet(app, order: orders.Order, checkout_session: dict[str, Any], **_extra) -> None:
    """After Complete (``orders.checkout_completed``): keep a PaymentMethodOnFile Charge
    Permission for the signed-in buyer, if the Amazon account that paid is the one they
    signed in with. Only while that buyer is here (not when a reconcile pass settles it)."""
    if not has_request_context():
        return
    if checkout_session.get("chargePermissionType") != "PaymentMethodOnFile" or not checkout_session.get(
        "chargePermissionId"
    ):
        return
    payer = (checkout_session.get("buyer") or {}).get("buyerId")
    if g.buyer is None or payer != g.buyer.buyer_id:
        log.info("wallet: not saved: the paying Amazon account is not the signed-in buyer")
        flash("Your wallet was not saved: sign in with the Amazon account you paid with.", "info")
        return
    accounts.save_wallet(g.buyer.buyer_id, checkout_session["chargePermissionId"], checkout_session.get("productType"))
    session.pop("save_wallet", None)
    flash("Your Amazon Pay wallet is saved for faster checkout.", "info")


@bp.record_once
def _listen_to_checkouts(state) -> None:
    orders.checkout_completed.connect(remember_wallet, sender=state.app)


@bp.post("/wallet/pay")
@wallet_required
def pay_with_wallet():
    """Buy again: charge the server's cart to the saved wallet (Create Charge), once per cart.
    The form carries the purchase key of the cart the buyer saw; the order is keyed on it."""
    payment_request = request.form.get("payment_request", "")
    if not PAYMENT_REQUEST.fullmatch(payment_request):
        raise Problem(
            400, "This payment form is incomplete", "Please reload your account page and try again.", _account_link()
        )
    order = orders.by_payment_request(f"wallet:{payment_request}")
    if order is None:
        order = _wallet_order(g.buyer, payment_request)
    if order.owner != owner_key():
        raise Problem(403, "This payment is not yours", "This payment was started in another browser.")
    if order.status in orders.OPEN:
        # Create Charge, once per order (a second tab waits on the order's lock); a retry after
        # a lost answer sends the same request with the same key, and Amazon replays it.
        order = reconcile.settle(order, source="wallet payment")
    if order.status in ("paid", "pending", "unconfirmed"):
        cart.clear(session)
    elif order.status == "failed":
        cart.retire_identity(session)
    return redirect(url_for("wallet.payment", reference=order.reference), code=303)


@bp.get("/wallet/payments/<reference>")
def payment(reference: str):
    """The outcome of a wallet payment, on a page of its own (Post/Redirect/Get: a reload shows
    it again and never pays twice). It shows the order as the payment left it; the order page
    (its "Check the order again" link) asks Amazon again."""
    order = orders.by_reference(reference[:40])
    if order is None or order.owner != owner_key() or not order.payment_request.startswith("wallet:"):
        raise Problem(404, "Payment not found", "There is no such payment in this browser.", _account_link())
    # Declined: the way on is a new payment method for the saved wallet (the account page's
    # Update payment method, amazon.Pay.initUpdate).
    update = url_for("wallet.account", _anchor="wallet") if order.status == "failed" else None
    return render_template(
        "result.html", order=order, reason=REASONS.get(order.failure_reason or ""), update_wallet_url=update
    )


def _wallet_order(buyer: accounts.Buyer, payment_request: str) -> orders.Order:
    """The order for this Pay click, from the server's cart, priced for the wallet's address."""
    items = cart.lines(session, region().ledger_currency)
    if not items:
        raise Problem(
            409,
            "Your cart is empty",
            "Add something to your cart first.",
            (url_for("storefront.catalog"), "Continue shopping"),
        )
    permission = amazon_pay().get_charge_permission(buyer.charge_permission_id).body
    if permission["statusDetails"]["state"] != "Chargeable":
        raise Problem(
            409,
            "Your saved wallet cannot be charged",
            "Amazon Pay cannot charge your saved wallet right now. Update your payment method, or check "
            "out with Amazon Pay from your cart.",
            _account_link(),
        )
    if payment_request != cart.purchase_key(session, buyer.buyer_id):
        raise Problem(
            409,
            "Your cart has changed",
            "Your cart changed since this page was shown. Please check the new total before paying.",
            _account_link(),
        )
    quote, totals = _charge_totals(permission, items)
    if not quote.can_ship:
        raise Problem(
            409, "We cannot ship there", f"{quote.problem} Update the address of your saved wallet.", _account_link()
        )
    return orders.create(
        f"wallet:{payment_request}",
        owner_key(),
        orders.items_from_cart(items),
        totals,
        buyer.email,
        charge_permission_id=buyer.charge_permission_id,
        buyer_name=buyer.name,
        ship_to=None if cart.is_digital_only(items) else permission.get("shippingAddress"),
        payment_descriptor=((permission.get("paymentPreferences") or [None])[0] or {}).get("paymentDescriptor"),
    )


@bp.post("/wallet/remove")
@wallet_required
def remove_wallet():
    try:
        amazon_pay().close_charge_permission(
            g.buyer.charge_permission_id, {"closureReason": "Removed by the buyer", "cancelPendingCharges": False}
        )
    except AmazonPayError as error:
        # Already closed, or unknown to Amazon (404): either way there is nothing to close.
        if error.reason_code != "InvalidChargePermissionStatus" and error.status != 404:
            raise
    accounts.save_wallet(g.buyer.buyer_id, None, None)
    flash("Your saved Amazon Pay wallet is removed.", "info")
    return redirect(url_for("wallet.account"), code=303)


@bp.get("/wallet/updated")
@wallet_required
def updated():
    """checkoutResultReturnUrl of the update page: Complete Checkout Session, then show it."""
    checkout_session_id = pages.checkout_session_id(
        request.args.get("amazonCheckoutSessionId"), "This link is not an update", action=_account_link()
    )
    try:
        _complete_update(checkout_session_id)
    except AmazonPayError as error:
        log.warning("wallet: update failed: %s %s", error.status, error.reason_code)
        raise Problem(
            409,
            "Your wallet was not updated",
            "Amazon Pay could not finish the update. Nothing changed.",
            _account_link(),
        ) from error
    flash("Your Amazon Pay wallet is updated.", "info")
    return redirect(url_for("wallet.account"))


def _complete_update(checkout_session_id: str) -> None:
    client = amazon_pay()
    checkout_session = client.get_checkout_session(checkout_session_id).body
    if checkout_session.get("chargePermissionId") != g.buyer.charge_permission_id:
        raise Problem(403, "This update is not yours", "This Amazon Pay update is for another wallet.", _account_link())
    state = checkout_session["statusDetails"]["state"]
    if state == "Open":
        # The documented body of a setupOnly Complete is {}: "chargeAmount is not required"
        # (https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile-setupintent/verify-and-complete-checkout.html).
        client.complete_checkout_session(
            checkout_session_id, {}, idempotency_key=f"update-{checkout_session_id.replace('-', '')[:24]}"
        )
    elif state != "Completed":  # canceled at Amazon: nothing changed
        reason = checkout_session["statusDetails"].get("reasonCode")
        log.info("wallet: update ended at Amazon without a change: %s %s", state, reason)
        raise Problem(
            409,
            "Your wallet was not updated",
            "Amazon Pay did not accept the new payment method. Your saved wallet is unchanged.",
            _account_link(),
        )


@bp.get("/wallet/update-canceled")
def update_canceled():
    flash("You canceled the update. Your saved wallet is unchanged.", "info")
    return redirect(url_for("wallet.account"))
