"""Secrets and browser-facing security: the private key never leaks (logs, pages, error
output), start-up refuses placeholder or malformed settings, the session cookie and the
security headers are right on every page, and an expired form says so plainly.

Complements tests/shop/test_shop_config.py (which already covers most start-up messages): only
what it does not cover is here.
"""

from __future__ import annotations

import logging
import re
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from itsdangerous.timed import TimestampSigner

import shop
from shop.amazon_pay import AmazonPayClient
from shop.config import ConfigError, load
from tests.support import PUBLIC_KEY_ID, text

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

SANDBOX_ENV = {
    "AMAZON_PAY_MODE": "sandbox",
    "AMAZON_PAY_REGION": "us",
    "AMAZON_PAY_PUBLIC_KEY_ID": "SANDBOX-AFVX7ULWSGBZ5535PCUQOY7B",
    "AMAZON_PAY_MERCHANT_ID": "A2BCDEFGHIJ3KL",
    "AMAZON_PAY_STORE_ID": "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
    "SHOP_URL": "https://shop.example.com",
}


def pem_variants(key: rsa.RSAPrivateKey) -> list[bytes]:
    return [
        key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        for fmt in (serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8)
    ]


def key_material(key: rsa.RSAPrivateKey) -> list[str]:
    """Every base64 line of the key's PEM encodings (PKCS#1 and PKCS#8), and the body joined."""
    lines = []
    for pem in pem_variants(key):
        body = [line for line in pem.decode().splitlines() if not line.startswith("-----")]
        lines += [line for line in body if len(line) >= 16] + ["".join(body)[40:100]]
    return lines


def assert_no_key(haystack: str, key: rsa.RSAPrivateKey, where: str, header: bool = True) -> None:
    for line in key_material(key):
        assert line not in haystack, f"private key material in {where}: {line[:12]}…"
    if header:
        assert "PRIVATE KEY" not in haystack, f"'PRIVATE KEY' in {where}"


class Recorder:
    """Wraps a test client's ``open``: every answer the browser sees is kept."""

    def __init__(self, *buyers):
        self.responses = []
        for buyer in buyers:
            original = buyer.web.open

            def recording(*args, _original=original, **kwargs):
                response = _original(*args, **kwargs)
                response.get_data()  # buffer it, then close the body (static files are open files)
                response.close()
                self.responses.append(response)
                return response

            buyer.web.open = recording


# -- the private key never leaks ------------------------------------------------------------------------


def test_private_key_never_in_logs_or_pages_through_checkout_and_wallet(
    shop_app, sim, private_key, caplog, make_shop_buyer, make_wallet_buyer
):
    caplog.set_level(logging.DEBUG)
    shopper, wallet = make_shop_buyer(), make_wallet_buyer()
    seen = Recorder(shopper, wallet)

    shopper.add("canvas-tote", 2)
    assert "Thank you for your order" in text(shopper.checkout())
    reference = re.search(r"(ORD-[0-9A-F]{8})", text(seen.responses[-1]))[1]
    shopper.web.get(f"/orders/{reference}")
    shopper.add("trail-mug")
    assert "Your payment was not successful" in text(shopper.checkout(instrument="3434"))  # declined
    shopper.web.get("/checkout/review?amazonCheckoutSessionId=not-a-uuid")
    shopper.web.post("/cart/items", data={"product_id": "canvas-tote", "quantity": "1"})  # no CSRF token
    for path in ("/", "/cart", "/account", "/admin/login", "/no-such-page", "/checkout/cancel"):
        shopper.web.get(path, follow_redirects=True)

    wallet.sign_in()
    wallet.save_wallet_at_checkout()
    wallet.add("trail-mug")
    assert "Thank you for your order" in text(wallet.pay_with_wallet())
    assert "Your Amazon Pay wallet is updated." in text(wallet.update_wallet(instrument="0701"))
    wallet.update_wallet(cancel=True)
    wallet.web.post("/account/wallet/remove", data={"csrf_token": wallet.csrf()}, follow_redirects=True)
    wallet.web.post("/account/sign-out", data={"csrf_token": wallet.csrf()}, follow_redirects=True)

    assert len(seen.responses) > 40
    for response in seen.responses:
        assert_no_key(text(response), private_key, f"page {response.request.path}")
        assert_no_key(str(response.headers), private_key, f"headers of {response.request.path}")
    log = (
        "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records)
        + caplog.text
    )
    assert "amazon_pay operation=CompleteCheckoutSession" in log  # the client did log at DEBUG/INFO
    assert_no_key(log, private_key, "logs")


