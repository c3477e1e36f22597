"""The buyer's account: Sign in with Amazon, and the saved Amazon Pay wallet.

Amazon Pay steps:
- **Sign in with Amazon**: a ``SignIn`` button (``button.sign_in_options``); Amazon returns
  the buyer to ``signInReturnUrl?buyerToken=…``; **Get Buyer** tells us who they are.
- **Save the wallet at checkout**: the cart's button asks for a ``PaymentMethodOnFile``
  Charge Permission; ``remember_wallet`` stores its id with the buyer after Complete.
- **Show it**: **Get Charge Permission** (descriptor, address, Chargeable or NonChargeable).
- **Pay with it**: **Create Charge** (``captureNow``, ``chargeInitiator: CITU``, ``channel: Web``)
  for the server's cart, with an idempotency key derived from the order.
- **Remove it**: **Close Charge Permission**.
- **Update it**: ``amazon.Pay.initUpdate`` (falling back to ``initCheckout``) with a signed
  setupOnly payload; back at ``checkoutResultReturnUrl``, **Finalize Checkout Session**.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from . import accounts, button, cart, orders, shipping
from .amazon_pay import AmazonPayError
from .money import amazon_price
from .pages import CHECKOUT_SESSION_ID, REASONS, amazon_pay, owner_key, problem, region, signed_in_buyer

log = logging.getLogger(__name__)
bp = Blueprint("wallet", __name__, url_prefix="/account")

PAYMENT_REQUEST = re.compile(r"^[0-9a-f]{32}$")
BUYER_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{1,1024}$")
PENDING_STATES = ("AuthorizationInitiated", "CaptureInitiated")


def _sign_in_first():
    return problem(
        403, "Please sign in", "Sign in with Amazon to use your saved wallet.", (url_for("wallet.account"), "Sign in")
    )


def _no_wallet_or_sign_in(buyer: accounts.Buyer | None):
    """Why a wallet action cannot go on: nobody signed in, or no wallet saved (any more)."""
    if buyer is None:
        return _sign_in_first()
    return problem(
        409,
        "No saved wallet",
        "You have no saved Amazon Pay wallet any more (removed in another tab?). Nothing was charged.",
        (url_for("wallet.account"), "Your account"),
    )


def _wallet(buyer: accounts.Buyer) -> dict[str, Any] | None:
    """The saved Charge Permission as Amazon has it now, or None (none saved, or closed)."""
    if not buyer.charge_permission_id:
        return None
    permission = amazon_pay().get_charge_permission(buyer.charge_permission_id).body
    if permission["statusDetails"]["state"] == "Closed":
        accounts.save_wallet(buyer.buyer_id, None, None)
        return None
    return permission


@bp.get("")
def account():
    buyer = signed_in_buyer()
    if buyer is None:
        return render_template(
            "account.html",
            buyer=None,
            sign_in_options=button.sign_in_options(),
            sign_out=session.pop("signed_out", False),
        )
    try:
        permission = _wallet(buyer)
    except AmazonPayError as error:
        log.warning("wallet: Get Charge Permission failed: %s %s", error.status, error.reason_code)
        return problem(
            503,
            "Amazon Pay is not answering",
            "We could not load your saved wallet. Please try again.",
            (url_for("wallet.account"), "Try again"),
        )
    items = cart.lines(session, region().ledger_currency)
    quote = totals = None
    if permission is not None and items:
        quote, totals = _charge_totals(permission, items)
    return render_template(
        "account.html",
        buyer=buyer,
        wallet=permission,
        items=items,
        quote=quote,
        totals=totals,
        payment_request=secrets.token_hex(16),
        update_options=button.update_options(buyer.product_type or "PayAndShip", buyer.charge_permission_id)
        if permission is not None
        else None,
        reasons=[r["reasonCode"] for r in (permission or {}).get("statusDetails", {}).get("reasons") or []],
    )


@bp.get("/signed-in")
def signed_in():
    """signInReturnUrl: Amazon sends the buyer back with a token; Get Buyer says who they are."""
    token = request.args.get("buyerToken", "")
    if not BUYER_TOKEN.fullmatch(token):
        log.warning("wallet: sign-in return without a valid buyerToken")
        return problem(
            400,
            "Sign-in did not complete",
            "Amazon did not send a valid sign-in token. Please try again.",
            (url_for("wallet.account"), "Sign in again"),
        )
    try:
        found = amazon_pay().get_buyer(token).body
    except AmazonPayError as error:
        log.warning("wallet: Get Buyer failed: %s %s", error.status, error.reason_code)
        return problem(
            400,
            "Sign-in did not complete",
            "Amazon could not confirm who you are. Please sign in again.",
            (url_for("wallet.account"), "Sign in again"),
        )
    buyer = accounts.signed_in(found["buyerId"], found.get("name"), found.get("email"))
    session["buyer_id"] = buyer.buyer_id
    flash(f"Signed in as {buyer.name}.", "info")
    return redirect(url_for("wallet.account"))


@bp.post("/sign-out")
def sign_out():
    session.pop("buyer_id", None)
    session.pop("save_wallet", None)
    session["signed_out"] = True  # the account page then calls amazon.Pay.signout()
    flash("You are signed out.", "info")
    return redirect(url_for("wallet.account"), code=303)


def remember_wallet(checkout_session: dict[str, Any]) -> None:
    """After Complete: keep a PaymentMethodOnFile Charge Permission for the signed-in buyer,
    if the Amazon account that paid is the one they signed in with."""
    buyer = signed_in_buyer()
    if checkout_session.get("chargePermissionType") != "PaymentMethodOnFile" or not checkout_session.get(
        "chargePermissionId"
    ):
        return
    payer = (checkout_session.get("buyer") or {}).get("buyerId")
    if buyer is None or payer != buyer.buyer_id:
        log.info("wallet: not saved: the paying Amazon account is not the signed-in buyer")
        flash("Your wallet was not saved: sign in with the Amazon account you paid with.", "info")
        return
    accounts.save_wallet(buyer.buyer_id, checkout_session["chargePermissionId"], checkout_session.get("productType"))
    session.pop("save_wallet", None)
    flash("Your Amazon Pay wallet is saved for faster checkout.", "info")


def _charge_totals(permission: dict[str, Any], items: list[cart.Line]):
    here = region()
    return shipping.order_amounts(here.code, here.ledger_currency, permission.get("shippingAddress"), items)


@bp.post("/wallet/pay")
def pay_with_wallet():
    """Buy again: charge the server's cart to the saved wallet (Create Charge)."""
    buyer = signed_in_buyer()
    if buyer is None or not buyer.charge_permission_id:
        return _no_wallet_or_sign_in(buyer)
    payment_request = request.form.get("payment_request", "")
    if not PAYMENT_REQUEST.fullmatch(payment_request):
        return problem(
            400,
            "This payment form is incomplete",
            "Please reload your account page and try again.",
            (url_for("wallet.account"), "Your account"),
        )
    order = orders.by_payment_request(f"wallet:{payment_request}")
    if order is None:
        created = _wallet_order(buyer, payment_request)
        if not isinstance(created, orders.Order):
            return created
        order = created
    if order.owner != owner_key():
        return problem(403, "This payment is not yours", "This payment was started in another browser.")
    if order.status not in orders.FINAL:
        order = _create_charge(order)
        if not isinstance(order, orders.Order):
            return order
    if order.status in ("paid", "pending"):
        cart.clear(session)
    return render_template("result.html", order=order, reason=REASONS.get(order.failure_reason or ""))


