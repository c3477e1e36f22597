"""The shop's fixtures: its configuration, the app, and buyers who use it headless.

The shop talks to the test simulator over real HTTP; a buyer is one browser (a cookie jar on
the shop) and plays Amazon's pages through the simulator's control endpoints (button click,
address and payment choice, amazonPayRedirectUrl, Sign in with Amazon).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy.pool import NullPool

import shop
from shop.amazon_pay import AmazonPayClient
from tests.support import STORE_ID, text

MERCHANT_ID = "A1TESTMERCHANT00"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def config_for(client: AmazonPayClient, tmp_path: Path, region: str = "us", **extra) -> dict:
    """Config for a shop app that talks to the test simulator through ``client``."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "AMAZON_PAY_MODE": "simulator",
        "AMAZON_PAY_CLIENT": client,
        "AMAZON_PAY_REGION": region,
        "AMAZON_PAY_ENDPOINT": client.base_url.removesuffix("/v2"),
        "AMAZON_PAY_MERCHANT_ID": MERCHANT_ID,
        "AMAZON_PAY_STORE_ID": STORE_ID,
        "AMAZON_PAY_PAYMENT_INTENT": "Authorize",
        "AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION": True,
        "DATABASE": str(tmp_path / "orders.sqlite"),
        "SHOP_URL": "http://localhost",  # where Flask's test client sends requests
        **extra,
    }