def test_status_page_with_a_wrong_key_does_not_show_either_key(sim, private_key, tmp_path, shop_config, admin_of):
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for key in (wrong, pem_variants(wrong)[1].decode()):  # parsed, and as PEM text
        client = AmazonPayClient(PUBLIC_KEY_ID, key, "us", endpoint=sim.url, max_retries=0)
        app = shop.create_app(shop_config(client, tmp_path))
        page = admin_of(app).get("/admin/status")
        body = text(page)
        assert page.status_code == 200 and "rejected the signature" in body
        assert_no_key(body, wrong, "status page")
        assert_no_key(body, private_key, "status page")
        cli = app.test_cli_runner().invoke(args=["amazon-pay-check"])
        assert cli.exit_code == 1
        assert_no_key(cli.output, wrong, "amazon-pay-check output")


def _bad_key_values(key: rsa.RSAPrivateKey) -> dict[str, str]:
    pkcs1, pkcs8 = (pem.decode() for pem in pem_variants(key))
    lines = pkcs1.strip().splitlines()
    return {
        "truncated": pkcs1[:-120],
        "one character changed": pkcs1.replace(
            lines[5], lines[5][:10] + ("A" if lines[5][10] != "A" else "B") + lines[5][11:]
        ),
        "encrypted": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        ).decode(),
        "public half": key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "escaped newlines": pkcs8.replace("\n", "\\n"),
        "quoted": f'"{pkcs8}"',
        "header typo": pkcs1.replace("RSA " + "PRIVATE KEY-----", "RSA " + "PRIVATE KEY----", 1),
        "body without BEGIN/END lines": "".join(lines[1:-1]),
        "body lines without BEGIN/END lines": "\n".join(lines[1:-1]),
    }


@pytest.mark.parametrize(
    "variant",
    [
        "truncated",
        "one character changed",
        "encrypted",
        "public half",
        "escaped newlines",
        "quoted",
        "header typo",
        "body without BEGIN/END lines",
        "body lines without BEGIN/END lines",
    ],
)
def test_bad_private_key_settings_name_the_setting_but_never_echo_the_key(tmp_path, private_key, variant):
    value = _bad_key_values(private_key)[variant]
    try:
        config = load(str(tmp_path), {**SANDBOX_ENV, "AMAZON_PAY_PRIVATE_KEY": value})
    except ConfigError as error:
        message = str(error)
        assert message.startswith("AMAZON_PAY_PRIVATE_KEY"), message[:200]
        assert_no_key(message, private_key, f"ConfigError for {variant}", header=False)
        assert error.__cause__ is None and error.__suppress_context__  # no chained traceback with the value
    else:  # a lenient parse is fine, as long as it is the right key
        loaded = config["AMAZON_PAY_PRIVATE_KEY"].private_numbers()
        assert loaded == private_key.private_numbers(), variant


# -- start-up refuses placeholder or malformed configuration (beyond test_shop_config.py) ----------------


@pytest.fixture
def sandbox_env(tmp_path, private_pem) -> dict[str, str]:
    key_file = tmp_path / "private.pem"
    key_file.write_bytes(private_pem)
    return {**SANDBOX_ENV, "AMAZON_PAY_PRIVATE_KEY": str(key_file)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"AMAZON_PAY_PUBLIC_KEY_ID": "SANDBOX-XXXXXXXXXXXXXXXXXXXXXXXX"},
            "AMAZON_PAY_PUBLIC_KEY_ID still holds the placeholder",
        ),
        (
            {"AMAZON_PAY_STORE_ID": "amzn1.application-oa2-client.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"},
            "AMAZON_PAY_STORE_ID still holds the placeholder",
        ),
        ({"AMAZON_PAY_STORE_ID": "<your store id>"}, "AMAZON_PAY_STORE_ID still holds the placeholder"),
        (
            {"AMAZON_PAY_PRIVATE_KEY": "/path/to/your/AmazonPay_SANDBOX-XXXXXXXXXXXXXXXXXXXXXXXX.pem"},
            "AMAZON_PAY_PRIVATE_KEY still holds the placeholder",
        ),
        ({"AMAZON_PAY_PRIVATE_KEY": "   "}, "AMAZON_PAY_PRIVATE_KEY is not set"),
        ({"AMAZON_PAY_MERCHANT_ID": "a2bcdefghij3kl"}, "AMAZON_PAY_MERCHANT_ID is malformed"),
        ({"AMAZON_PAY_MERCHANT_ID": "   "}, "AMAZON_PAY_MERCHANT_ID is not set"),
        ({"AMAZON_PAY_PAYMENT_INTENT": "Capture"}, "AMAZON_PAY_PAYMENT_INTENT='Capture'"),
        ({"AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION": "yes"}, "AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION='yes'"),
        ({"AMAZON_PAY_PUBLIC_KEY_ID": "SANDBOX-AFVX7ULWSGBZ5535PCUQOY7B\nX"}, "AMAZON_PAY_PUBLIC_KEY_ID is malformed"),
    ],
)
def test_more_bad_settings_stop_start_up_naming_the_setting(tmp_path, sandbox_env, change, message):
    with pytest.raises(ConfigError) as caught:
        load(str(tmp_path), {**sandbox_env, **change})
    assert message in str(caught.value)


