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

import functools
import hashlib
import logging
import os
import re
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import Serializer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
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


class KeptKeySigner(TimestampSigner):
    """itsdangerous's timestamp signer, keeping the keys it derives (from the secret and the
    salt only) instead of deriving them again for every signature."""

    @functools.cache  # noqa: B019 (signers live as long as the app)
    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        return super().derive_key(secret_key)


class CompactSerializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed serializer through its documented extension points, for a
    value signed or checked on every request: no zlib attempt on every payload (a session
    cookie or a CSRF token is a few dozen bytes that deflate never shortens, and zlib's set-up
    alone costs ~13 µs a call), and one signer per salt, made once. What it signs, the stock
    serializer loads (a compressed payload is marked as such; these are not), and back."""

    default_signer = KeptKeySigner

    def dump_payload(self, obj) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))

    @functools.cache  # noqa: B019 (serializers live as long as the app)
    def make_signer(self, salt: str | bytes | None = None) -> KeptKeySigner:
        return super().make_signer(salt)


#: HMAC-SHA1 through OpenSSL. Flask and itsdangerous pass a Python wrapper of hashlib.sha1
#: (so that FIPS builds can import them), which sends the standard library's hmac down its
#: pure-Python path: the same signature, ~4 times slower, twice a request.
SHA1 = hashlib.sha1


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with ``Secure`` on whenever the request came over HTTPS
    (``SESSION_COOKIE_SECURE`` can only say always or never; the demo runs on plain http).
    Cookies are the same as Flask's own, made faster: one serializer per secret key (Flask
    builds and self-tests a new one twice per request), OpenSSL's HMAC, no zlib."""

    digest_method = staticmethod(SHA1)

    def __init__(self) -> None:
        self._serializers: dict = {}

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        if app.secret_key not in self._serializers:
            keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or []), app.secret_key]  # current key last
            self._serializers[app.secret_key] = CompactSerializer(
                keys,
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
            )
        return self._serializers[app.secret_key]


@functools.lru_cache(maxsize=8)
def _csrf_serializer(secret_key: str | bytes) -> CompactSerializer:
    return CompactSerializer(secret_key, salt="wtf-csrf-token", signer_kwargs={"digest_method": SHA1})


def csrf_token() -> str:
    """``{{ csrf_token() }}`` in a form: Flask-WTF's ``generate_csrf`` at half its cost (~12 µs
    instead of ~22 on every page with a form). The same token: the same random value kept in
    the session under ``csrf_token``, signed with the same key, salt and HMAC-SHA1, so
    Flask-WTF's CSRFProtect checks it as its own. One token per request, as Flask-WTF's."""
    if "csrf_token" not in g:
        if not isinstance(session.get("csrf_token"), str):
            session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()
        secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        g.csrf_token = _csrf_serializer(secret).dumps(session["csrf_token"])
    return g.csrf_token


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
    app.jinja_env.globals["csrf_token"] = csrf_token  # after CSRFProtect.init_app, which set its own
    if app.config.get("BEHIND_PROXY"):
        # Behind a TLS-terminating proxy (nginx, a load balancer): trust its X-Forwarded-Proto,
        # one hop, so request.is_secure is right (the session cookie is then Secure). Never
        # X-Forwarded-Host: URLs for Amazon come from SHOP_URL only.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)

    app.wsgi_app = SecurityHeaders(
        app.wsgi_app,
        [
            ("Content-Security-Policy", policy),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ],
    )


class SecurityHeaders:
    """WSGI middleware (as Flask's docs wrap ``app.wsgi_app``): these headers on every answer
    the app gives, error pages included, appended as the answer starts. No view sets them
    itself. A plain list append: an ``after_request`` hook going through werkzeug's header
    checks cost ~10 µs on every page."""

    def __init__(self, wsgi_app, headers: list[tuple[str, str]]) -> None:
        self.wsgi_app, self.headers = wsgi_app, headers

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, headers + self.headers, exc_info)

        return self.wsgi_app(environ, start)