def _wallet_order(buyer: accounts.Buyer, payment_request: str):
    items = cart.lines(session, region().ledger_currency)
    if not items:
        return problem(
            409,
            "Your cart is empty",
            "Add something to your cart first.",
            (url_for("storefront.catalog"), "Continue shopping"),
        )
    try:
        permission = amazon_pay().get_charge_permission(buyer.charge_permission_id).body
    except AmazonPayError as error:
        log.warning("wallet: Get Charge Permission failed: %s %s", error.status, error.reason_code)
        return problem(
            503,
            "Amazon Pay is not answering",
            "Nothing was charged. Please try again.",
            (url_for("wallet.account"), "Your account"),
        )
    if permission["statusDetails"]["state"] != "Chargeable":
        return problem(
            409,
            "Your saved wallet cannot be charged",
            "Amazon Pay cannot charge your saved wallet right now. Update your payment method, or check "
            "out with Amazon Pay from your cart.",
            (url_for("wallet.account"), "Your account"),
        )
    quote, amounts = _charge_totals(permission, items)
    if not quote.can_ship:
        return problem(
            409,
            "We cannot ship there",
            f"{quote.problem} Update the address of your saved wallet.",
            (url_for("wallet.account"), "Your account"),
        )
    lines = orders.items_from_cart(items)
    return orders.create(
        f"wallet:{payment_request}",
        owner_key(),
        region().ledger_currency,
        lines,
        amounts,
        buyer.email,
        charge_permission_id=buyer.charge_permission_id,
    )