def test_a_non_rsa_key_is_refused_naming_the_setting(tmp_path):
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match=r"^AMAZON_PAY_PRIVATE_KEY: Amazon Pay keys are RSA keys") as caught:
        load(str(tmp_path), {**SANDBOX_ENV, "AMAZON_PAY_PRIVATE_KEY": other.decode()})
    body = [line for line in other.decode().splitlines() if not line.startswith("-----")]
    assert not any(line in str(caught.value) for line in body)


@pytest.mark.parametrize("secret", ["change-me", "changeme", "x"])
def test_live_mode_refuses_a_placeholder_or_short_secret_key(tmp_path, sandbox_env, secret):
    live = {**sandbox_env, "AMAZON_PAY_MODE": "live", "AMAZON_PAY_PUBLIC_KEY_ID": "LIVE-AFVX7ULWSGBZ5535PCUQOY7B"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(str(tmp_path), {**live, "SECRET_KEY": secret})


# -- the session cookie -------------------------------------------------------------------------------------


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite_lax(shop_app):
    """Secure over HTTPS (and BEHIND_PROXY) is covered by test_shop_config.py; every cookie of a
    whole checkout is checked in test_security_headers_on_every_page_the_buyer_sees."""
    cookie = session_cookie(shop_app.test_client().get("/"))  # the catalog's forms put a CSRF secret in it
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert "httponly" in attributes and "samesite=lax" in attributes, cookie
    assert "path=/" in attributes


def test_carts_and_form_tokens_survive_a_deploy_from_stock_flask_and_back(shop_app):
    """The shop signs sessions and form tokens faster than stock Flask and Flask-WTF do
    (shop/web/security.py), in the same format: a cart in a cookie Flask signed still opens,
    a cookie the shop signs still opens in stock Flask, and Flask-WTF's own check accepts the
    shop's form token. So a deploy in either direction logs nobody out and empties no cart."""
    from flask.sessions import SecureCookieSessionInterface
    from flask_wtf.csrf import generate_csrf, validate_csrf

    stock = SecureCookieSessionInterface().get_signing_serializer(shop_app)
    # A browser whose cart stock Flask signed: the shop shows its cart.
    web = shop_app.test_client()
    web.set_cookie("session", stock.dumps({"cart": {"trail-mug": 2}}))
    page = web.get("/cart").get_data(as_text=True)
    assert 'data-testid="line-trail-mug"' in page and 'value="2"' in page
    # The shop's own cookie, after adding to that cart: stock Flask reads the same cart.
    token = CSRF_FIELD.search(page)[1]
    answer = web.post(
        "/cart/items", data={"csrf_token": token, "product_id": "canvas-tote", "quantity": "1", "add": "1"}
    )
    assert answer.status_code == 303
    cookie = session_cookie(answer).split(";")[0].split("=", 1)[1]
    assert stock.loads(cookie)["cart"] == {"trail-mug": 2, "canvas-tote": 1}
    # Tokens: the one on the shop's page validates with Flask-WTF, and Flask-WTF's with the shop.
    ours = CSRF_FIELD.search(web.get("/").get_data(as_text=True))[1]
    with shop_app.test_request_context("/"):
        from flask import session as request_session

        request_session["csrf_token"] = stock.loads(cookie)["csrf_token"]  # the secret the page's token signs
        validate_csrf(ours)
    web = shop_app.test_client()
    with web.session_transaction() as session:
        session["csrf_token"] = "a" * 40
    with shop_app.test_request_context("/"):
        request_session["csrf_token"] = "a" * 40
        theirs = generate_csrf()
    assert (
        web.post(
            "/cart/items", data={"csrf_token": theirs, "product_id": "canvas-tote", "quantity": "1", "add": "1"}
        ).status_code
        == 303
    )


def test_a_forged_session_cookie_is_a_new_visitor(shop_app):
    """Signed with another key: the shop ignores it (an empty cart), as stock Flask does."""
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("not the shop's key", salt="cookie-session").dumps({"cart": {"trail-mug": 3}})
    web = shop_app.test_client()
    web.set_cookie("session", forged)
    page = web.get("/cart").get_data(as_text=True)
    assert "Your cart is empty" in page


# -- security headers on every page ------------------------------------------------------------------------


def assert_security_headers(response, where: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == ["'none'"], f"{where}: {csp!r}"
    script_src = directives.get("script-src") or directives.get("default-src") or []
    assert script_src and not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(script_src), where
    assert directives.get("object-src") == ["'none'"], where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where


def test_security_headers_on_every_page_the_buyer_sees(shop_app, sim, make_shop_buyer, make_wallet_buyer):
    shopper, wallet = make_shop_buyer(), make_wallet_buyer()
    seen = Recorder(shopper, wallet)
    shopper.add("canvas-tote")
    review = shopper.click_amazon_pay()
    shopper.checkout()
    shopper.web.get(review)  # an order already placed: a redirect
    for path in ("/", "/cart", "/account", "/admin/login", "/static/style.css", "/static/favicon.svg", "/nope"):
        shopper.web.get(path)
    shopper.web.put("/cart")  # 405
    shopper.web.post("/cart/items", data={"product_id": "x"}, follow_redirects=True)  # 400 expired page
    shopper.web.post(
        "/cart/items", data={"csrf_token": shopper.csrf(), "product_id": "x", "quantity": "1"}, follow_redirects=True
    )
    shopper.web.post("/cart/items", data={"pad": "x" * 70_000}, follow_redirects=True)  # 413
    shopper.web.get("/checkout/result?amazonCheckoutSessionId=bad")
    shopper.web.get("/orders/ORD-00000000")
    wallet.sign_in()
    wallet.save_wallet_at_checkout()
    wallet.add("trail-mug")
    wallet.pay_with_wallet()
    wallet.update_wallet(cancel=True)
    statuses = {r.status_code for r in seen.responses}
    assert {200, 303, 400, 404, 405, 413} <= statuses, statuses
    cookies = 0
    for response in seen.responses:
        where = f"{response.request.method} {response.request.path} {response.status_code}"
        assert_security_headers(response, where)
        for cookie in response.headers.getlist("Set-Cookie"):  # every session cookie, not just the first
            attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
            assert "httponly" in attributes and "samesite=lax" in attributes, f"{where}: {cookie}"
            cookies += 1
    assert cookies >= 5


# -- an expired form ------------------------------------------------------------------------------------------


def test_review_page_left_open_for_an_hour_says_it_expired_and_orders_nothing(
    shop_app, sim, monkeypatch, make_shop_buyer
):
    shopper = make_shop_buyer()
    shopper.add("canvas-tote")
    review = shopper.click_amazon_pay()
    page = text(shopper.web.get(review))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    reviewed = re.search(r'name="reviewed" value="([^"]*)"', page)[1]
    counts = sim.counts()

    an_hour_later = int(time.time()) + 3600 + 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: an_hour_later)
    placed = shopper.web.post(
        "/checkout/place-order",
        data={"csrf_token": token, "amazonCheckoutSessionId": review.split("=")[1], "reviewed": reviewed},
    )
    assert placed.status_code == 303
    assert_security_headers(placed, "a form's redirect to its problem")
    placed = shopper.web.get(placed.headers["Location"])
    body = text(placed)
    assert placed.status_code == 400 and "This page has expired" in body
    assert "Nothing was ordered or charged" in body and 'href="/cart"' in body and "<h1" in body
    assert_security_headers(placed, "expired page")
    assert sim.counts() == counts
    with shop_app.app_context():
        from shop.lifecycle import db

        with db.read() as connection:
            assert connection.exec_driver_sql("SELECT COUNT(*) FROM orders").scalar() == 0
    # Time goes on (not back: the session cookie is now signed an hour later).
    assert "Cart (1)" in text(shopper.web.get("/cart"))  # the cart is still there
    assert shopper.place_order(review).status_code == 303  # a fresh page works
