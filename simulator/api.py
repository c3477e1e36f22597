"""The simulator's Amazon Pay REST API (``/{sandbox|live}/v2/…`` and ``/v2/…``).

Each request goes through the same steps Amazon's front door takes: find the operation
(404 / 405 otherwise), verify the signature and date (``verify.py``), settle the
environment, replay a stored answer for a reused idempotency key, parse and validate the
body, run the operation (``operations.py``). A test may ask for faults first (``faults.py``).
Every answer is JSON and carries ``x-amz-pay-request-id``; errors are
``{"reasonCode", "message"}``; bad input never gives 500.
"""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import struct
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from . import faults
from .errors import ApiError, invalid_header
from .operations import SIMULATION_CODES, Store, check_simulation_code
from .schema import parse_body
from .verify import verify_request

log = logging.getLogger(__name__)

bp = Blueprint("amazon_pay_api", __name__)

_ID = r"(?P<id>[^/]+)"
#: (method, resource pattern, operation name, success status)
ROUTES = [
    ("POST", r"/checkoutSessions", "CreateCheckoutSession", 201),
    ("GET", rf"/checkoutSessions/{_ID}", "GetCheckoutSession", 200),
    ("PATCH", rf"/checkoutSessions/{_ID}", "UpdateCheckoutSession", 200),
    ("POST", rf"/checkoutSessions/{_ID}/complete", "CompleteCheckoutSession", 200),
    ("POST", rf"/checkoutSessions/{_ID}/finalize", "FinalizeCheckoutSession", 200),
    ("GET", rf"/chargePermissions/{_ID}", "GetChargePermission", 200),
    ("PATCH", rf"/chargePermissions/{_ID}", "UpdateChargePermission", 200),
    ("DELETE", rf"/chargePermissions/{_ID}/close", "CloseChargePermission", 200),
    ("POST", r"/charges", "CreateCharge", 201),
    ("GET", rf"/charges/{_ID}", "GetCharge", 200),
    ("POST", rf"/charges/{_ID}/capture", "CaptureCharge", 200),
    ("DELETE", rf"/charges/{_ID}/cancel", "CancelCharge", 200),
    ("POST", r"/refunds", "CreateRefund", 201),
    ("GET", rf"/refunds/{_ID}", "GetRefund", 200),
    ("GET", rf"/buyers/{_ID}", "GetBuyer", 200),
]
_COMPILED = [(method, re.compile(f"^{pattern}/?$"), name, status) for method, pattern, name, status in ROUTES]
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
REGION_ALIASES = {"na": "na", "us": "na", "eu": "eu", "de": "eu", "uk": "eu", "jp": "jp", "fe": "jp"}


def match(method: str, resource: str) -> tuple[str, dict[str, str], int]:
    allowed = False
    for route_method, pattern, name, status in _COMPILED:
        found = pattern.match(resource)
        if found:
            if route_method == method:
                return name, found.groupdict(), status
            allowed = True
    if allowed:
        raise ApiError(405, "RequestNotSupported", f"The HTTP method {method} is not supported for {resource}.")
    raise ApiError(404, "ResourceNotFound", f"No Amazon Pay operation is found at {resource}.")


def environment(segment: str | None, public_key_id: str) -> str:
    if segment:
        return "Sandbox" if segment == "sandbox" else "Live"
    upper = public_key_id.upper()
    if upper.startswith("SANDBOX"):
        return "Sandbox"
    if upper.startswith("LIVE"):
        return "Live"
    # SIMULATOR CHOICE: every official SDK adds /sandbox or /live for such keys (api.md §2).
    raise ApiError(
        400,
        "InvalidRequest",
        "A public key ID without a SANDBOX- or LIVE- prefix must call /sandbox/v2/… or /live/v2/….",
    )


def store() -> Store:
    return current_app.extensions["amazon_pay_simulator"]


# Every method reaches the dispatcher, which answers 405 itself (no automatic OPTIONS/HEAD).
_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD"]


@bp.route("/v2/", defaults={"segment": None, "rest": ""}, methods=_METHODS, provide_automatic_options=False)
@bp.route("/v2/<path:rest>", defaults={"segment": None}, methods=_METHODS, provide_automatic_options=False)
@bp.route("/<any(sandbox, live):segment>/v2/<path:rest>", methods=_METHODS, provide_automatic_options=False)
def api(segment: str | None, rest: str):
    request_id = str(uuid.uuid4())
    operation = fault = None
    try:
        operation, params, status = match(request.method, "/" + rest)
        state_faults = store().faults
        fault = state_faults.draw(operation)  # faults.py: None unless a test asked for faults
        if fault == "reset":
            log.info("simulator operation=%s fault=reset request_id=%s", operation, request_id)
            return drop_connection()
        if fault in ("5xx", "429"):
            raise faults.error(fault)
        status, body = handle(operation, params, status, segment)
    except ApiError as error:
        status, body = error.status, error.body()
    if fault == "slow":
        state_faults.wait()  # applied already, and outside the store's lock
    if fault == "lost":
        log.info("simulator operation=%s status=%d fault=lost request_id=%s", operation, status, request_id)
        return drop_connection()
    log.info("simulator operation=%s status=%d request_id=%s", operation, status, request_id)
    response = jsonify(body)
    response.status_code = status
    response.headers["x-amz-pay-request-id"] = request_id
    if fault == "429":
        response.headers["Retry-After"] = "1"
    return response


