"""Amazon-hosted pages: what the buyer's browser visits on Amazon's side.

Amazon Pay steps, in the order a buyer meets them (Amazon's guide from
https://developer.amazon.com/docs/amazon-pay-checkout/add-the-amazon-pay-button.html on, and its
walkthrough https://amazonpay-onboarding.com/en/integration/2step/step4):
- ``/static-{na,eu,fe}/checkout.js``: the stand-in for Amazon's regional script (e.g.
  https://static-na.payments-amazon.com/checkout.js); a click on its button POSTs a hidden form
  to ``/checkout/initiate``, as Amazon's script does.
- ``POST /checkout/initiate``: the button signature is verified and the Checkout Session is
  created from the signed payload; then sign-in, then "Continue as" or the address and
  payment chooser, then ``checkoutReviewReturnUrl``.
- ``/checkout/initiate_auth``: the review page's Change links (``bindChangeAction``).
- ``/checkout/update``: the hosted update page of a saved wallet (a setupOnly
  PaymentMethodOnFile payload naming its ``chargePermissionId``,
  https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/steps-to-integrate-with-amazon-pay-hosted-update-page.html).
- ``/checkout/processing``: ``amazonPayRedirectUrl``: Amazon processes the payment and sends
  the buyer to ``checkoutResultReturnUrl``
  (https://developer.amazon.com/docs/amazon-pay-checkout/verify-and-complete-checkout.html).
- ``/checkout/signout``: ``amazon.Pay.signout()``.

The buyer's sign-in lives in the simulator's own cookie (``SESSION_COOKIE_NAME``); every
state change runs under the store's lock. Choices made where Amazon publishes nothing are
marked SIMULATOR CHOICE and listed in docs/simulator.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .api import merchant_urls, store
from .buyers import ADDRESSES, DEFAULT_INSTRUMENT, INSTRUMENTS, address_allowed, address_id, buyer_for_region
from .control import _next_step
from .domains import ReturnUrls
from .errors import ApiError, invalid_parameter, invalid_status, missing_parameter, not_found
from .objects import CheckoutSession
from .operations import Store, add_query
from .schema import parse_body
from .verify import SALT_LENGTHS, verify_button_signature

bp = Blueprint("simulator_hosted", __name__)

#: What each regional build of checkout.js accepts (e.g. https://static-eu.payments-amazon.com/checkout.js;
#: options: https://developer.amazon.com/docs/amazon-pay-checkout/amazon-pay-script.html).
SCRIPT_REGIONS = {
    "na": {"script": "na", "ledgerCurrencies": ["USD"], "languages": ["en_US"], "defaultLanguage": "en_US"},
    "eu": {
        "script": "eu",
        "ledgerCurrencies": ["EUR", "GBP"],
        "languages": ["en_GB", "de_DE", "fr_FR", "it_IT", "es_ES"],
        "defaultLanguage": "en_GB",
    },
    "fe": {"script": "fe", "ledgerCurrencies": ["JPY"], "languages": ["ja_JP"], "defaultLanguage": "ja_JP"},
}
#: Which test buyer signs in, by the button's ledger currency.
LEDGER_REGIONS = {"USD": "na", "EUR": "eu", "GBP": "eu", "JPY": "jp"}
BUTTON_PRODUCT_TYPES = ("PayAndShip", "PayOnly", "SignIn")
CHANGE_ACTIONS = ("changeAddress", "changePayment")
#: Amazon's script sends this when the button config names no algorithm (the SDKs' default too:
#: https://github.com/amzn/amazon-pay-api-sdk-php/blob/master/CHANGES.md).
DEFAULT_BUTTON_ALGORITHM = "AMZN-PAY-RSASSA-PSS"
OUTCOME_LABELS = {
    "Success": "success",
    "BuyerCanceled": "buyer cancels",
    "Declined": "declined",
    "PendingAuthorized": "pending, then authorized",
    "PendingDeclined": "pending, then declined",
}
SCRIPT_PATH = Path(__file__).parent / "static" / "checkout.js"
_REGION_LINE = re.compile(r"^  var REGION = .*;$", re.MULTILINE)
_FEATURES_LINE = re.compile(r"^  var FEATURES = .*;$", re.MULTILINE)
#: What Amazon documents but its published builds lack. Served only when asked for
#: (``?with=initUpdate``, or the ``SIMULATOR_CHECKOUT_JS_WITH`` setting; ``without`` wins): by
#: default the script is Amazon's as published, so a shop proves the path that works with Amazon
#: today, ``initCheckout`` with the update payload, as Amazon's update-page guide says to use
#: until ``initUpdate`` ships
#: (https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/steps-to-integrate-with-amazon-pay-hosted-update-page.html).
OPTIONAL_FEATURES = ("initUpdate",)
# The pages carry no script at all; their forms and links lead back to the merchant's site.
PAGE_CSP = "default-src 'self'; script-src 'none'; form-action 'self' http: https:; frame-ancestors 'none'"


class PageError(ApiError):
    """An Amazon error shown on a hosted page, with a hint for the developer reading it."""

    def __init__(self, status: int, reason_code: str, message: str, hint: str | None = None):
        super().__init__(status, reason_code, message)
        self.hint = hint


@bp.errorhandler(ApiError)
def page_error(error: ApiError):
    """An error page, never a redirect: its one link leads back to the session's cancel URL (on a
    registered domain), else to the page the button was on."""
    context = _context(request.values.get("amazonCheckoutSessionId") or "")
    return (
        render_template(
            "error.html",
            error=error,
            hint=getattr(error, "hint", None),
            error_id=str(uuid.uuid4()),
            back_url=context.get("leave_url") or _web_url(request.form.get("origin_url")),
        ),
        error.status,
    )


@bp.after_request
def page_headers(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


# -- checkout.js ---------------------------------------------------------------------------


@bp.get("/static-<any(na, eu, fe):script_region>/checkout.js")
def checkout_js(script_region: str):
    config = current_app.config
    wanted = _names(config.get("SIMULATOR_CHECKOUT_JS_WITH")) | _names(request.args.get("with"))
    without = _names(config.get("SIMULATOR_CHECKOUT_JS_WITHOUT")) | _names(request.args.get("without"))
    for name, asked in (("with", wanted), ("without", without)):
        unknown = sorted(asked - set(OPTIONAL_FEATURES))
        if unknown:
            shown = re.sub(r"[^A-Za-z0-9_, ]", "?", ", ".join(unknown)[:100])  # echoed into JavaScript: no newline
            response = make_response(
                f"// Amazon Pay simulator: unknown feature {shown} in '{name}'; use {', '.join(OPTIONAL_FEATURES)}.\n",
                400,
            )
            response.mimetype = "application/javascript"
            return response
    source = SCRIPT_PATH.read_text(encoding="utf-8")
    region_line = f"  var REGION = {json.dumps(SCRIPT_REGIONS[script_region])};"
    features = {name: name in wanted and name not in without for name in OPTIONAL_FEATURES}
    features_line = f"  var FEATURES = {json.dumps(features)};"
    source = _REGION_LINE.sub(lambda _match: region_line, source, count=1)
    response = make_response(_FEATURES_LINE.sub(lambda _match: features_line, source, count=1))
    response.mimetype = "application/javascript"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# -- the button: POST /checkout/initiate ---------------------------------------------------


@bp.post("/checkout/initiate")
def initiate():
    form = request.form
    if form.get("upgradeAction"):  # checkout.js's bindUpgradeAction
        _verified_button(form)
        raise PageError(
            400,
            "UnsupportedOperation",
            f"upgradeAction {form['upgradeAction'][:40]} (a recurring upgrade) is not simulated.",
            "The Amazon Pay simulator does not simulate recurring upgrades; test them in Amazon's Sandbox.",
        )
    product_type = form.get("productType") or "PayAndShip"
    if product_type not in BUTTON_PRODUCT_TYPES:
        raise invalid_parameter("productType", "Use PayAndShip, PayOnly or SignIn.")
    region = LEDGER_REGIONS.get(form.get("ledgerCurrency") or "")
    if region is None:
        raise invalid_parameter("ledgerCurrency", "Use USD, EUR, GBP or JPY.")
    payload, env = _verified_button(form)
    urls = merchant_urls(form["publicKeyId"], env)
    context = {
        "region": region,
        "origin_url": _button_page(form, urls),
        "language": form.get("checkoutLanguage"),
        "merchant_id": form.get("merchantId"),
        "estimated_amount": _estimated_amount(form.get("estimatedOrderAmount")),
        "sandbox": env == "Sandbox",
    }
    state = store()
    if product_type == "SignIn":
        return_url = _web_url(payload.get("signInReturnUrl"))
        if return_url is None:
            raise missing_parameter("signInReturnUrl")
        urls.check_sign_in(payload)  # signInReturnUrl and signInCancelUrl on a registered domain
        sign_in_id = secrets.token_urlsafe(16)
        context.update(
            sign_in_return_url=return_url,
            cancel_url=_web_url(payload.get("signInCancelUrl")),
            sign_in_scopes=payload.get("signInScopes"),
        )
        with state.lock:
            state.hosted[_sign_in_key(sign_in_id)] = context
        return redirect(url_for(".sign_in_page", signInId=sign_in_id), 303)
    with state.lock:
        checkout = state.create_checkout_session(env, payload, product_type, urls=urls)
        checkout.region = region
        context["cancel_url"] = _web_url(checkout.web().get("checkoutCancelUrl"))
        state.hosted[checkout.id] = context
    return redirect(url_for(".sign_in_page", amazonCheckoutSessionId=checkout.id), 303)


def _verified_button(form) -> tuple[dict[str, Any], str]:
    """The signed payload, if its signature verifies as Amazon checks it: the string to sign of the
    SDKs' button signature (signPayload in
    https://github.com/amzn/amazon-pay-api-sdk-nodejs/blob/master/src/clientHelper.js)."""
    values = {name: form.get(name) or "" for name in ("payloadJSON", "signature", "publicKeyId")}
    for name, value in values.items():
        if not value:
            raise missing_parameter(name)
    payload_json, signature, key_id = values["payloadJSON"], values["signature"], values["publicKeyId"]
    algorithm = form.get("algorithm") or DEFAULT_BUTTON_ALGORITHM
    keys = current_app.config["SIMULATOR_KEYS"]
    if not verify_button_signature(keys, key_id, algorithm, payload_json, signature):
        digest = hashlib.sha256(payload_json.encode("utf-8")).hexdigest()
        merchant = (form.get("merchantId") or "")[:64]
        raise PageError(
            400,
            "InvalidSignatureError",
            f"Signature {signature[:400]} does not match signedString {algorithm[:40]} {digest} "
            f"for merchant {merchant}",
            _signature_hint(keys, key_id, algorithm),
        )
    payload = parse_body(payload_json)
    live = form.get("sandbox") == "false" or form.get("environment") == "LIVE" or key_id.upper().startswith("LIVE")
    return payload, "Live" if live else "Sandbox"


