"""The Amazon Pay button: the signed Create Checkout Session payload and the options of
``amazon.Pay.renderButton``.

Amazon Pay step: **button**. The payload is serialised once, signed once, and that exact
string reaches the page (as JSON in a ``<script type="application/json">`` block, read by
``static/js/amazon-pay.js``): re-serialising a signed payload is the first cause of
``InvalidSignatureError`` reports. The payload is the same for every visitor of a region,
so its signature is computed once and cached per payload string.

Two placements: on the cart (``Cart``) the button carries its signed payload and a click
goes straight to Amazon. On a product page (``Product``, express checkout of that product, as
the Magento, WooCommerce and OXID modules offer) the button is *decoupled*: rendered without a
payload, its click first puts the product in the cart, and only then is the payload for that
cart signed and handed to ``button.initCheckout``
(https://developer.amazon.com/docs/amazon-pay-checkout/amazon-pay-script.html).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import current_app, request
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from .. import shipping
from ..money import amazon_price
from ..regions import REGIONS
from .pages import external_url

SCOPES_SHIPPED = ["name", "email", "phoneNumber", "billingAddress", "shippingAddress"]
SCOPES_DIGITAL = ["name", "email", "billingAddress"]


def signature_cache(sign: Callable[[str], str], size: int = 64) -> Callable[[str], str]:
    """Button signatures by payload string (PSS signatures differ each time; any one verifies)."""
    return functools.lru_cache(maxsize=size)(sign)


def _serialise(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def checkout_session_payload(region: str, product_type: str, save_wallet: bool = False) -> str:
    """The Create Checkout Session payload, serialised once: this string is what is signed.
    ``save_wallet`` asks Amazon for a PaymentMethodOnFile Charge Permission (saved wallet).
    The same for every visitor of the shop, so it is built once per kind of cart."""
    review, cancel = external_url("checkout.review"), external_url("checkout.cancel")
    store_id = current_app.config["AMAZON_PAY_STORE_ID"]
    return _checkout_session_payload(review, cancel, store_id, region, product_type, save_wallet)


@functools.lru_cache(maxsize=64)
def _checkout_session_payload(
    review: str, cancel: str, store_id: str, region: str, product_type: str, save_wallet: bool
) -> str:
    payload: dict[str, Any] = {
        "webCheckoutDetails": {"checkoutReviewReturnUrl": review, "checkoutCancelUrl": cancel},
        "storeId": store_id,
        "scopes": SCOPES_SHIPPED if product_type == "PayAndShip" else SCOPES_DIGITAL,
    }
    if product_type == "PayAndShip":
        payload["deliverySpecifications"] = shipping.delivery_specifications(region)
    if save_wallet:
        payload["chargePermissionType"] = "PaymentMethodOnFile"
        payload["paymentMethodOnFileMetadata"] = {"setupOnly": False}
    return _serialise(payload)


def update_payload(region: str, product_type: str, charge_permission_id: str) -> str:
    """Amazon's hosted update page for a saved wallet: a setupOnly PaymentMethodOnFile
    payload; the buyer returns to ``checkoutResultReturnUrl``, where we Complete (body ``{}``)."""
    payload: dict[str, Any] = {
        "webCheckoutDetails": {
            "checkoutResultReturnUrl": external_url("wallet.updated"),
            "checkoutCancelUrl": external_url("wallet.update_canceled"),
            "checkoutMode": "ProcessOrder",
        },
        "storeId": current_app.config["AMAZON_PAY_STORE_ID"],
        "scopes": SCOPES_SHIPPED if product_type == "PayAndShip" else SCOPES_DIGITAL,
        "chargePermissionType": "PaymentMethodOnFile",
        "chargePermissionId": charge_permission_id,
        "paymentMethodOnFileMetadata": {"setupOnly": True},
        "paymentDetails": {"paymentIntent": "Confirm", "canHandlePendingAuthorization": False},
    }
    if product_type == "PayAndShip":
        payload["deliverySpecifications"] = shipping.delivery_specifications(region)
    return _serialise(payload)


def sign_in_payload(state: str) -> str:
    """Sign in with Amazon. ``state`` (kept in this browser's session) rides in the return URL,
    so that the buyer token Amazon appends is taken once, and only by this browser."""
    return _serialise(
        {
            "signInReturnUrl": external_url("wallet.signed_in", state=state),
            "signInCancelUrl": external_url("wallet.account"),
            "storeId": current_app.config["AMAZON_PAY_STORE_ID"],
            "signInScopes": ["name", "email"],
        }
    )


def _signed(payload: str, cached: bool = True) -> dict[str, str]:
    """The payload, its signature and key; ``cached`` for payloads shared by every visitor."""
    client = current_app.extensions["amazon_pay"]
    sign = current_app.extensions["amazon_pay_button_signatures"] if cached else client.generate_button_signature
    return {
        "payloadJSON": payload,
        "signature": sign(payload),
        "publicKeyId": client.public_key_id,
        "algorithm": client.algorithm,
    }


def _options(product_type: str, placement: str) -> dict[str, Any]:
    config = current_app.config
    region = REGIONS[config["AMAZON_PAY_REGION"]]
    return {
        "merchantId": config["AMAZON_PAY_MERCHANT_ID"],
        "publicKeyId": current_app.extensions["amazon_pay"].public_key_id,
        "ledgerCurrency": region.ledger_currency,
        "checkoutLanguage": region.checkout_language,
        "productType": product_type,
        "placement": placement,
        "buttonColor": "Gold",
        "sandbox": config["AMAZON_PAY_MODE"] != "live",
    }


def render_options(
    product_type: str, estimated_total: Decimal, save_wallet: bool = False, placement: str = "Cart"
) -> dict[str, Any]:
    """Everything ``amazon.Pay.renderButton('#AmazonPayButton', options)`` needs."""
    region = REGIONS[current_app.config["AMAZON_PAY_REGION"]]
    payload = checkout_session_payload(region.code, product_type, save_wallet)
    return {
        **decoupled_options(product_type, estimated_total, placement),
        "createCheckoutSessionConfig": _signed(payload),
    }


def cart_button(product_type: str, estimated_total: Decimal, save_wallet: bool = False) -> Markup:
    """The cart's button options as its page carries them: HTML-safe JSON for the
    ``<script type="application/json">`` block (what ``|tojson`` would write). The same for every
    cart of one kind and amount, so made once and kept, per app (``cart_button_cache``): building
    and serialising them was a tenth of the cart page's time."""
    cached = current_app.extensions["amazon_pay_cart_buttons"]
    return cached(request.script_root, product_type, estimated_total, save_wallet)


def cart_button_cache(size: int = 256) -> Callable[[str, str, Decimal, bool], Markup]:
    """A bounded cache for ``cart_button`` (keyed by the application root too, which the return
    URLs in the payload depend on)."""

    @functools.lru_cache(maxsize=size)
    def cart_button_json(root: str, product_type: str, estimated_total: Decimal, save_wallet: bool) -> Markup:
        options = render_options(product_type, estimated_total, save_wallet=save_wallet)
        return Markup(htmlsafe_json_dumps(options, dumps=current_app.json.dumps))

    return cart_button_json


def decoupled_options(product_type: str, estimated_total: Decimal, placement: str = "Product") -> dict[str, Any]:
    """A button without a payload: checkout.js then returns ``{onClick, initCheckout}`` and
    the page decides when checkout starts (the product page: after adding to the cart)."""
    currency = REGIONS[current_app.config["AMAZON_PAY_REGION"]].ledger_currency
    return {**_options(product_type, placement), "estimatedOrderAmount": amazon_price(estimated_total, currency)}


def sign_in_options(state: str) -> dict[str, Any]:
    """``amazon.Pay.renderButton('#AmazonSignIn', options)``: Sign in with Amazon."""
    return {**_options("SignIn", "Other"), "signInConfig": _signed(sign_in_payload(state), cached=False)}


def update_options(product_type: str, charge_permission_id: str) -> dict[str, Any]:
    """``amazon.Pay.initUpdate(options)`` (or ``initCheckout``, where checkout.js lacks it)."""
    region = REGIONS[current_app.config["AMAZON_PAY_REGION"]]
    payload = update_payload(region.code, product_type, charge_permission_id)
    return {**_options(product_type, "Other"), "createCheckoutSessionConfig": _signed(payload)}
