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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from . import delivery, faults
from .domains import ReturnUrls, return_urls
from .errors import ApiError, invalid_header
from .operations import SIMULATION_CODES, Store, check_simulation_code
from .schema import parse_body
from .verify import verify_request

log = logging.getLogger(__name__)

bp = Blueprint("amazon_pay_api", __name__)

_ID = r"(?P<id>[^/]+)"


@dataclass(frozen=True)
class Call:
    """What an operation's handler gets: the parsed request, in the caller's environment."""

    state: Store
    env: str
    object_id: str  # the {id} of the path, "" for a create
    body: dict[str, Any]
    code: str | None  # x-amz-pay-simulation-code
    base_url: str
    region: str
    urls: ReturnUrls  # the return-URL domains the calling key registered (domains.py)


#: A handler answers with a body (the route's status), or with (status, body).
Handler = Callable[[Call], dict[str, Any] | tuple[int, dict[str, Any]]]


def _create_checkout_session(call: Call) -> dict[str, Any]:
    session = call.state.create_checkout_session(call.env, call.body, urls=call.urls)
    session.region = call.region
    return session.to_json(call.base_url)


def _complete_checkout_session(call: Call) -> tuple[int, dict[str, Any]]:
    status, session = call.state.complete_checkout_session(call.env, call.object_id, call.body, call.code)
    return status, session.to_json(call.base_url)


def _finalize_checkout_session(call: Call) -> tuple[int, dict[str, Any]]:
    status, session = call.state.finalize_checkout_session(call.env, call.object_id, call.body)
    return status, session.to_json(call.base_url, finalized=True)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # the resource after /v2, {id} as _ID
    operation: str
    status: int  # on success, unless the handler says otherwise
    handler: Handler


#: Every operation of the API: adding one is a row here (and its Store method).
# fmt: off
ROUTES = [
    Route("POST", r"/checkoutSessions", "CreateCheckoutSession", 201, _create_checkout_session),
    Route("GET", rf"/checkoutSessions/{_ID}", "GetCheckoutSession", 200,
          lambda c: c.state.session(c.env, c.object_id).to_json(c.base_url)),
    Route("PATCH", rf"/checkoutSessions/{_ID}", "UpdateCheckoutSession", 200,
          lambda c: c.state.update_checkout_session(c.env, c.object_id, c.body, urls=c.urls).to_json(c.base_url)),
    Route("POST", rf"/checkoutSessions/{_ID}/complete", "CompleteCheckoutSession", 200, _complete_checkout_session),
    Route("POST", rf"/checkoutSessions/{_ID}/finalize", "FinalizeCheckoutSession", 200, _finalize_checkout_session),
    Route("GET", rf"/chargePermissions/{_ID}", "GetChargePermission", 200,
          lambda c: c.state.charge_permission(c.env, c.object_id).to_json()),
    Route("PATCH", rf"/chargePermissions/{_ID}", "UpdateChargePermission", 200,
          lambda c: c.state.update_charge_permission(c.env, c.object_id, c.body).to_json()),
    Route("DELETE", rf"/chargePermissions/{_ID}/close", "CloseChargePermission", 200,
          lambda c: c.state.close_charge_permission(c.env, c.object_id, c.body, c.code).to_json()),
    Route("POST", r"/charges", "CreateCharge", 201,
          lambda c: c.state.create_charge(c.env, c.body, c.code, urls=c.urls).to_json()),
    Route("GET", rf"/charges/{_ID}", "GetCharge", 200,
          lambda c: c.state.charge(c.env, c.object_id).to_json()),
    Route("POST", rf"/charges/{_ID}/capture", "CaptureCharge", 200,
          lambda c: c.state.capture_charge(c.env, c.object_id, c.body, c.code).to_json()),
    Route("DELETE", rf"/charges/{_ID}/cancel", "CancelCharge", 200,
          lambda c: c.state.cancel_charge(c.env, c.object_id, c.body).to_json()),
    Route("POST", r"/refunds", "CreateRefund", 201,
          lambda c: c.state.create_refund(c.env, c.body, c.code).to_json()),
    Route("GET", rf"/refunds/{_ID}", "GetRefund", 200,
          lambda c: c.state.refund(c.env, c.object_id).to_json()),
    Route("GET", rf"/buyers/{_ID}", "GetBuyer", 200,
          lambda c: c.state.get_buyer(c.object_id)),
    Route("POST", r"/deliveryTrackers", "DeliveryTrackers", 200,
          lambda c: delivery.create_delivery_tracker(c.state, c.env, c.body)),
]
# fmt: on
OPERATIONS = {route.operation for route in ROUTES}
_COMPILED = [(re.compile(f"^{route.pattern}/?$"), route) for route in ROUTES]
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
REGION_ALIASES = {"na": "na", "us": "na", "eu": "eu", "de": "eu", "uk": "eu", "jp": "jp", "fe": "jp"}


