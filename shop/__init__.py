"""The storefront: ``create_app()`` builds the Flask app (config, Amazon Pay client, pages).

Follows the Flask tutorial's app factory: defaults, then the environment (``.env``),
then test overrides.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from . import config as settings
from .amazon_pay import AmazonPayClient


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates", static_folder="../static")
    os.makedirs(app.instance_path, exist_ok=True)
    if test_config and "AMAZON_PAY_CLIENT" in test_config:
        app.config.update(test_config)
    else:
        app.config.update(settings.load(app.instance_path))
        app.config.update(test_config or {})
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")  # Strict would drop the cart on Amazon's redirect back
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app.extensions["amazon_pay"] = app.config.get("AMAZON_PAY_CLIENT") or AmazonPayClient(
        public_key_id=app.config["AMAZON_PAY_PUBLIC_KEY_ID"],
        private_key=app.config["AMAZON_PAY_PRIVATE_KEY"],
        region=app.config["AMAZON_PAY_REGION"],
        sandbox=app.config["AMAZON_PAY_SANDBOX"],
        algorithm=app.config["AMAZON_PAY_ALGORITHM"],
        endpoint=app.config.get("AMAZON_PAY_ENDPOINT"),
    )

    from . import status

    app.register_blueprint(status.bp)
    app.cli.add_command(status.check_command)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response

    return app