@pytest.fixture
def shop_config(database):
    """``shop_config(client, tmp_path, region="us", **extra)``: the config dict for a shop app,
    on this test's database (SQLite, or PostgreSQL in tests marked ``both_databases``)."""

    # PostgreSQL: no pool, so that no connection outlives the test's schema.
    on_postgresql = {"DATABASE_URL": database, "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}}

    def config(client: AmazonPayClient, tmp_path: Path, region: str = "us", **extra) -> dict:
        return config_for(client, tmp_path, region, **(on_postgresql if database else {}), **extra)

    return config


@pytest.fixture
def shop_app(client, tmp_path, shop_config):
    """The storefront, wired to the test simulator over real HTTP."""
    return shop.create_app(shop_config(client, tmp_path))


class ShopBuyer:
    """One browser: a cookie jar on the shop, and the simulator's control endpoints for Amazon."""

    def __init__(self, app, sim):
        self.web, self.sim = app.test_client(), sim

    def csrf(self, path="/") -> str:
        return CSRF.search(self.web.get(path).get_data(as_text=True))[1]

    def add(self, product_id="canvas-tote", quantity=1):
        return self.web.post(
            "/cart/items", data={"csrf_token": self.csrf(), "product_id": product_id, "quantity": quantity, "add": "1"}
        )

    def button_options(self) -> dict:
        page = self.web.get("/cart").get_data(as_text=True)
        block = re.search(r'<script type="application/json" id="amazon-pay-button-options">(.*?)</script>', page, re.S)
        return json.loads(block[1])

    def send_signed(self, control: str, config: dict, **extra) -> requests.Response:
        """What checkout.js posts to Amazon: a signed payload (plus options) to a control endpoint."""
        signed = {name: config[name] for name in ("payloadJSON", "signature", "publicKeyId", "algorithm")}
        return requests.post(f"{self.sim.url}/control/{control}", timeout=5, json={**signed, **extra})

    def click_amazon_pay(self, **choice) -> str:
        """Click the button, sign in at Amazon, choose; returns the shop's review path."""
        options = self.button_options()
        answer = self.send_signed(
            "button-checkout", options["createCheckoutSessionConfig"], productType=options["productType"], **choice
        )
        assert answer.status_code == 201, answer.text
        url = urlsplit(answer.json()["redirectUrl"])
        return f"{url.path}?{url.query}"

    def place_order(self, review_path: str):
        page = self.web.get(review_path).get_data(as_text=True)
        session_id = review_path.split("amazonCheckoutSessionId=")[1]
        reviewed = re.search(r'name="reviewed" value="([^"]*)"', page)
        return self.web.post(
            "/checkout/place-order",
            data={
                "csrf_token": self.csrf(),
                "amazonCheckoutSessionId": session_id,
                "reviewed": reviewed[1] if reviewed else "",
            },
        )

    def pay_at_amazon(self, redirect_url: str) -> str:
        """The buyer's browser follows amazonPayRedirectUrl; returns the shop's result path."""
        session_id = redirect_url.split("amazonCheckoutSessionId=")[1]
        answer = requests.post(f"{self.sim.url}/control/checkout-sessions/{session_id}/redirect", json={}, timeout=5)
        assert answer.status_code == 200, answer.text
        url = urlsplit(answer.json()["redirectUrl"])
        return f"{url.path}?{url.query}"

    def checkout(self, **choice):
        review = self.click_amazon_pay(**choice)
        placed = self.place_order(review)
        assert placed.status_code == 303, placed.get_data(as_text=True)
        return self.web.get(self.pay_at_amazon(placed.headers["Location"]))


def options_block(page: str, name: str) -> dict:
    found = re.search(rf'<script type="application/json" id="amazon-pay-{name}-options">(.*?)</script>', page, re.S)
    return json.loads(found[1])


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


class WalletBuyer(ShopBuyer):
    """A ShopBuyer who signs in with Amazon and saves, uses, updates and removes the wallet."""

    def sign_in(self):
        config = options_block(text(self.web.get("/account")), "signin")["signInConfig"]
        answer = self.send_signed("sign-in", config)
        assert answer.status_code == 200, answer.text
        return self.web.get(local(answer.json()["redirectUrl"]), follow_redirects=True)

    def save_wallet_at_checkout(self, **choice):
        self.add("canvas-tote")
        self.web.post("/cart/save-wallet", data={"csrf_token": self.csrf(), "save_wallet": "1"})
        return self.checkout(**choice)

    def account(self) -> str:
        return text(self.web.get("/account"))

    def pay_with_wallet(self, payment_request: str | None = None):
        page = self.account()
        payment_request = payment_request or re.search(r'name="payment_request" value="([0-9a-f]{32})"', page)[1]
        # What the browser shows: the outcome (or the problem) on the GET page the form's 303 names.
        return self.web.post(
            "/account/wallet/pay",
            data={"csrf_token": self.csrf(), "payment_request": payment_request},
            follow_redirects=True,
        )

    def update_wallet(self, cancel: bool = False, **choice):
        """initUpdate / initCheckout with the setupOnly payload, Amazon's update page, back."""
        options = options_block(self.account(), "update")
        config = options["createCheckoutSessionConfig"]
        if cancel:
            return self.web.get(
                local(json.loads(config["payloadJSON"])["webCheckoutDetails"]["checkoutCancelUrl"]),
                follow_redirects=True,
            )
        clicked = self.send_signed("button-checkout", config, productType=options["productType"], **choice)
        assert clicked.status_code == 201, clicked.text
        session_id = clicked.json()["checkoutSessionId"]
        back = requests.post(f"{self.sim.url}/control/checkout-sessions/{session_id}/redirect", json={}, timeout=5)
        return self.web.get(local(back.json()["redirectUrl"]), follow_redirects=True)


def _factory(buyer_class, request, sim):
    def make(app=None):
        """A new browser on ``app`` (default: the ``shop_app`` fixture) and the test simulator."""
        return buyer_class(request.getfixturevalue("shop_app") if app is None else app, sim)

    return make


@pytest.fixture
def make_shop_buyer(request, sim):
    """``make_shop_buyer(app=None)``: a new ShopBuyer (one browser) on ``app``, default ``shop_app``."""
    return _factory(ShopBuyer, request, sim)


@pytest.fixture
def make_wallet_buyer(request, sim):
    """``make_wallet_buyer(app=None)``: a new WalletBuyer (one browser) on ``app``, default ``shop_app``."""
    return _factory(WalletBuyer, request, sim)


@pytest.fixture
def admin_of():
    """``admin_of(app)``: a browser signed in to ``app``'s back office (the demo's admin/demo)."""

    def sign_in(app):
        browser = app.test_client()
        page = text(browser.get("/admin/login"))
        token = CSRF.search(page)[1]
        answer = browser.post("/admin/login", data={"csrf_token": token, "username": "admin", "password": "demo"})
        assert answer.status_code == 303, text(answer)
        return browser

    return sign_in