def _button_page(form, urls: ReturnUrls) -> str | None:
    """``origin_url``, the page the button was on (Amazon's script sends it; it is not signed), if
    it is on a domain the merchant registered: the Cancel link when the payload has no
    ``checkoutCancelUrl``. SIMULATOR CHOICE: any other page is ignored (no link), not an error."""
    origin_url = _web_url(form.get("origin_url"))
    return origin_url if origin_url is not None and urls.allows(origin_url) else None


def _signature_hint(keys, key_id: str, algorithm: str) -> str:
    if keys.get(key_id) is None:
        return f"The simulator trusts no public key {key_id[:64]}.pem (see AMAZON_PAY_SIMULATOR_KEYS)."
    if algorithm not in SALT_LENGTHS:
        return "algorithm must be AMZN-PAY-RSASSA-PSS or AMZN-PAY-RSASSA-PSS-V2."
    return (
        "The page must send exactly the string that was signed, with the algorithm used to sign it "
        f"(the button sends {DEFAULT_BUTTON_ALGORITHM} when its config names none)."
    )


# -- sign-in ---------------------------------------------------------------------------------


@bp.get("/checkout/signin")
def sign_in_page():
    flow = _flow(request.args)
    change_action = _change_action(request.args.get("changeAction"), required=False)
    if flow["checkout"] is not None and _signed_in(flow["region"]):
        return redirect(_after_sign_in(flow["checkout"], change_action), 303)
    return render_template(
        "signin.html",
        flow=flow,
        context=flow["context"],
        buyer=buyer_for_region(flow["region"]),
        signed_in=_signed_in(flow["region"]),
        change_action=change_action,
    )


