"""The Amazon Pay simulator as a process of its own, for the tests and benchmarks that need it
under gunicorn (``tests/shop/test_real_processes.py``, ``bench/reconcile_load.py``):
``bench.simulator_app:create_app()`` is ``simulator:create_app()`` plus two things that only
these runs need, kept out of ``simulator/``:

- **Dropped connections under gunicorn.** The ``reset`` and ``lost`` faults close the
  connection through the socket werkzeug's server passes in ``environ["werkzeug.socket"]``
  (``simulator/api.py`` ``drop_connection``); without it they answer 503 instead. gunicorn
  passes the same socket as ``gunicorn.socket``: handed over under werkzeug's name, the caller
  sees a real connection reset, as it does from the embedded simulator.
- **Many checkouts at once** for the reconcile benchmark: each checkout goes through the same
  ``Store`` methods, in the same order, as the control endpoints and the API take it for a
  buyer and a shop (``POST /control/bench/sessions``: the button and sign-in;
  ``POST /control/bench/checkouts``: Update Checkout Session, amazonPayRedirectUrl, and
  optionally Complete Checkout Session), without an HTTP request and a signature each: the
  same objects, made thousands of times faster.

``start(servers, keys_dir)`` runs it with the settings of ``bench.servers.Servers.simulator``.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

import simulator
from simulator.errors import ApiError, invalid_parameter
from simulator.operations import Store

bp = Blueprint("bench_control", __name__, url_prefix="/control/bench")

#: The most checkouts one request may make (the benchmark sends them in chunks).
MAX_CHECKOUTS = 5000
STAGES = ("approved", "completed")
ENV = "Sandbox"  # the demo key is a SANDBOX- key


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = simulator.create_app(test_config)
    app.register_blueprint(bp)
    served = app.wsgi_app

    def with_werkzeug_socket(environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is not None:
            environ.setdefault("werkzeug.socket", sock)
        return served(environ, start_response)

    app.wsgi_app = with_werkzeug_socket
    return app


def start(servers, keys_dir):
    """The simulator (this app) as ``Servers.simulator`` runs ``simulator:create_app()``: one
    process with 16 threads (its state is in memory), from the log folder (so gunicorn does not
    read the shop's gunicorn.conf.py). Returns the ``bench.servers.Server``, not yet up."""
    from bench.servers import _base_env, _gunicorn

    argv = [*_gunicorn(), "-w", "1", "--threads", "16", "--no-control-socket", "-b", "127.0.0.1:0"]
    env = _base_env(AMAZON_PAY_SIMULATOR_KEYS=str(keys_dir))
    return servers._start("simulator", [*argv, "bench.simulator_app:create_app()"], env, servers.log_dir)


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return jsonify(error.body()), error.status


@bp.post("/sessions")
def sessions():
    """``{"payload": <the shop's button payload>, "count": n, "instrument"?: "1111"}``: n buyers
    click the button and sign in, choosing ``instrument``; ``{"checkoutSessionIds": [...]}``."""
    body = _body()
    count, instrument = body.get("count"), body.get("instrument") or "1111"
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_CHECKOUTS:
        raise invalid_parameter("count", f"A whole number from 1 to {MAX_CHECKOUTS}.")
    state: Store = current_app.extensions["amazon_pay_simulator"]
    made = []
    with state.lock:
        for _ in range(count):
            session = state.create_checkout_session(ENV, copy.deepcopy(body["payload"]), "PayAndShip")
            session.region = "na"
            state.associate_buyer(session, "na", None, instrument)
            made.append(session.id)
    return jsonify({"checkoutSessionIds": made})


@bp.post("/checkouts")
def checkouts():
    """``{"update": <the shop's Update Checkout Session body>, "checkouts": [{"checkoutSessionId",
    "merchantReferenceId", "amount", "currencyCode", "noteToBuyer"?, "stage"?}]}``: for each,
    Update Checkout Session with the order's amount and reference, the buyer through
    amazonPayRedirectUrl (stage ``approved``: paid at Amazon, never back at the shop), and for
    stage ``completed`` Complete Checkout Session with that amount too (the shop never heard the
    answer). Answers, in order, ``{"checkouts": [{"checkoutSessionId", "amazonPayRedirectUrl",
    "state", "chargePermissionId", "chargeId", "chargeState"}]}``."""
    body = _body()
    if not isinstance(body.get("checkouts"), list) or len(body["checkouts"]) > MAX_CHECKOUTS:
        raise invalid_parameter("checkouts", f"A list of at most {MAX_CHECKOUTS} checkouts.")
    state: Store = current_app.extensions["amazon_pay_simulator"]
    made = []
    with state.lock:
        for checkout in body["checkouts"]:
            made.append(_one_checkout(state, body["update"], checkout))
    return jsonify({"checkouts": made})


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise invalid_parameter("body", "A JSON object.")
    return body


def _one_checkout(state: Store, update: dict, checkout: dict) -> dict[str, Any]:
    stage = checkout.get("stage", "approved")
    if stage not in STAGES:
        raise invalid_parameter("stage", f"Use one of {', '.join(STAGES)}.")
    session = state.session(ENV, checkout["checkoutSessionId"])
    price = {"amount": checkout["amount"], "currencyCode": checkout["currencyCode"]}
    details = copy.deepcopy(update)
    details.setdefault("paymentDetails", {})["chargeAmount"] = price
    metadata = details.setdefault("merchantMetadata", {})
    metadata["merchantReferenceId"] = checkout["merchantReferenceId"]
    if checkout.get("noteToBuyer"):
        metadata["noteToBuyer"] = checkout["noteToBuyer"]
    state.update_checkout_session(ENV, session.id, details)
    base_url = current_app.config.get("SIMULATOR_PUBLIC_URL") or request.host_url.rstrip("/")
    redirect_url = session.to_json(base_url)["webCheckoutDetails"]["amazonPayRedirectUrl"]
    state.process_payment(session)
    if stage == "completed":
        state.complete_checkout_session(ENV, session.id, {"chargeAmount": price}, None)
    charge = state.charges.get(session.charge_id) if session.charge_id else None
    return {
        "checkoutSessionId": session.id,
        "amazonPayRedirectUrl": redirect_url,  # what Update Checkout Session answered the shop
        "state": session.state,
        "chargePermissionId": session.charge_permission_id,
        "chargeId": session.charge_id,
        "chargeState": charge.state if charge else None,
    }