def _create_charge(order: orders.Order):
    try:
        charge = (
            amazon_pay()
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
        if error.status is None or error.status >= 500:
            log.warning("wallet: Create Charge got no answer: %s %s", error.status, error.reason_code)
            return problem(
                503,
                "Amazon Pay is not answering",
                "We could not confirm the payment yet. Nothing was charged twice: reload this page to try again.",
                (url_for("wallet.account"), "Your account"),
            )
        log.info("wallet: Create Charge refused: %s %s", error.status, error.reason_code)
        return orders.record(
            order, "failed", f"Create Charge: {error.status} {error.reason_code}", failure_reason=error.reason_code
        )
    state = charge["statusDetails"]["state"]
    if state in PENDING_STATES:
        return orders.record(order, "pending", f"Create Charge: {state}", charge_id=charge["chargeId"])
    if state in ("Captured", "Authorized"):
        return orders.record(order, "paid", f"Create Charge: {state}", charge_id=charge["chargeId"])
    reason = charge["statusDetails"].get("reasonCode") or "Declined"
    return orders.record(
        order, "failed", f"Create Charge: {state} {reason}", charge_id=charge["chargeId"], failure_reason=reason
    )


@bp.post("/wallet/remove")
def remove_wallet():
    buyer = signed_in_buyer()
    if buyer is None or not buyer.charge_permission_id:
        return _no_wallet_or_sign_in(buyer)
    try:
        amazon_pay().close_charge_permission(
            buyer.charge_permission_id, {"closureReason": "Removed by the buyer", "cancelPendingCharges": False}
        )
    except AmazonPayError as error:
        if error.reason_code != "InvalidChargePermissionStatus":  # already closed is fine
            log.warning("wallet: Close Charge Permission failed: %s %s", error.status, error.reason_code)
            return problem(
                503,
                "Amazon Pay is not answering",
                "Your wallet was not removed. Please try again.",
                (url_for("wallet.account"), "Your account"),
            )
    accounts.save_wallet(buyer.buyer_id, None, None)
    flash("Your saved Amazon Pay wallet is removed.", "info")
    return redirect(url_for("wallet.account"), code=303)


@bp.get("/wallet/updated")
def updated():
    """checkoutResultReturnUrl of the update page: Finalize Checkout Session, then show it."""
    buyer = signed_in_buyer()
    if buyer is None or not buyer.charge_permission_id:
        return _no_wallet_or_sign_in(buyer)
    checkout_session_id = request.args.get("amazonCheckoutSessionId", "")
    if not CHECKOUT_SESSION_ID.fullmatch(checkout_session_id):
        return problem(
            400,
            "This link is not an update",
            "The address is missing a valid Amazon Pay checkout id.",
            (url_for("wallet.account"), "Your account"),
        )
    client = amazon_pay()
    try:
        checkout_session = client.get_checkout_session(checkout_session_id).body
        if checkout_session.get("chargePermissionId") != buyer.charge_permission_id:
            return problem(
                403,
                "This update is not yours",
                "This Amazon Pay update is for another wallet.",
                (url_for("wallet.account"), "Your account"),
            )
        state = checkout_session["statusDetails"]["state"]
        if state == "Open":
            client.finalize_checkout_session(
                checkout_session_id,
                {"paymentIntent": "Confirm"},
                idempotency_key=f"update-{checkout_session_id.replace('-', '')[:24]}",
            )
        elif state != "Completed":  # canceled at Amazon: nothing changed
            reason = checkout_session["statusDetails"].get("reasonCode")
            log.info("wallet: update ended at Amazon without a change: %s %s", state, reason)
            return problem(
                409,
                "Your wallet was not updated",
                "Amazon Pay did not accept the new payment method. Your saved wallet is unchanged.",
                (url_for("wallet.account"), "Your account"),
            )
    except AmazonPayError as error:
        log.warning("wallet: update failed: %s %s", error.status, error.reason_code)
        return problem(
            409,
            "Your wallet was not updated",
            "Amazon Pay could not finish the update. Nothing changed.",
            (url_for("wallet.account"), "Your account"),
        )
    flash("Your Amazon Pay wallet is updated.", "info")
    return redirect(url_for("wallet.account"))


@bp.get("/wallet/update-canceled")
def update_canceled():
    flash("You canceled the update. Your saved wallet is unchanged.", "info")
    return redirect(url_for("wallet.account"))