def drop_connection() -> Response:
    """Close the connection without an answer (``reset`` and ``lost`` faults).

    werkzeug's server hands the socket over in ``werkzeug.socket``: shutting it down makes the
    client see the connection end with no status line (requests raises ``ConnectionError``
    wrapping urllib3's ``ProtocolError('Connection aborted.', RemoteDisconnected(...))``), and
    SO_LINGER 0 makes the final close a TCP reset. werkzeug's own write of the (empty) answer
    then fails with BrokenPipeError, which it treats as a dropped connection. Under a server
    without that socket (Flask's test client), the fault answers 503 instead.
    """
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        error = faults.error("5xx")
        response = jsonify(error.body())
        response.status_code = error.status
        return response
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # the client went away first
        pass
    return Response(status=500)


@bp.after_app_request
def request_id_on_every_answer(response):
    """Errors raised before the dispatcher (oversized body, unknown path) carry one too."""
    response.headers.setdefault("x-amz-pay-request-id", str(uuid.uuid4()))
    return response


def handle(operation: str, params: dict[str, str], status: int, segment: str | None) -> tuple[int, dict[str, Any]]:
    state = store()
    caller = verify_request(request, current_app.config["SIMULATOR_KEYS"], state.clock.request_time())
    env = environment(segment, caller.public_key_id)
    raw = request.get_data(cache=True)
    key = request.headers.get("x-amz-pay-idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise invalid_header(
            "x-amz-pay-idempotency-key", detail=" Use at most 32 characters of A-Z, a-z, 0-9, - and _."
        )
    with state.lock:
        if request.method == "POST" and key:
            fingerprint = hashlib.sha256(f"{operation}\n{params}\n".encode() + raw).hexdigest()
            saved = state.idempotency.get((env, key))
            if saved is not None:
                if saved[0] != fingerprint:
                    raise ApiError(
                        400,
                        "DuplicateIdempotencyKey",
                        "The IdempotencyKey that you have specified in this request was already used "
                        "in a different request, and cannot be reused.",
                    )
                return saved[1], saved[2]
            try:
                result = run(operation, params, status, env, raw)
            except ApiError as error:
                result = (error.status, error.body())
            if result[0] < 500:
                state.idempotency[(env, key)] = (fingerprint, *result)
            return result
        return run(operation, params, status, env, raw)


def run(operation: str, params: dict[str, str], status: int, env: str, raw: bytes) -> tuple[int, dict[str, Any]]:
    state = store()
    body = parse_body(raw) if request.method != "GET" else {}
    code = request.headers.get("x-amz-pay-simulation-code")
    object_id = params.get("id", "")
    base_url = current_app.config.get("SIMULATOR_PUBLIC_URL") or request.host_url.rstrip("/")
    region = REGION_ALIASES.get((request.headers.get("x-amz-pay-region") or "na").lower(), "na")
    if operation not in SIMULATION_CODES:
        check_simulation_code(operation, code, env)  # no code applies here: any code is an error

    if operation == "CreateCheckoutSession":
        session = state.create_checkout_session(env, body)
        session.region = region
        return status, session.to_json(base_url)
    if operation == "GetCheckoutSession":
        return status, state.session(env, object_id).to_json(base_url)
    if operation == "UpdateCheckoutSession":
        return status, state.update_checkout_session(env, object_id, body).to_json(base_url)
    if operation == "CompleteCheckoutSession":
        status, session = state.complete_checkout_session(env, object_id, body, code)
        return status, session.to_json(base_url)
    if operation == "FinalizeCheckoutSession":
        status, session = state.finalize_checkout_session(env, object_id, body)
        return status, session.to_json(base_url)
    if operation == "GetChargePermission":
        return status, state.charge_permission(env, object_id).to_json()
    if operation == "UpdateChargePermission":
        return status, state.update_charge_permission(env, object_id, body).to_json()
    if operation == "CloseChargePermission":
        return status, state.close_charge_permission(env, object_id, body, code).to_json()
    if operation == "CreateCharge":
        return status, state.create_charge(env, body, code).to_json()
    if operation == "GetCharge":
        return status, state.charge(env, object_id).to_json()
    if operation == "CaptureCharge":
        return status, state.capture_charge(env, object_id, body, code).to_json()
    if operation == "CancelCharge":
        return status, state.cancel_charge(env, object_id, body).to_json()
    if operation == "CreateRefund":
        return status, state.create_refund(env, body, code).to_json()
    if operation == "GetRefund":
        return status, state.refund(env, object_id).to_json()
    if operation == "GetBuyer":
        return status, state.get_buyer(object_id)
    raise ApiError(404, "ResourceNotFound", f"Unknown operation {operation}.")