@bp.post("/checkout/signin")
def sign_in():
    flow = _flow(request.form)
    change_action = _change_action(request.form.get("changeAction"), required=False)
    buyer = buyer_for_region(flow["region"])
    email = (request.form.get("email") or "").strip().lower()
    if email != buyer["email"] and not _signed_in(flow["region"]):
        page = render_template(
            "signin.html",
            flow=flow,
            context=flow["context"],
            buyer=buyer,
            signed_in=False,
            change_action=change_action,
            error=f"No test buyer {email or '(empty)'} in this region: use {buyer['email']} (any password).",
        )
        return page, 401
    session["buyers"] = sorted(set(session.get("buyers", [])) | {flow["region"]})
    if flow["checkout"] is None:  # Sign in with Amazon: back to the merchant with a buyer token
        state = store()
        with state.lock:
            token = state.issue_buyer_token(flow["region"], flow["context"].get("sign_in_scopes"))
        return redirect(add_query(flow["context"]["sign_in_return_url"], buyerToken=token), 303)
    return redirect(_after_sign_in(flow["checkout"], change_action), 303)


def _after_sign_in(checkout: CheckoutSession, change_action: str | None) -> str:
    if _is_update(checkout):
        return url_for(".update_page", amazonCheckoutSessionId=checkout.id)
    if change_action and checkout.buyer is not None:
        return url_for(".initiate_auth", amazonCheckoutSessionId=checkout.id, changeAction=change_action)
    if _continue_possible(checkout):
        return url_for(".continue_page", amazonCheckoutSessionId=checkout.id)
    return url_for(".choose_page", amazonCheckoutSessionId=checkout.id)