def match(method: str, resource: str) -> tuple[Route, dict[str, str]]:
    allowed = False
    for pattern, route in _COMPILED:
        found = pattern.match(resource)
        if found:
            if route.method == method:
                return route, found.groupdict()
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
    # SIMULATOR CHOICE: every official SDK adds /sandbox or /live for such keys, e.g. createServiceUrl in
    # https://github.com/amzn/amazon-pay-api-sdk-php/blob/master/Amazon/Pay/API/Client.php
    raise ApiError(
        400,
        "InvalidRequest",
        "A public key ID without a SANDBOX- or LIVE- prefix must call /sandbox/v2/… or /live/v2/….",
    )


def store() -> Store:
    return current_app.extensions["amazon_pay_simulator"]


def merchant_urls(public_key_id: str, env: str) -> ReturnUrls:
    """Where the merchant of ``public_key_id`` lets Amazon send the buyer back (domains.py)."""
    state = store()
    with state.lock:
        override = state.domain_overrides.get(public_key_id)
    return return_urls(current_app.config["SIMULATOR_DOMAINS"], public_key_id, env, override)


# Every method reaches the dispatcher, which answers 405 itself (no automatic OPTIONS/HEAD).
_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD"]


@bp.route("/v2/", defaults={"segment": None, "rest": ""}, methods=_METHODS, provide_automatic_options=False)
@bp.route("/v2/<path:rest>", defaults={"segment": None}, methods=_METHODS, provide_automatic_options=False)
@bp.route("/<any(sandbox, live):segment>/v2/<path:rest>", methods=_METHODS, provide_automatic_options=False)
def api(segment: str | None, rest: str):
    request_id = str(uuid.uuid4())
    operation = fault = None
    try:
        route, params = match(request.method, "/" + rest)
        operation = route.operation
        state_faults = store().faults
        fault = state_faults.draw(operation)  # faults.py: None unless a test asked for faults
        if fault == "reset":
            log.info("simulator operation=%s fault=reset request_id=%s", operation, request_id)
            return drop_connection()
        if fault in ("5xx", "429"):
            raise faults.error(fault)
        status, body = handle(route, params, segment)
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

    werkzeug's server hands the socket over in ``werkzeug.socket`` (gunicorn in
    ``gunicorn.socket``): shutting it down makes the
    client see the connection end with no status line (requests raises ``ConnectionError``
    wrapping urllib3's ``ProtocolError('Connection aborted.', RemoteDisconnected(...))``), and
    SO_LINGER 0 makes the final close a TCP reset. werkzeug's own write of the (empty) answer
    then fails with BrokenPipeError, which it treats as a dropped connection. Under a server
    without that socket (Flask's test client), the fault answers 503 instead.
    """
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
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


def handle(route: Route, params: dict[str, str], segment: str | None) -> tuple[int, dict[str, Any]]:
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
            fingerprint = hashlib.sha256(f"{route.operation}\n{params}\n".encode() + raw).hexdigest()
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
                result = run(route, params, env, raw, caller.public_key_id)
            except ApiError as error:
                result = (error.status, error.body())
            if result[0] < 500:
                state.idempotency[(env, key)] = (fingerprint, *result)
            return result
        return run(route, params, env, raw, caller.public_key_id)


def run(route: Route, params: dict[str, str], env: str, raw: bytes, public_key_id: str) -> tuple[int, dict[str, Any]]:
    body = parse_body(raw) if request.method != "GET" else {}
    code = request.headers.get("x-amz-pay-simulation-code")
    if route.operation not in SIMULATION_CODES:
        check_simulation_code(route.operation, code, env)  # no code applies here: any code is an error
    call = Call(
        state=store(),
        env=env,
        object_id=params.get("id", ""),
        body=body,
        code=code,
        base_url=current_app.config.get("SIMULATOR_PUBLIC_URL") or request.host_url.rstrip("/"),
        region=REGION_ALIASES.get((request.headers.get("x-amz-pay-region") or "na").lower(), "na"),
        urls=merchant_urls(public_key_id, env),
    )
    answer = route.handler(call)
    return answer if isinstance(answer, tuple) else (route.status, answer)
