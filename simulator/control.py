"""Test-control endpoints: play the buyer without a browser.

Amazon's hosted pages are where a buyer clicks the button, signs in and picks an address
and a payment method, then passes through ``amazonPayRedirectUrl``. These JSON endpoints do
the same steps, so API tests and benchmarks can run whole checkouts headless. They are not
part of Amazon's API and need no signature; keep the simulator off public networks.
Documented in docs/simulator.md.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from . import faults, ipn
from .api import OPERATIONS, REGION_ALIASES, merchant_urls, store
from .buyers import ADDRESSES, INSTRUMENTS
from .domains import ReturnUrls, parse_domain_list, return_urls
from .errors import ApiError, invalid_parameter, missing_parameter
from .keys import KEY_ID
from .operations import Store, add_query
from .schema import parse_body, text_field
from .verify import verify_button_signature

bp = Blueprint("simulator_control", __name__, url_prefix="/control")

MAX_ADVANCE_SECONDS = 10 * 365 * 24 * 3600
OUTCOMES = ("Success", "BuyerCanceled", "Declined", "PendingAuthorized", "PendingDeclined")


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return jsonify(error.body()), error.status


def _json() -> dict[str, Any]:
    return parse_body(request.get_data())


def _region(body: dict[str, Any], default: str = "na") -> str:
    region = REGION_ALIASES.get(str(body.get("region") or default).lower())
    if region is None:
        raise invalid_parameter("region", "Use na, eu or jp (us, de, uk are aliases).")
    return region


def verified_payload(body: dict[str, Any]) -> tuple[dict[str, Any], str, ReturnUrls]:
    """The button's payload, if its signature verifies as Amazon checks it; its environment; and
    where the signing key lets Amazon send the buyer back."""
    payload_json = text_field(body, "payloadJSON")
    signature = text_field(body, "signature")
    public_key_id = text_field(body, "publicKeyId")
    algorithm = text_field(body, "algorithm", required=False) or "AMZN-PAY-RSASSA-PSS-V2"
    keys = current_app.config["SIMULATOR_KEYS"]
    if not verify_button_signature(keys, public_key_id, algorithm, payload_json, signature):
        raise ApiError(
            400,
            "InvalidSignatureError",
            f"Signature {signature[:24]}… does not match the payload for publicKeyId {public_key_id[:64]}.",
        )
    payload = parse_body(payload_json)
    sandbox = body.get("sandbox")
    env = "Live" if (sandbox is False or public_key_id.upper().startswith("LIVE")) else "Sandbox"
    return payload, env, merchant_urls(public_key_id, env)


def _choice(body: dict[str, Any]) -> tuple[str | None, str | None]:
    address, instrument = text_field(body, "address", False), text_field(body, "instrument", False)
    return address, instrument


def _base_url() -> str:
    return current_app.config.get("SIMULATOR_PUBLIC_URL") or request.host_url.rstrip("/")


def _next_step(session) -> str:
    """Where Amazon sends the buyer after sign-in: the merchant's review page, or, for
    checkoutMode ProcessOrder (no review page), straight on to payment processing."""
    review_url = session.web().get("checkoutReviewReturnUrl")
    if review_url:
        return add_query(review_url, amazonCheckoutSessionId=session.id)
    return f"{_base_url()}/checkout/processing?amazonCheckoutSessionId={session.id}"


def _checkout_answer(session, redirect_url: str) -> dict[str, Any]:
    base = _base_url()
    return {"checkoutSessionId": session.id, "redirectUrl": redirect_url, "checkoutSession": session.to_json(base)}


@bp.get("")
def index():
    """What a tester can choose: the simulated instruments, addresses and outcomes."""
    return jsonify(
        {
            "instruments": {
                key: {"descriptor": i.descriptor, "outcome": i.outcome, "description": i.description}
                for key, i in INSTRUMENTS.items()
            },
            "addresses": ADDRESSES,
            "outcomes": OUTCOMES,
            "endpoints": [rule.rule for rule in current_app.url_map.iter_rules() if rule.rule.startswith("/control")],
        }
    )


@bp.post("/button-checkout")
def button_checkout():
    """The buyer clicks the Amazon Pay button, signs in, and picks an address and instrument."""
    body = _json()
    payload, env, urls = verified_payload(body)
    product_type = text_field(body, "productType", False) or "PayAndShip"
    if product_type not in ("PayAndShip", "PayOnly"):
        raise invalid_parameter("productType", "Use PayAndShip or PayOnly.")
    address, instrument = _choice(body)
    state = store()
    with state.lock:
        session = state.create_checkout_session(env, payload, product_type, urls=urls)
        session.region = _region(body)
        state.associate_buyer(session, session.region, address, instrument)
        return jsonify(_checkout_answer(session, _next_step(session))), 201


@bp.post("/checkout-sessions/<session_id>/buyer")
def sign_in_to_session(session_id: str):
    """A session created with the API (decoupled button): the buyer signs in and chooses."""
    body = _json()
    address, instrument = _choice(body)
    state = store()
    with state.lock:
        session = state.session(_env(body), session_id)
        state.associate_buyer(session, _region(body, session.region), address, instrument)
        return jsonify(_checkout_answer(session, _next_step(session)))


@bp.post("/checkout-sessions/<session_id>/redirect")
def finish_redirect(session_id: str):
    """The buyer passes through amazonPayRedirectUrl; ``outcome`` overrides the instrument's."""
    body = _json()
    outcome = text_field(body, "outcome", False)
    if outcome is not None and outcome not in OUTCOMES:
        raise invalid_parameter("outcome", f"Use one of {', '.join(OUTCOMES)}.")
    state = store()
    with state.lock:
        session = state.session(_env(body), session_id)
        result_url = state.process_payment(session, outcome)
        return jsonify(_checkout_answer(session, result_url))


