"""An offline stand-in for Amazon Pay: the API, the hosted pages, test controls.

Never imported by the shop: the shop talks to it over HTTP exactly as it talks to Amazon.
Run alone with ``flask --app simulator run --port 5001``; it trusts every public key
``<publicKeyId>.pem`` in the directory named by ``AMAZON_PAY_SIMULATOR_KEYS``, and sends the
buyer back only to the domains listed beside it in ``<publicKeyId>.domains`` (domains.py).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from . import ipn
from .clock import Clock
from .domains import DomainRegistry
from .keys import KeyRing
from .operations import Store

DEFAULT_KEYS_DIR = os.path.join("instance", "simulator-keys")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        SIMULATOR_KEYS_DIR=os.environ.get("AMAZON_PAY_SIMULATOR_KEYS", DEFAULT_KEYS_DIR),
        SIMULATOR_PUBLIC_URL=os.environ.get("AMAZON_PAY_SIMULATOR_PUBLIC_URL"),
        # checkout.js is served as Amazon's published builds are (no amazon.Pay.initUpdate);
        # "initUpdate" adds it, as Amazon's update-page guide documents it (hosted.py).
        SIMULATOR_CHECKOUT_JS_WITH=os.environ.get("AMAZON_PAY_SIMULATOR_CHECKOUT_JS_WITH", ""),
        SIMULATOR_CHECKOUT_JS_WITHOUT=os.environ.get("AMAZON_PAY_SIMULATOR_CHECKOUT_JS_WITHOUT", ""),
        MAX_CONTENT_LENGTH=1024 * 1024,
        # The hosted pages remember the signed-in test buyer in their own cookie: the shop runs
        # on the same host, and cookies are not port-specific, so Flask's "session" would clash.
        SECRET_KEY=os.environ.get("AMAZON_PAY_SIMULATOR_SECRET_KEY") or secrets.token_hex(32),
        SESSION_COOKIE_NAME="amazon_pay_simulator",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if test_config:
        app.config.update(test_config)
    app.config.setdefault("SIMULATOR_CLOCK", Clock())
    if "SIMULATOR_KEYS" not in app.config:
        app.config["SIMULATOR_KEYS"] = KeyRing(app.config["SIMULATOR_KEYS_DIR"])
    if "SIMULATOR_DOMAINS" not in app.config:
        # <publicKeyId>.domains beside each key: the domains registered "in Seller Central" (domains.py).
        app.config["SIMULATOR_DOMAINS"] = DomainRegistry(app.config["SIMULATOR_KEYS_DIR"])
    app.json.sort_keys = False
    app.url_map.merge_slashes = False  # Amazon does not redirect //; SDKs do not follow redirects
    app.extensions["amazon_pay_simulator"] = Store(app.config["SIMULATOR_CLOCK"])

    from . import api, control, hosted

    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(hosted.bp)
    ipn.init_app(app)  # Instant Payment Notifications (ipn.py): settings, certificate, /control/ipn

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """Errors raised before an operation runs (oversized body, …) as Amazon-style JSON."""
        code = {413: "InvalidRequest", 404: "ResourceNotFound", 405: "RequestNotSupported"}.get(
            error.code, "InvalidRequest"
        )
        response = jsonify({"reasonCode": code, "message": error.description})
        response.status_code = error.code or 400
        return response

    @app.errorhandler(Exception)
    def internal_error(error: Exception):
        app.logger.exception("simulator internal error")
        response = jsonify({"reasonCode": "InternalServerError", "message": "The simulator failed unexpectedly."})
        response.status_code = 500
        return response

    return app
