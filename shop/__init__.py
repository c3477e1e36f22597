"""The storefront: ``create_app()`` builds the Flask app (config, Amazon Pay client, pages).

Follows the Flask tutorial's app factory: defaults, then the environment (``.env``),
then test overrides. The code is in three layers:

- ``shop.amazon_pay``: the Amazon Pay service module (signing, client); no Flask, no orders.
- ``shop.lifecycle``: the order lifecycle (orders, buyers); no pages.
- ``shop.web``: the web features, one blueprint each (``SHOP_FEATURES``).

``catalog``, ``cart``, ``shipping``, ``money``, ``regions`` and ``config`` are the shop's own
data and rules, shared by the layers.
"""

from __future__ import annotations

import importlib
import logging
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, g, request, session
from flask_wtf.csrf import CSRFProtect

from . import addresses, cart
from . import config as settings
from .amazon_pay import AmazonPayClient, within
from .lifecycle import accounts, backoffice, db, jobs, notifications, orders  # noqa: F401 (the modules declare their tables)
from .money import display
from .regions import REGIONS
from .web import button, pages, problems, security

csrf = CSRFProtect()

#: The web features, in ``shop/web/``. The saved wallet, the back office and the IPN endpoint
#: are optional (without IPN, the reconcile pass settles orders alone).
FEATURES = ("storefront", "checkout", "wallet", "admin", "ipn")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # SHOP_INSTANCE_PATH (absolute): where the demo key, the session secret and the SQLite file
    # live, if not <repo>/instance/; app servers that share one act as one shop.
    app = Flask(
        __name__,
        instance_path=os.environ.get("SHOP_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    settings.private_folder(Path(app.instance_path))  # keys, secret, database: the owner's only
    _configure(app, test_config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    client = app.config.get("AMAZON_PAY_CLIENT") or _amazon_pay_client(app.config)
    app.extensions["amazon_pay"] = client
    app.extensions["amazon_pay_button_signatures"] = button.signature_cache(client.generate_button_signature)
    app.extensions["amazon_pay_cart_buttons"] = button.cart_button_cache()

    csrf.init_app(app)
    _check_forms(app)
    db.init_app(app)
    notifications.init_app(app)
    security.init_app(app)
    problems.init_app(app)
    app.before_request(pages.load_logged_in_user)
    _bounded_time(app)
    app.cli.add_command(jobs.cli)
    _register_features(app)
    _template_globals(app)
    return app


def _configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(
        DATABASE=os.path.join(app.instance_path, "orders.sqlite"),
        SESSION_COOKIE_SAMESITE="Lax",  # Strict would drop the cart when Amazon sends the buyer back
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=64 * 1024,
        AMAZON_PAY_PAYMENT_INTENT="Authorize",
        AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION=True,
        SHOP_FEATURES=FEATURES,
        SHOP_URL=settings.DEMO_SHOP_URL,
        AMAZON_PAY_REQUEST_DEADLINE=25.0,
        MAIL_SERVER=None,  # none: the buyer's e-mails stay in the outbox (the demo)
        MAIL_PORT=587,
        MAIL_USE_TLS=True,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
        MAIL_FROM=None,
        MAIL_TIMEOUT=10.0,
    )
    if test_config and "AMAZON_PAY_CLIENT" in test_config:
        app.config.update(test_config)
    else:
        app.config.update(settings.load(app.instance_path))
        app.config.update(test_config or {})


def _amazon_pay_client(config) -> AmazonPayClient:
    return AmazonPayClient(
        public_key_id=config["AMAZON_PAY_PUBLIC_KEY_ID"],
        private_key=config["AMAZON_PAY_PRIVATE_KEY"],
        region=config["AMAZON_PAY_REGION"],
        sandbox=config["AMAZON_PAY_SANDBOX"],
        algorithm=config["AMAZON_PAY_ALGORITHM"],
        endpoint=config.get("AMAZON_PAY_ENDPOINT"),
    )


def _register_features(app: Flask) -> None:
    for name in app.config["SHOP_FEATURES"]:
        feature = importlib.import_module(f".web.{name}", __name__)
        app.register_blueprint(feature.bp)
        if getattr(feature, "CSRF_EXEMPT", False):  # a machine's endpoint: its signature is the proof
            csrf.exempt(feature.bp)
        for command in getattr(feature, "cli", []):
            app.cli.add_command(command)


def _check_forms(app: Flask) -> None:
    """Flask-WTF's CSRF check on every form POST, as its default hook does, but asked only for
    the methods that change something: the default hook first looks up the view's exemptions on
    every GET as well."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # its hook stands aside; this one calls the same check

    @app.before_request
    def check_csrf_token() -> None:
        if app.config["WTF_CSRF_ENABLED"] and request.method in app.config["WTF_CSRF_METHODS"]:
            csrf.protect(apply_exemptions=True)


def _bounded_time(app: Flask) -> None:
    """Every request's Amazon Pay calls, retries included, end within
    AMAZON_PAY_REQUEST_DEADLINE seconds: below gunicorn's worker timeout (gunicorn.conf.py),
    so a buyer never meets a killed worker because Amazon was slow."""

    @app.before_request
    def start_the_clock() -> None:
        g.amazon_pay_deadline = within(app.config["AMAZON_PAY_REQUEST_DEADLINE"])
        g.amazon_pay_deadline.__enter__()

    @app.teardown_request
    def stop_the_clock(_error: BaseException | None = None) -> None:
        deadline = g.pop("amazon_pay_deadline", None)
        if deadline is not None:
            deadline.__exit__(None, None, None)


def _template_globals(app: Flask) -> None:
    region = REGIONS[app.config["AMAZON_PAY_REGION"]]
    script = region.checkout_js
    if app.config["AMAZON_PAY_MODE"] == "simulator":
        script = f"{app.config['AMAZON_PAY_ENDPOINT']}/static-{region.script_host}/checkout.js"

    links_by_root: dict[str, pages.Links] = {}

    def links() -> pages.Links:
        """The URLs every page uses, built once per application root: ``url_for`` costs more
        than most of a page's lines, and these never change while the app runs."""
        root = request.script_root
        if root not in links_by_root:
            links_by_root[root] = pages.Links.build(script, with_wallet="wallet" in app.config["SHOP_FEATURES"])
        return links_by_root[root]

    @app.context_processor
    def page_globals():
        return {
            "links": links(),
            # The shop's faster CSRF token; Flask-WTF's own context processor would otherwise
            # hand templates its generate_csrf (a context variable outranks a Jinja global).
            "csrf_token": security.csrf_token,
            "cart_count": cart.count(session),
            "region": region,
            "mode": app.config["AMAZON_PAY_MODE"],
            "features": app.config["SHOP_FEATURES"],
            "signed_in": pages.signed_in(),
        }

    @app.template_filter("money")
    def money(amount, currency=None):
        return display(Decimal(str(amount)), currency or region.ledger_currency, region.locale)

    app.jinja_env.globals["region"] = region  # also for imported macros (_totals.html), which get no context

    @app.template_filter("address_lines")
    def address_lines(address):
        return addresses.lines(address, region.locale)

    @app.template_filter("when")
    def when(at):
        return region.when(at)
