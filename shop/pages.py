"""What the shop's blueprints share: the problem page, who this browser is, and the
messages for failed payments."""

from __future__ import annotations

import re
import secrets

from flask import current_app, render_template, session, url_for

from . import accounts
from .amazon_pay import AmazonPayClient
from .regions import REGIONS, Region

#: Amazon's checkout session ids are UUIDs; anything else never reaches Amazon (fullmatch).
CHECKOUT_SESSION_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

#: Why a payment failed, in the buyer's words (Checkout Session and Charge reason codes).
REASONS = {
    "Declined": "Amazon Pay declined the payment.",
    "HardDeclined": "Amazon Pay declined the payment.",
    "SoftDeclined": "Amazon Pay could not take the payment just now.",
    "AmazonRejected": "Amazon Pay declined the payment.",
    "TransactionTimedOut": "Amazon Pay could not confirm the payment in time.",
    "ProcessingFailure": "Amazon Pay could not process the payment.",
    "PaymentMethodNotAllowed": "This payment method cannot be used for this order.",
    "InvalidChargePermissionStatus": "Your saved Amazon Pay wallet cannot be charged right now.",
    "BuyerCanceled": "The payment was canceled on Amazon Pay.",
    "Expired": "The checkout expired before it was completed.",
    "AmazonCanceled": "Amazon Pay canceled the payment.",
}


def problem(status: int, title: str, message: str, action: tuple[str, str] | None = None):
    """A page that says what happened and what to do next."""
    action = action or (url_for("storefront.cart"), "Back to your cart")
    return render_template("problem.html", title=title, message=message, action=action), status


def owner_key() -> str:
    """A random id for this browser's shop session: orders and checkouts are bound to it."""
    if not isinstance(session.get("owner"), str):
        session["owner"] = secrets.token_urlsafe(16)
    return session["owner"]


def signed_in_buyer() -> accounts.Buyer | None:
    """The buyer who signed in with Amazon in this browser, if any."""
    buyer_id = session.get("buyer_id")
    return accounts.get(buyer_id) if isinstance(buyer_id, str) else None


def amazon_pay() -> AmazonPayClient:
    """The app's one AmazonPayClient (made in create_app, key parsed once)."""
    return current_app.extensions["amazon_pay"]


def region() -> Region:
    return REGIONS[current_app.config["AMAZON_PAY_REGION"]]