def _continue_possible(checkout: CheckoutSession) -> bool:
    """ "Continue as" only for a one-time PayAndShip checkout whose default address is allowed
    (https://amazonpay-onboarding.com/en/integration/2step/step4: PayOnly and Recurring always
    show the chooser). SIMULATOR CHOICE:
    a default address excluded by deliverySpecifications sends the buyer to the chooser."""
    if checkout.product_type != "PayAndShip" or _is_update(checkout):
        return False
    if (checkout.details.get("chargePermissionType") or "OneTime") != "OneTime":
        return False
    default = ADDRESSES[buyer_for_region(checkout.region)["defaultAddress"]]
    return address_allowed(default, checkout.details.get("deliverySpecifications"))


# -- "Continue as", the chooser, Change -------------------------------------------------------


@bp.get("/checkout/continue")
def continue_page():
    state = store()
    with state.lock:
        checkout = _open_session(state, request.args.get("amazonCheckoutSessionId"))
        if not _signed_in(checkout.region):
            return redirect(url_for(".sign_in_page", amazonCheckoutSessionId=checkout.id), 303)
        if not _continue_possible(checkout):
            page = ".update_page" if _is_update(checkout) else ".choose_page"
            return redirect(url_for(page, amazonCheckoutSessionId=checkout.id), 303)
        buyer = buyer_for_region(checkout.region)
        return render_template(
            "continue.html",
            checkout=checkout,
            context=_context(checkout.id),
            buyer=buyer,
            address_id=buyer["defaultAddress"],
            address=ADDRESSES[buyer["defaultAddress"]],
            instrument=INSTRUMENTS[DEFAULT_INSTRUMENT],
            outcome_labels=OUTCOME_LABELS,
            process_order=_process_order(checkout),
        )


@bp.get("/checkout/choose")
def choose_page():
    return _chooser(request.args.get("amazonCheckoutSessionId"), None)


@bp.get("/checkout/initiate_auth")
def initiate_auth():
    """Where bindChangeAction sends the buyer: the chooser for one of the two choices."""
    return _chooser(request.args.get("amazonCheckoutSessionId"), _change_action(request.args.get("changeAction")))


def _chooser(session_id: str | None, change_action: str | None):
    state = store()
    with state.lock:
        checkout = _open_session(state, session_id)
        if _is_update(checkout) and not change_action:
            return redirect(url_for(".update_page", amazonCheckoutSessionId=checkout.id), 303)
        if not _signed_in(checkout.region) or (change_action and checkout.buyer is None):
            args = {"changeAction": change_action} if change_action else {}
            return redirect(url_for(".sign_in_page", amazonCheckoutSessionId=checkout.id, **args), 303)
        return _render_chooser(checkout, change_action)


