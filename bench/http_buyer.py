"""A headless buyer over real HTTP: one browser's cookie jar (a ``requests.Session``) on the
shop, and the simulator's control endpoints for Amazon's pages (docs/simulator.md).

Cookies ignore ports, as a browser's do: a cookie set by the shop on ``127.0.0.1:A`` is sent to
``127.0.0.1:B`` too, so one buyer can use two app servers as if a load balancer sent each of
its requests to either. Every step takes the shop's base URL (``shop``), so a caller chooses
which app server answers it. A step that gets another answer than a buyer on the happy path
would (a 5xx, a problem page, a missing button) raises ``StepFailed``; ``timings`` keeps each
step's duration in seconds (``{step: [seconds, …]}``; pass a defaultdict(list) to share one).

Used by ``bench/checkout_load.py`` and ``tests/shop/test_several_app_servers.py``.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REVIEWED = re.compile(r'name="reviewed" value="([^"]*)"')
PAYMENT_REQUEST = re.compile(r'name="payment_request" value="([0-9a-f]{32})"')
SUCCESS = 'data-testid="outcome-success"'
TIMEOUT = 30  # seconds: longer than any step takes on a loaded 2-core machine


def options_block(page: str, name: str) -> dict:
    """A JSON block the page hands to checkout.js (``amazon-pay-<name>-options``)."""
    found = re.search(rf'<script type="application/json" id="amazon-pay-{name}-options">(.*?)</script>', page, re.S)
    if not found:
        raise ValueError(f"no amazon-pay-{name}-options block on the page")
    return json.loads(found[1])


def local(url: str) -> str:
    """The path and query of a URL: the buyer follows it on whichever app server it chooses."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


class StepFailed(AssertionError):
    """A step answered something a buyer would notice: ``step``, ``status`` (None: no answer)."""

    def __init__(self, step: str, status: int | None, detail: str = ""):
        super().__init__(f"{step}: {status} {detail}".strip())
        self.step, self.status, self.detail = step, status, detail


