"""Nobody else's checkout, no replayable sign-in: return URLs come from SHOP_URL, never from a
forged Host or X-Forwarded-Host; a buyer token works once, in the browser that asked for it,
and never reaches a log; sign-out ends the session for every copy of its cookie; a wallet
Amazon no longer knows can be removed; the shop's files are its owner's only."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import shop
from shop.lifecycle import accounts, reconcile
from tests.support import shown_after_post, text


def forged(buyer) -> dict[str, str]:
    """The victim's request with a Host the attacker chose: the victim's own cookie, a foreign
    Host and X-Forwarded-Host (sent by a client without a cookie jar, which would pick cookies
    by host)."""
    cookie = buyer.web.get_cookie("session", domain="localhost")
    return {
        "Host": "evil.example",
        "Cookie": f"session={cookie.value}",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
    }


def payload_urls(page: str, name: str, config_key: str) -> list[str]:
    block = re.search(rf'<script type="application/json" id="amazon-pay-{name}-options">(.*?)</script>', page, re.S)
    payload = json.loads(json.loads(block[1])[config_key]["payloadJSON"])
    found = []
    for value in (payload.get("webCheckoutDetails") or {}).values():
        found.append(value)
    found += [payload[key] for key in ("signInReturnUrl", "signInCancelUrl") if key in payload]
    return [url for url in found if isinstance(url, str) and url.startswith("http")]


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_a_forged_host_never_reaches_a_signed_payload_or_a_redirect(
    client, tmp_path, shop_config, make_shop_buyer, make_wallet_buyer, sim, behind_proxy
):
    config = shop_config(client, tmp_path, BEHIND_PROXY=behind_proxy, SHOP_URL="https://shop.test")
    app = shop.create_app(config)
    buyer = make_shop_buyer(app)
    buyer.add()
    attacker = app.test_client(use_cookies=False)
    cart = text(attacker.get("/cart", headers=forged(buyer)))
    urls = payload_urls(cart, "button", "createCheckoutSessionConfig")
    assert urls and all(url.startswith("https://shop.test/checkout/") for url in urls), urls
    account = text(attacker.get("/account", headers=forged(buyer)))
    urls = payload_urls(account, "signin", "signInConfig")
    assert urls and all(url.startswith("https://shop.test/account") for url in urls), urls
    # Place Order with a forged Host: the result URL Amazon is given is the shop's too.
    review = buyer.click_amazon_pay()
    page = text(buyer.web.get(review))
    placed = attacker.post(
        "/checkout/place-order",
        headers={**forged(buyer), "X-Forwarded-Proto": "http"},
        data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page)[1],
            "amazonCheckoutSessionId": review.split("=")[1],
            "reviewed": re.search(r'name="reviewed" value="([^"]*)"', page)[1],
        },
    )
    assert placed.status_code == 303 and "evil.example" not in placed.headers["Location"]
    with app.app_context():
        session = reconcile.client().get_checkout_session(review.split("=")[1]).body
    assert session["webCheckoutDetails"]["checkoutResultReturnUrl"] == "https://shop.test/checkout/result"
    for path in ("/", "/cart", "/account", "/checkout/cancel"):
        answer = attacker.get(path, headers=forged(buyer))
        assert "evil.example" not in answer.headers.get("Location", "") and "evil.example" not in text(answer)


def test_a_buyer_token_works_once_and_only_in_the_browser_that_asked(make_wallet_buyer):
    buyer = make_wallet_buyer()
    config = json.loads(re.search(r'id="amazon-pay-signin-options">(.*?)</script>', buyer.account(), re.S)[1])[
        "signInConfig"
    ]
    answer = buyer.send_signed("sign-in", config)
    return_path = "{0.path}?{0.query}".format(urlsplit(answer.json()["redirectUrl"]))
    assert "state=" in return_path and "buyerToken=" in return_path
    stranger = make_wallet_buyer()  # the link, sent to another browser (login CSRF), is refused
    refused = stranger.web.get(return_path)
    assert refused.status_code == 400 and "started in another browser" in text(refused)
    signed_in = buyer.web.get(return_path)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/account"  # token out of the URL
    assert "Signed in as" in buyer.account()
    replayed = buyer.web.get(return_path)  # the same URL again (history, a log): refused
    assert replayed.status_code == 400 and "used already" in text(replayed)


def test_the_access_log_never_keeps_a_buyer_token(shop_app, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    logging.getLogger("werkzeug").info(
        "%s - - [%s] %s",
        "127.0.0.1",
        "now",
        '"GET /account/signed-in?state=abc&buyerToken=SECRET-TOKEN.1 HTTP/1.1" 302 -',
    )
    assert "SECRET-TOKEN" not in caplog.text and "buyerToken=[redacted]" in caplog.text


def test_sign_out_ends_the_session_for_every_copy_of_its_cookie(make_wallet_buyer, shop_app):
    buyer = make_wallet_buyer()
    buyer.sign_in()
    buyer.save_wallet_at_checkout()
    with shop_app.app_context():
        reference = _last_reference()
    captured = buyer.web.get_cookie("session").value  # a shared computer, a stolen cookie
    assert buyer.web.get(f"/orders/{reference}").status_code == 200
    buyer.web.post("/account/sign-out", data={"csrf_token": buyer.csrf()})
    thief = make_wallet_buyer()
    thief.web.set_cookie("session", captured)
    assert "Signed in as" not in thief.account()
    assert thief.web.get(f"/orders/{reference}").status_code == 404
    thief.add("trail-mug")
    paid = thief.web.post("/account/wallet/pay", data={"csrf_token": thief.csrf(), "payment_request": "0" * 32})
    assert shown_after_post(thief.web, paid).status_code == 403
    assert buyer.web.get(f"/orders/{reference}").status_code == 404  # this browser is a stranger now too


def _last_reference() -> str:
    import sqlalchemy as sa

    from shop.lifecycle import db, orders

    with db.read() as connection:
        return connection.execute(
            sa.select(orders.orders_table.c.reference).order_by(orders.orders_table.c.id.desc())
        ).scalar()


def test_a_saved_wallet_amazon_no_longer_knows_can_be_removed(make_wallet_buyer, shop_app):
    buyer = make_wallet_buyer()
    buyer.sign_in()
    with shop_app.app_context():
        [row] = _buyers()
        accounts.save_wallet(row, "S01-0000000-0000000", "PayAndShip")  # unknown to Amazon
    page = buyer.web.get("/account")
    assert page.status_code == 200 and "no longer available at Amazon Pay" in text(page)
    removed = buyer.web.post("/account/wallet/remove", data={"csrf_token": buyer.csrf()}, follow_redirects=True)
    assert removed.status_code == 200 and "No saved wallet" in text(removed)


def _buyers() -> list[str]:
    import sqlalchemy as sa

    from shop.lifecycle import db

    with db.read() as connection:
        return list(connection.execute(sa.select(accounts.buyers_table.c.buyer_id)).scalars())


MAKE_A_DEMO_SHOP = """
import shop
app = shop.create_app()
client = app.test_client()
assert client.get("/").status_code == 200
"""


def test_every_file_the_shop_writes_is_its_owners_only(tmp_path):
    instance = tmp_path / "instance"
    env = {**os.environ, "SHOP_INSTANCE_PATH": str(instance), "AMAZON_PAY_MODE": "simulator"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", MAKE_A_DEMO_SHOP], env=env, check=True, cwd=Path(shop.__file__).parent.parent)
    written = [path for path in instance.rglob("*")]
    assert {path.name for path in written} >= {"demo-private-key.pem", "secret-key", "orders.sqlite"}
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.relative_to(instance)} is {oct(mode)}"
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