def _address_choices(checkout: CheckoutSession, preferred: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Every address of the book with why the merchant's deliverySpecifications exclude it (or
    None), and the one to preselect: ``preferred`` if allowed, else the first allowed one."""
    specs = checkout.details.get("deliverySpecifications")
    addresses = [
        {"id": key, "address": address, "reason": _unavailable_reason(address, specs)}
        for key, address in ADDRESSES.items()
    ]
    allowed = [a["id"] for a in addresses if a["reason"] is None]
    chosen = preferred if preferred in allowed else (allowed[0] if allowed else None)
    return addresses, chosen


def _render_chooser(checkout: CheckoutSession, change_action: str | None, error: str | None = None, status=200):
    if _is_update(checkout) and not change_action:
        return _render_update(checkout, error, status)
    show_addresses = checkout.product_type == "PayAndShip" and change_action != "changePayment"
    show_instruments = change_action != "changeAddress"
    buyer = buyer_for_region(checkout.region)
    chosen_address = address_id(checkout.shipping_address) or buyer["defaultAddress"]
    addresses = []
    if show_addresses:
        addresses, chosen_address = _address_choices(checkout, chosen_address)
    chosen_instrument = checkout.instrument.last4 if checkout.instrument else DEFAULT_INSTRUMENT
    page = render_template(
        "choose.html",
        checkout=checkout,
        context=_context(checkout.id),
        buyer=buyer,
        change_action=change_action,
        addresses=addresses,
        show_addresses=show_addresses,
        chosen_address=chosen_address,
        instruments=list(INSTRUMENTS.values()) if show_instruments else [],
        chosen_instrument=chosen_instrument,
        outcome_labels=OUTCOME_LABELS,
        process_order=_process_order(checkout),
        error=error,
    )
    return page, status


@bp.post("/checkout/choose")
def choose():
    form = request.form
    change_action = _change_action(form.get("changeAction"), required=False)
    state = store()
    with state.lock:
        checkout = _open_session(state, form.get("amazonCheckoutSessionId"))
        if not _signed_in(checkout.region):
            return redirect(url_for(".sign_in_page", amazonCheckoutSessionId=checkout.id), 303)
        address = form.get("address") or None
        instrument = form.get("instrument") or None
        if change_action == "changeAddress" and checkout.instrument is not None:
            instrument = checkout.instrument.last4  # a change keeps the other choice
        if change_action == "changePayment":
            address = address_id(checkout.shipping_address)
        if checkout.product_type == "PayAndShip" and address is None:
            return _render_chooser(checkout, change_action, "Choose a delivery address.", 400)
        try:
            state.associate_buyer(checkout, checkout.region, address, instrument)
        except ApiError as error:
            if error.reason_code not in ("AddressNotAllowed", "InvalidParameterValue"):
                raise
            return _render_chooser(checkout, change_action, error.message, 400)
        return redirect(_next_step(checkout), 303)


def _unavailable_reason(address: dict[str, Any], specs: dict[str, Any] | None) -> str | None:
    """Why deliverySpecifications exclude an address, in the buyer's words; None if allowed.
    SIMULATOR CHOICE: shown greyed out with this reason, not hidden (Amazon's display is
    unpublished)."""
    if address_allowed(address, specs):
        return None
    special = (specs or {}).get("specialRestrictions") or []
    if "RestrictPOBoxes" in special and not address_allowed(address, {"specialRestrictions": ["RestrictPOBoxes"]}):
        return "This merchant does not deliver to PO boxes."
    if "RestrictPackstations" in special and not address_allowed(
        address, {"specialRestrictions": ["RestrictPackstations"]}
    ):
        return "This merchant does not deliver to Packstations."
    return "This merchant does not deliver to this country, state or postal code."


# -- the hosted update page of a saved wallet (PaymentMethodOnFile, setupOnly) ---------------


@bp.get("/checkout/update")
def update_page():
    """ "Update your Amazon Pay payment method and address": the saved wallet's address and
    payment method preselected. Reached after sign-in when the button's (or initCheckout's /
    initUpdate's) payload is a setupOnly PaymentMethodOnFile one with a chargePermissionId."""
    state = store()
    with state.lock:
        checkout = _open_session(state, request.args.get("amazonCheckoutSessionId"))
        if not _is_update(checkout):
            return redirect(url_for(".choose_page", amazonCheckoutSessionId=checkout.id), 303)
        if not _signed_in(checkout.region):
            return redirect(url_for(".sign_in_page", amazonCheckoutSessionId=checkout.id), 303)
        return _render_update(checkout)


