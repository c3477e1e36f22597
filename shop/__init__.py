"""The storefront: ``create_app()`` builds the Flask app (config, Amazon Pay client, pages).

Follows the Flask tutorial's app factory: defaults, then the environment (``.env``),
then test overrides.
"""

from __future__ import annotations

import logging
import os
from decimal import Decimal
from typing import Any

from flask import Flask, render_template, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect

from . import accounts, cart, orders, security
from . import config as settings
from .amazon_pay import AmazonPayClient
from .button import SignatureCache
from .money import display
from .regions import REGIONS

csrf = CSRFProtect()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates", static_folder="../static")
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(
        DATABASE=os.path.join(app.instance_path, "orders.sqlite"),
        SESSION_COOKIE_SAMESITE="Lax",  # Strict would drop the cart when Amazon sends the buyer back
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=64 * 1024,
        AMAZON_PAY_PAYMENT_INTENT="Authorize",
        AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION=True,
    )
    if test_config and "AMAZON_PAY_CLIENT" in test_config:
        app.config.update(test_config)
    else:
        app.config.update(settings.load(app.instance_path))
        app.config.update(test_config or {})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    client = app.config.get("AMAZON_PAY_CLIENT") or AmazonPayClient(
        public_key_id=app.config["AMAZON_PAY_PUBLIC_KEY_ID"],
        private_key=app.config["AMAZON_PAY_PRIVATE_KEY"],
        region=app.config["AMAZON_PAY_REGION"],
        sandbox=app.config["AMAZON_PAY_SANDBOX"],
        algorithm=app.config["AMAZON_PAY_ALGORITHM"],
        endpoint=app.config.get("AMAZON_PAY_ENDPOINT"),
    )
    app.extensions["amazon_pay"] = client
    app.extensions["amazon_pay_button_signatures"] = SignatureCache(client.generate_button_signature)

    csrf.init_app(app)
    orders.init_app(app)
    accounts.init_app(app)
    security.init_app(app)

    from . import checkout, status, storefront, wallet

    app.register_blueprint(storefront.bp)
    app.register_blueprint(checkout.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(wallet.bp)
    app.cli.add_command(status.check_command)

    region = REGIONS[app.config["AMAZON_PAY_REGION"]]
    script = region.checkout_js
    if app.config["AMAZON_PAY_MODE"] == "simulator":
        script = f"{app.config['AMAZON_PAY_ENDPOINT']}/static-{region.script_host}/checkout.js"

    @app.context_processor
    def page_globals():
        return {
            "amazon_pay_script": script,
            "cart_count": cart.count(session),
            "region": region,
            "mode": app.config["AMAZON_PAY_MODE"],
            "signed_in": isinstance(session.get("buyer_id"), str),
        }

    @app.template_filter("money")
    def money(amount, currency=None):
        return display(Decimal(str(amount)), currency or region.ledger_currency, region.locale)

    @app.errorhandler(UnicodeDecodeError)
    def undecodable_request(error: UnicodeDecodeError):
        # Raw non-UTF-8 bytes in a query string (gunicorn and uWSGI pass them through).
        app.logger.warning("request with undecodable bytes refused: %s", request.path[:80])
        return render_template(
            "problem.html",
            title="This address is not valid",
            message="The link contains characters we cannot read. Please start again from the shop.",
            action=("/", "Go to the shop"),
        ), 400

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        app.logger.warning("CSRF check failed: %s", error.description)
        return render_template(
            "problem.html",
            title="This page has expired",
            message="For your safety, forms expire after an hour. Nothing was ordered or "
            "charged. Please go back to your cart and try again.",
            action=("/cart", "Back to your cart"),
        ), 400

    return app