@bp.post("/sign-in")
def sign_in():
    """Sign in with Amazon: a signed sign-in payload gives a buyer token (valid 24 hours)."""
    body = _json()
    payload, _env_name, urls = verified_payload(body)
    return_url = payload.get("signInReturnUrl")
    if not isinstance(return_url, str) or not return_url:
        raise missing_parameter("signInReturnUrl")
    urls.check_sign_in(payload)  # signInReturnUrl and signInCancelUrl on a registered domain
    state = store()
    with state.lock:
        token = state.issue_buyer_token(_region(body), payload.get("signInScopes"))
    return jsonify({"buyerToken": token, "redirectUrl": add_query(return_url, buyerToken=token)})


@bp.get("/merchants/<public_key_id>/domains")
def get_domains(public_key_id: str):
    """The domains a merchant key registered "in Seller Central": the override set here, else
    its ``<publicKeyId>.domains`` file (domains.py)."""
    return jsonify(_domains_answer(_key_id(public_key_id)))


@bp.put("/merchants/<public_key_id>/domains")
def put_domains(public_key_id: str):
    """``{"domains": ["shop.example", ...]}`` replaces the key's list in memory, until
    ``DELETE`` or ``/control/reset``; the ``.domains`` file is left as it is."""
    key_id = _key_id(public_key_id)
    hosts = parse_domain_list(_json())
    state = store()
    with state.lock:
        state.domain_overrides[key_id] = hosts
    return jsonify(_domains_answer(key_id))


@bp.delete("/merchants/<public_key_id>/domains")
def delete_domains(public_key_id: str):
    """Forget the override: the ``.domains`` file counts again."""
    key_id = _key_id(public_key_id)
    state = store()
    with state.lock:
        state.domain_overrides.pop(key_id, None)
    return jsonify(_domains_answer(key_id))


def _key_id(public_key_id: str) -> str:
    if not KEY_ID.fullmatch(public_key_id):
        raise invalid_parameter("publicKeyId", "At most 64 characters of A-Z, a-z, 0-9, - and _.")
    return public_key_id


def _domains_answer(public_key_id: str) -> dict[str, Any]:
    state = store()
    with state.lock:
        override = state.domain_overrides.get(public_key_id)
    urls = return_urls(current_app.config["SIMULATOR_DOMAINS"], public_key_id, "Sandbox", override)
    return {
        "publicKeyId": public_key_id,
        "domains": sorted(urls.registered),
        "source": urls.source,  # "override", "file" or "none" (no .domains file: loopback only)
    }


@bp.post("/charge-permissions/<cp_id>/status")
def charge_permission_status(cp_id: str):
    """What Amazon does to a saved wallet by itself: ``{"state": "NonChargeable", "reason":
    "PaymentMethodExpired"}`` (a card expired), back to ``{"state": "Chargeable"}``, or
    ``{"state": "Closed", "reason": "BuyerClosed"}``. ``reasons`` (a list) may replace ``reason``."""
    body = _json()
    new_state = text_field(body, "state")
    reasons = body.get("reasons")
    if reasons is None:
        reason = text_field(body, "reason", required=False)
        reasons = [reason] if reason else []
    elif "reason" in body:
        raise invalid_parameter("reason", "Give reason or reasons, not both.")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons) or len(reasons) > 8:
        raise invalid_parameter("reasons", "A list of reason codes.")
    state = store()
    with state.lock:
        cp = state.set_charge_permission_status(cp_id, new_state, reasons)
        return jsonify(cp.to_json())


@bp.post("/clock")
def advance_clock():
    body = _json()
    seconds = body.get("advanceSeconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
        raise invalid_parameter("advanceSeconds", f"A number of seconds from 0 to {MAX_ADVANCE_SECONDS} (10 years).")
    now = store().clock.advance(seconds)
    ipn.clock_moved()  # what became due (pending charges, refunds) is notified now
    return jsonify({"now": now.isoformat()})


@bp.get("/counts")
def counts():
    """How many objects the simulator made: tests prove "one order, one charge" with this."""
    state = store()
    with state.lock:
        return jsonify(
            {
                "counts": dict(state.counts),
                "chargesPerChargePermission": {cp.id: len(cp.charge_ids) for cp in state.charge_permissions.values()},
                "chargesPerMerchantReference": _charges_per_reference(state),
            }
        )


def _charges_per_reference(state: Store) -> dict[str, int]:
    result: dict[str, int] = {}
    for charge in state.charges.values():
        reference = charge.merchant_metadata.get("merchantReferenceId")
        if reference:
            result[reference] = result.get(reference, 0) + 1
    return result


@bp.post("/reset")
def reset():
    state = store()
    with state.lock:
        state.__init__(state.clock)
    return jsonify({"reset": True})


@bp.get("/faults")
def get_faults():
    """The fault rules (each with how often it fired), faults injected per operation and kind,
    and API requests seen per operation since the last ``POST``."""
    return jsonify(store().faults.to_json())


@bp.post("/faults")
def set_faults():
    """Fail the API on purpose: ``{"seed"?, "rules": [{"operation", "kind", "rate"?, "times"?}],
    "slowSeconds"?}`` replaces the rules and restarts the counters (faults.py)."""
    rules, seed, slow_seconds = faults.parse_config(_json(), OPERATIONS)
    state = store()
    state.faults.configure(rules, seed, slow_seconds)
    return jsonify(state.faults.to_json())


@bp.delete("/faults")
def clear_faults():
    """Stop injecting faults; the counters stay readable."""
    state = store()
    state.faults.clear()
    return jsonify(state.faults.to_json())


def _env(body: dict[str, Any]) -> str:
    return "Live" if body.get("sandbox") is False else "Sandbox"