@bp.post("/checkout/update")
def update():
    """Continue: the session gets the buyer's choice, then on to processing (ProcessOrder) and
    ``checkoutResultReturnUrl``, where the merchant calls Finalize Checkout Session."""
    form = request.form
    state = store()
    with state.lock:
        checkout = _open_session(state, form.get("amazonCheckoutSessionId"))
        if not _is_update(checkout):
            raise invalid_parameter("amazonCheckoutSessionId", "This Checkout Session does not update a saved wallet.")
        if not _signed_in(checkout.region):
            return redirect(url_for(".sign_in_page", amazonCheckoutSessionId=checkout.id), 303)
        _wallet_of(state, checkout)  # a wallet that is Closed or not this buyer's: an error page
        address = form.get("address") or None
        if checkout.product_type == "PayAndShip" and address is None:
            return _render_update(checkout, "Choose a delivery address.", 400)
        try:
            state.associate_buyer(checkout, checkout.region, address, form.get("instrument") or None)
        except ApiError as error:
            if error.reason_code not in ("AddressNotAllowed", "InvalidParameterValue"):
                raise
            return _render_update(checkout, error.message, 400)
        return redirect(_next_step(checkout), 303)


def _wallet_of(state: Store, checkout: CheckoutSession):
    buyer = buyer_for_region(checkout.region)
    return state.wallet_to_update(checkout.env, checkout.details["chargePermissionId"], buyer)


def _render_update(checkout: CheckoutSession, error: str | None = None, status: int = 200):
    state = store()
    with state.lock:
        wallet = _wallet_of(state, checkout)
        show_addresses = checkout.product_type == "PayAndShip"
        addresses, chosen_address = [], None
        if show_addresses:
            preferred = address_id(checkout.shipping_address) or address_id(wallet.shipping_address)
            addresses, chosen_address = _address_choices(
                checkout, preferred or buyer_for_region(checkout.region)["defaultAddress"]
            )
        chosen_instrument = (checkout.instrument or wallet.instrument).last4
        page = render_template(
            "update.html",
            checkout=checkout,
            context=_context(checkout.id),
            buyer=buyer_for_region(checkout.region),
            wallet=wallet,
            addresses=addresses,
            show_addresses=show_addresses,
            chosen_address=chosen_address,
            instruments=list(INSTRUMENTS.values()),
            chosen_instrument=chosen_instrument,
            outcome_labels=OUTCOME_LABELS,
            error=error,
        )
    return page, status


def _is_update(checkout: CheckoutSession) -> bool:
    """A setupOnly PaymentMethodOnFile payload naming a saved wallet (Create Checkout Session
    refuses any other use of chargePermissionId)."""
    return bool(checkout.details.get("chargePermissionId"))


# -- amazonPayRedirectUrl --------------------------------------------------------------------


@bp.get("/checkout/processing")
def processing():
    """Amazon processes the payment, once: a reload shows the same page and the same result
    URL (process_payment is idempotent after the first call). A browser (``Accept:
    text/html``) sees a short page that moves on by itself; other HTTP clients get the 302."""
    state = store()
    with state.lock:
        checkout = _known_session(state, request.args.get("amazonCheckoutSessionId"))
        result_url = state.process_payment(checkout)
    if "text/html" not in request.headers.get("Accept", ""):
        return redirect(result_url, 302)
    setup_only = (checkout.details.get("paymentMethodOnFileMetadata") or {}).get("setupOnly") is True
    return render_template(
        "processing.html", result_url=result_url, context=_context(checkout.id), setup_only=setup_only
    )


# -- amazon.Pay.signout() --------------------------------------------------------------------


