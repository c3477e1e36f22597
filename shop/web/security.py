"""Security headers on every page: a Content-Security-Policy that allows exactly what the
region's checkout.js needs, and no inline script anywhere; and a session cookie that is
HttpOnly, SameSite=Lax and, whenever the shop is reached over HTTPS, Secure.

checkout.js loads from ``static-<na|eu|fe>.payments-amazon.com``, posts the button form to
Amazon, opens Amazon's pages and calls Amazon from the browser; Place Order answers with a
303 to Amazon's ``amazonPayRedirectUrl``, which ``form-action`` must allow too. In simulator
mode the simulator's origin stands for all of Amazon's hosts. ``style-src 'unsafe-inline'``
is there because checkout.js styles the button it draws.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from ..regions import REGIONS


def amazon_sources(app: Flask) -> str:
    if app.config["AMAZON_PAY_MODE"] == "simulator":
        parts = urlsplit(app.config["AMAZON_PAY_ENDPOINT"])
        return f"{parts.scheme}://{parts.netloc}"
    return " ".join(REGIONS[app.config["AMAZON_PAY_REGION"]].amazon_hosts)


def content_security_policy(app: Flask) -> str:
    amazon = amazon_sources(app)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {amazon}",
            f"connect-src 'self' {amazon}",
            f"frame-src {amazon}",
            f"img-src 'self' data: {amazon} https://*.ssl-images-amazon.com https://*.media-amazon.com"
            if app.config["AMAZON_PAY_MODE"] != "simulator"
            else f"img-src 'self' data: {amazon}",
            "style-src 'self' 'unsafe-inline'",
            f"form-action 'self' {amazon}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with ``Secure`` on whenever the request came over HTTPS
    (``SESSION_COOKIE_SECURE`` can only say always or never; the demo runs on plain http)."""

    def __init__(self) -> None:
        self._serializers: dict = {}

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    def get_signing_serializer(self, app: Flask):
        """One serializer per secret key: Flask builds (and self-tests) a new one twice per
        request, a sixth of a cart page's time; it holds no per-request state."""
        if app.secret_key not in self._serializers:
            self._serializers[app.secret_key] = super().get_signing_serializer(app)
        return self._serializers[app.secret_key]


class RedactBuyerTokens(logging.Filter):
    """Access logs never keep a buyer token (a sign-in credential Amazon puts in the query
    string of signInReturnUrl): the development server logs whole request lines."""

    TOKEN = re.compile(r"(buyerToken=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self.TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = self.TOKEN.sub(r"\1[redacted]", record.msg)
        return True


def init_app(app: Flask) -> None:
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(existing, RedactBuyerTokens) for existing in access_log.filters):
        access_log.addFilter(RedactBuyerTokens())
    policy = content_security_policy(app)
    app.session_interface = SessionCookies()
    if app.config.get("BEHIND_PROXY"):
        # Behind a TLS-terminating proxy (nginx, a load balancer): trust its X-Forwarded-Proto,
        # one hop, so request.is_secure is right (the session cookie is then Secure). Never
        # X-Forwarded-Host: URLs for Amazon come from SHOP_URL only.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response