class HttpBuyer:
    def __init__(self, simulator_url: str, timings: dict[str, list[float]] | None = None):
        self.sim = simulator_url
        self.http = requests.Session()
        self.timings: dict[str, list[float]] = defaultdict(list) if timings is None else timings

    # -- plumbing --------------------------------------------------------------------------------

    def _send(self, step: str, method: str, url: str, expect: int, session: requests.Session | None = None, **kw):
        started = time.perf_counter()
        try:
            answer = (session or self.http).request(method, url, timeout=TIMEOUT, allow_redirects=False, **kw)
        except requests.RequestException as error:
            raise StepFailed(step, None, type(error).__name__) from error
        self.timings[step].append(time.perf_counter() - started)
        if answer.status_code != expect:
            raise StepFailed(step, answer.status_code, _problem_title(answer.text))
        return answer

    def _csrf(self, step: str, page: str) -> str:
        found = CSRF.search(page)
        if not found:
            raise StepFailed(step, 200, "no CSRF token on the page")
        return found[1]

    def _control(self, step: str, path: str, body: dict, expect: int = 200) -> dict:
        return self._send(step, "POST", f"{self.sim}/control/{path}", expect, json=body).json()

    @staticmethod
    def _signed(config: dict) -> dict:
        """What checkout.js posts to Amazon: the signed payload and its key."""
        return {name: config[name] for name in ("payloadJSON", "signature", "publicKeyId", "algorithm")}

    def at_once(self, step: str, method: str, urls: list[str], expect: int, **kw) -> list[requests.Response]:
        """The same request to several app servers at the same moment (a double click that a
        load balancer spread), each with this browser's cookies as they are now. The cookies
        they set are kept afterwards, in order."""
        tabs = []
        for url in urls:
            tab = requests.Session()
            tab.cookies.update(self.http.cookies)
            tabs.append((url, tab))
        with ThreadPoolExecutor(len(tabs)) as pool:
            sent = [pool.submit(self._send, step, method, url, expect, tab, **kw) for url, tab in tabs]
            answers = [future.result() for future in sent]
        for _, tab in tabs:
            self.http.cookies.update(tab.cookies)
            tab.close()
        return answers

    # -- the shop's pages and Amazon's, one step each ---------------------------------------------

    def catalog(self, shop: str) -> str:
        """The catalog page; returns a CSRF token for the next form."""
        return self._csrf("catalog", self._send("catalog", "GET", f"{shop}/", 200).text)

    def add(self, shop: str, csrf: str, product_id: str = "canvas-tote", quantity: int = 1) -> None:
        form = {"csrf_token": csrf, "product_id": product_id, "quantity": quantity, "add": "1"}
        self._send("add", "POST", f"{shop}/cart/items", 303, data=form)

    def cart(self, shop: str) -> tuple[dict, str]:
        """The cart page: the Amazon Pay button's options, and a CSRF token."""
        page = self._send("cart", "GET", f"{shop}/cart", 200).text
        try:
            return options_block(page, "button"), self._csrf("cart", page)
        except ValueError as error:
            raise StepFailed("cart", 200, str(error)) from error

    def click_amazon_pay(self, options: dict, **choice) -> str:
        """The buyer clicks the button, signs in at Amazon and chooses; the review path."""
        body = {**self._signed(options["createCheckoutSessionConfig"]), "productType": options["productType"], **choice}
        return local(self._control("amazon_button", "button-checkout", body, expect=201)["redirectUrl"])

    def review(self, shop: str, review_path: str) -> dict:
        """The review page; the Place Order form's fields."""
        page = self._send("review", "GET", f"{shop}{review_path}", 200).text
        reviewed = REVIEWED.search(page)
        if not reviewed:
            raise StepFailed("review", 200, "no Place Order form")
        return {
            "csrf_token": self._csrf("review", page),
            "amazonCheckoutSessionId": review_path.split("amazonCheckoutSessionId=")[1],
            "reviewed": html.unescape(reviewed[1]),
        }

    def place_order(self, shops: list[str], form: dict) -> str:
        """Place Order, sent to each of ``shops`` at once (one: a single click); every answer
        must be the same 303 to Amazon. Returns amazonPayRedirectUrl."""
        urls = [f"{shop}/checkout/place-order" for shop in shops]
        if len(urls) == 1:
            answers = [self._send("place_order", "POST", urls[0], 303, data=form)]
        else:
            answers = self.at_once("place_order", "POST", urls, 303, data=form)
        locations = {answer.headers["Location"] for answer in answers}
        if len(locations) != 1:
            raise StepFailed("place_order", 303, f"the clicks went to different places: {sorted(locations)}")
        return locations.pop()

    def pay_at_amazon(self, redirect_url: str) -> str:
        """The browser follows amazonPayRedirectUrl; Amazon processes the payment. The result path."""
        session_id = redirect_url.split("amazonCheckoutSessionId=")[1]
        return local(self._control("amazon_pay", f"checkout-sessions/{session_id}/redirect", {})["redirectUrl"])

    def result(self, shop: str, result_path: str) -> str:
        """The result page, which must say the order is paid; returns the page."""
        page = self._send("result", "GET", f"{shop}{result_path}", 200).text
        if SUCCESS not in page:
            raise StepFailed("result", 200, "not the success page: " + _problem_title(page))
        return page

    # -- Sign in with Amazon and the saved wallet ----------------------------------------------

    def sign_in(self, shop: str, return_to: str) -> None:
        """Sign in with Amazon from the account page on ``shop``; Amazon sends the browser back
        to ``return_to`` (another app server, perhaps)."""
        page = self._send("account", "GET", f"{shop}/account", 200).text
        config = options_block(page, "signin")["signInConfig"]
        back = self._control("amazon_sign_in", "sign-in", self._signed(config))["redirectUrl"]
        self._send("signed_in", "GET", f"{return_to}{local(back)}", 302)

    def save_wallet(self, shop: str, csrf: str) -> None:
        """Tick "Save my Amazon Pay wallet" on the cart."""
        form = {"csrf_token": csrf, "save_wallet": "1"}
        self._send("save_wallet", "POST", f"{shop}/cart/save-wallet", 303, data=form)

    def wallet_form(self, shop: str) -> dict:
        """The account page with a saved wallet: the Pay form's fields."""
        page = self._send("account", "GET", f"{shop}/account", 200).text
        found = PAYMENT_REQUEST.search(page)
        if not found:
            raise StepFailed("account", 200, "no Pay with the saved wallet form")
        return {"csrf_token": self._csrf("account", page), "payment_request": found[1]}

    def pay_with_wallet(self, shops: list[str], form: dict) -> list[str]:
        """Pay with the saved wallet, submitted to each of ``shops`` at once; every page must
        say the order is paid. Returns the pages."""
        urls = [f"{shop}/account/wallet/pay" for shop in shops]
        paid = self.at_once("wallet_pay", "POST", urls, 303, data=form)  # to the payment's own page
        pages = [
            self._send("wallet_paid", "GET", shop + answer.headers["Location"], 200).text
            for shop, answer in zip(shops, paid, strict=True)
        ]
        for page in pages:
            if SUCCESS not in page:
                raise StepFailed("wallet_pay", 200, "not the success page: " + _problem_title(page))
        return pages

    # -- a whole checkout ----------------------------------------------------------------------

    def checkout(self, shops: list[str], double_click: bool = False, **choice) -> str:
        """Catalog, add, cart, Amazon Pay button, review, Place Order, Amazon, result: each
        request to the next app server in ``shops`` (round robin, as a load balancer does);
        with ``double_click``, Place Order goes to two app servers at once. Returns the order
        reference shown on the success page."""
        turn = iter(range(1_000_000))

        def next_shop() -> str:
            return shops[next(turn) % len(shops)]

        csrf = self.catalog(next_shop())
        self.add(next_shop(), csrf)
        options, _ = self.cart(next_shop())
        review_path = self.click_amazon_pay(options, **choice)
        form = self.review(next_shop(), review_path)
        clicks = [next_shop(), next_shop()] if double_click else [next_shop()]
        result_path = self.pay_at_amazon(self.place_order(clicks, form))
        page = self.result(next_shop(), result_path)
        return order_reference(page)

    def close(self) -> None:
        self.http.close()


def order_reference(page: str) -> str:
    found = re.search(r'data-testid="order-reference">([^<]+)<', page)
    if not found:
        raise StepFailed("result", 200, "no order reference on the page")
    return found[1]


def _problem_title(page: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    return html.unescape(found[1]).strip()[:120] if found else page[:120].strip()