@bp.route("/checkout/signout", methods=["GET", "POST", "OPTIONS"], provide_automatic_options=False)
def signout():
    if request.method == "OPTIONS":
        response = make_response("", 204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    else:
        session.clear()
        response = jsonify({"result": True})
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Vary"] = "Origin"
    return response


# -- helpers ---------------------------------------------------------------------------------


def _signed_in(region: str) -> bool:
    return region in session.get("buyers", [])


def _known_session(state: Store, session_id: str | None) -> CheckoutSession:
    """Any environment: session ids are unique, and the buyer's browser does not say which."""
    checkout = state.sessions.get(session_id or "")
    if checkout is None:
        raise not_found("Checkout Session", (session_id or "")[:64])
    checkout.refresh(state.clock.now())
    return checkout


def _open_session(state: Store, session_id: str | None) -> CheckoutSession:
    checkout = _known_session(state, session_id)
    if checkout.state != "Open":
        raise invalid_status("Checkout Session", checkout.state, "an Amazon Pay checkout page")
    if checkout.confirmed:
        raise invalid_status(
            "Checkout Session", "Open (the buyer already passed amazonPayRedirectUrl)", "an Amazon Pay checkout page"
        )
    return checkout


def _flow(values) -> dict[str, Any]:
    """The checkout (or Sign in with Amazon) a sign-in page belongs to."""
    state = store()
    with state.lock:
        sign_in_id = values.get("signInId")
        if sign_in_id:
            context = state.hosted.get(_sign_in_key(sign_in_id))
            if context is None:
                raise ApiError(404, "ResourceNotFound", "This sign-in has expired: start again from the shop.")
            context = dict(context, leave_url=context.get("cancel_url") or context.get("origin_url"))
            return {"checkout": None, "sign_in_id": sign_in_id, "region": context["region"], "context": context}
        checkout = _open_session(state, values.get("amazonCheckoutSessionId"))
        context = _context(checkout.id)
        return {"checkout": checkout, "sign_in_id": None, "region": checkout.region, "context": context}


def _context(session_id: str) -> dict[str, Any]:
    state = store()
    with state.lock:
        context = dict(state.hosted.get(session_id) or {})
        checkout = state.sessions.get(session_id)
    if checkout is not None:
        context.setdefault("cancel_url", _web_url(checkout.web().get("checkoutCancelUrl")))
        context.setdefault("sandbox", checkout.env == "Sandbox")
        context["store_name"] = (checkout.details.get("merchantMetadata") or {}).get("merchantStoreName")
        context["wallet_update"] = _is_update(checkout)
        context["charge_amount"] = checkout.payment().get("chargeAmount")
    # Cancel: checkoutCancelUrl, else the page the button was on (unconfirmed; Amazon's script
    # sends that page as origin_url).
    context["leave_url"] = context.get("cancel_url") or context.get("origin_url")
    return context


def _sign_in_key(sign_in_id: str) -> str:
    return f"signin:{sign_in_id}"


def _change_action(value: str | None, required: bool = True) -> str | None:
    if not value:
        if required:
            raise missing_parameter("changeAction")
        return None
    if value not in CHANGE_ACTIONS:
        raise invalid_parameter("changeAction", "Use changeAddress or changePayment.")
    return value


def _process_order(checkout: CheckoutSession) -> bool:
    return checkout.web().get("checkoutMode") == "ProcessOrder"


def _web_url(value: Any) -> str | None:
    """Only http(s) URLs become links on these pages (never javascript: and the like)."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _names(value: Any) -> set[str]:
    """``"a,b"`` or ``["a", "b"]`` -> ``{"a", "b"}``."""
    if isinstance(value, list | tuple | set):
        return {str(item).strip() for item in value if str(item).strip()}
    return {item.strip() for item in str(value or "").split(",") if item.strip()}


def _estimated_amount(value: str | None) -> dict[str, str] | None:
    try:
        amount = json.loads(value or "null")
    except ValueError:
        return None
    if isinstance(amount, dict) and isinstance(amount.get("amount"), str | int | float):
        currency = amount.get("currencyCode")
        if isinstance(currency, str) and len(currency) == 3:
            return {"amount": str(amount["amount"]), "currencyCode": currency}
    return None
