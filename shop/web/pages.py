"""What the shop's blueprints share: who this browser is, the signed-in buyer (loaded once
per request into ``g``, as in the Flask tutorial), the app's Amazon Pay client and region,
and the buyer's words for Amazon's reason codes."""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request, session, url_for
from markupsafe import Markup

from ..amazon_pay import AmazonPayClient
from ..lifecycle import accounts
from ..regions import REGIONS, Region
from .problems import Problem

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
    "AddressNotAccepted": "We cannot ship to the address chosen at Amazon Pay, so we canceled the payment.",
    "UnknownToAmazon": "Amazon Pay has no record of this payment.",
}


@dataclass(frozen=True)
class Links:
    """The URLs every page may use (``links.cart`` in a template), the same for every visitor.
    Attributes, not a dict: Jinja looks ``links.cart`` up as an attribute first."""

    css: str
    favicon: str
    catalog: str
    cart: str
    change_cart: str
    account: str | None
    amazon_pay_scripts: Markup  # the button pages' <head>: checkout.js, then our wiring

    @classmethod
    def build(cls, checkout_js: str, with_wallet: bool) -> Links:
        """``checkout_js``: the region's Amazon Pay script (or the simulator's stand-in)."""
        wiring = url_for("static", filename="js/amazon-pay.js")
        return cls(
            css=url_for("static", filename="style.css"),
            favicon=url_for("static", filename="favicon.svg"),
            catalog=url_for("storefront.catalog"),
            cart=url_for("storefront.cart"),
            change_cart=url_for("storefront.change_cart"),
            account=url_for("wallet.account") if with_wallet else None,
            amazon_pay_scripts=Markup('<script src="{}" defer></script>\n<script src="{}" defer></script>').format(
                checkout_js, wiring
            ),
        )


def owner_key() -> str:
    """A random id for this browser's shop session: orders and checkouts are bound to it."""
    if not isinstance(session.get("owner"), str):
        session["owner"] = secrets.token_urlsafe(16)
    return session["owner"]


def load_logged_in_user() -> None:
    """Before every request: the buyer who signed in with Amazon in this browser, or None.
    Only a session that signed in is looked up (the session says so; the server decides): a
    cookie from before a sign-out is a stranger's, and its session starts afresh."""
    g.buyer = None
    owner = session.get("owner")
    if not isinstance(owner, str) or not session.get("signed_in"):
        return
    g.buyer, signed_out = accounts.signed_in_browser(owner)
    if signed_out:
        current_app.logger.info("a session cookie from before a sign-out: starting afresh")
        session.clear()


def signed_in() -> bool:
    return g.get("buyer") is not None


def buyer_required(view: Callable) -> Callable:
    """A view for signed-in buyers only; anyone else is asked to sign in."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.buyer is None:
            raise Problem(403, "Please sign in", "Sign in with Amazon to use your saved wallet.", sign_in_link())
        return view(**kwargs)

    return wrapped


def sign_in_link() -> tuple[str, str]:
    return url_for("wallet.account"), "Sign in"


_external_urls: dict[tuple[str, str, str], str] = {}


def external_url(endpoint: str, **values) -> str:
    """An absolute URL of the shop for Amazon (return, cancel, sign-in URLs): the configured
    SHOP_URL, never the request's Host or X-Forwarded-Host, which anyone can forge. Those
    without values (the button's review and cancel URLs, on every cart) are built once."""
    if values:
        return current_app.config["SHOP_URL"] + url_for(endpoint, **values)
    key = (current_app.config["SHOP_URL"], request.script_root, endpoint)
    if key not in _external_urls:
        _external_urls[key] = key[0] + url_for(endpoint)
    return _external_urls[key]


def amazon_pay() -> AmazonPayClient:
    """The app's one AmazonPayClient (made in create_app, key parsed once)."""
    return current_app.extensions["amazon_pay"]


def region() -> Region:
    return REGIONS[current_app.config["AMAZON_PAY_REGION"]]


def checkout_session_id(
    raw: str | None,
    title: str = "This link is not a checkout",
    message: str = "The address is missing a valid Amazon Pay checkout id.",
    action: tuple[str, str] | None = None,
) -> str:
    """A checkout session id from a URL or form, or a Problem: a malformed id never reaches Amazon."""
    if not raw or not CHECKOUT_SESSION_ID.fullmatch(raw):
        current_app.logger.warning("malformed amazonCheckoutSessionId %r", (raw or "")[:80])
        raise Problem(400, title, message, action)
    return raw.lower()
