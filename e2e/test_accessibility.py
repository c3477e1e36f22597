"""axe-core finds no accessibility violation on any page of the shop, in the regions whose pages
differ (us: USD and sales tax; eu: EUR and VAT; jp: JPY, no decimals).

One test per page and region, so a failure names the page (``test_no_axe_violations[jp-review]``)
and lists each violation: rule id, what it asks for, the element (a CSS selector) and the URL.

A buyer's way through the shop is walked once per region and audited at every step (a review
page, for one, cannot be visited again once the order is placed): ``walk()`` below; the tests
then look up their page. Amazon Pay's hosted pages (the simulator's) are audited by
test_simulator_phone.py, at a phone's width.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.accessibility import Violation, audit, audit_context, describe
from e2e.journey import Journey

SHOP_PAGES = (
    "catalog",
    "product",  # every /products/<id> the catalog links to
    "cart-empty",
    "cart",
    "review",
    "result-paid",
    "order",
    "account-signed-out",
    "not-found",
)
US_ONLY_PAGES = (
    "result-pending",
    "result-failed",
    "result-unconfirmed",
    "account-signed-in",
    "account-wallet",
    "admin-sign-in",
    "admin-orders",
    "admin-order",
    "admin-status",
    "admin-outbox",
    "order-not-found",
    "method-not-allowed",
)
#: Pages whose fix is on its way (issue #14, item 5: branded 404 and 405 pages). Strict: the
#: day the fix lands these tests "pass unexpectedly" and fail, so the mark is removed then.
PAGES = [
    pytest.param(region, name, id=f"{region}-{name}")
    for region, name in [(region, name) for region in ("us", "eu", "jp") for name in SHOP_PAGES]
    + [("us", name) for name in US_ONLY_PAGES]
]
NO_PAGE = "no page of this kind"  # what a page name maps to when the shop has none of it


class Walks:
    """The audited pages, walked on first demand: ``(region, page name)`` -> violations."""

    def __init__(self, browser: Browser, servers):
        self.browser, self.servers = browser, servers
        self.found: dict[tuple[str, str], list[Violation] | str] = {}
        self.paid_order: dict[str, str] = {}  # region -> the reference of the order the shop walk paid
        self.done: set[str] = set()
        self.failed: dict[str, BaseException] = {}

    def violations(self, region: str, name: str) -> list[Violation] | str:
        walk, walk_region = self._walk_for(region, name)
        self._run(walk, walk_region)
        return self.found[(region, name)]

    def _walk_for(self, region: str, name: str) -> tuple[Callable[[str], None], str]:
        if name.startswith("result-") and name != "result-paid":
            return self.payment_outcomes, region
        if name in ("account-signed-in", "account-wallet"):
            return self.account, region
        if name.startswith("admin-"):
            return self.back_office, region
        return self.shop, region

    def _run(self, walk: Callable[[str], None], region: str) -> None:
        key = f"{walk.__name__}:{region}"
        if key in self.failed:
            raise RuntimeError(f"the walk {key} failed earlier") from self.failed[key]
        if key in self.done:
            return
        try:
            walk(region)
        except BaseException as error:
            self.failed[key] = error
            raise
        self.done.add(key)

    def record(self, region: str, name: str, page: Page) -> None:
        self.found[(region, name)] = audit(page)

    def buyer(self, region: str) -> tuple[Journey, Page]:
        """A new browser (Amazon remembers a buyer per browser) with a buyer on the region's shop."""
        page = audit_context(self.browser).new_page()
        return Journey(page, self.servers, region), page

    # -- the walks ----------------------------------------------------------------------------

    def shop(self, region: str) -> None:
        """Catalog, product pages, an empty cart, a 404, the account page signed out, then a
        purchase: cart, review, result, order page."""
        buyer, page = self.buyer(region)
        page.goto(f"{buyer.shop_url}/cart")
        self.record(region, "cart-empty", page)
        page.goto(f"{buyer.shop_url}/no-such-page")
        self.record(region, "not-found", page)
        page.goto(buyer.account_url)
        self.record(region, "account-signed-out", page)
        page.goto(buyer.shop_url)
        self.record(region, "catalog", page)
        links = page.locator("a[href*='/products/']").evaluate_all("links => links.map(a => a.href)")
        product_urls = sorted({url for url in links if re.search(r"/products/[^/?#]+$", url)})
        found: list[Violation] = []
        for url in product_urls:
            page.goto(url)
            found += audit(page)
        self.found[(region, "product")] = found if product_urls else NO_PAGE

        buyer.add_to_cart()
        expect(buyer.amazon_pay_button()).to_be_visible()
        self.record(region, "cart", page)
        buyer.click_amazon_pay()
        buyer.sign_in()
        buyer.pick()
        buyer.expect_review()
        self.record(region, "review", page)
        expect(buyer.place_order(return_now=True)).to_have_attribute("data-testid", "outcome-success")
        self.record(region, "result-paid", page)
        self.paid_order[region] = buyer.order_reference()
        buyer.open_order_page()
        self.record(region, "order", page)
        page.goto(f"{buyer.shop_url}/orders/ORD-00000000")
        self.record(region, "order-not-found", page)
        page.goto(f"{buyer.shop_url}/checkout/place-order")  # Enter in the address bar after a POST
        self.record(region, "method-not-allowed", page)
        page.context.close()

    def payment_outcomes(self, region: str) -> None:
        """The result page when Amazon holds the payment, declines it, or does not answer."""
        for instrument, name, outcome in (("0701", "result-pending", "pending"), ("3434", "result-failed", "failure")):
            buyer, page = self.buyer(region)
            buyer.to_review(instrument=instrument)
            expect(buyer.place_order(return_now=True)).to_have_attribute("data-testid", f"outcome-{outcome}")
            self.record(region, name, page)
            page.context.close()

        buyer, page = self.buyer(region)
        buyer.to_review()
        rules = [{"operation": "CompleteCheckoutSession", "kind": "5xx", "times": 4}]  # the first try and 3 retries
        _control(buyer.simulator_url, "POST", "/control/faults", {"rules": rules})
        try:
            page.get_by_test_id("place-order").click()
            page.get_by_test_id("return-to-shop").click()
            expect(page.get_by_test_id("outcome-unconfirmed")).to_be_visible()
        finally:
            _control(buyer.simulator_url, "DELETE", "/control/faults")
        self.record(region, "result-unconfirmed", page)
        page.context.close()

    def account(self, region: str) -> None:
        """Signed in with Amazon; then with a saved wallet and a cart it can pay."""
        buyer, page = self.buyer(region)
        buyer.sign_in_with_amazon()
        self.record(region, "account-signed-in", page)
        buyer.save_wallet()
        buyer.add_to_cart()
        buyer.open_account()
        expect(page.get_by_test_id("pay-with-wallet")).to_be_visible()
        self.record(region, "account-wallet", page)
        page.context.close()

    def back_office(self, region: str) -> None:
        """Sign-in, the orders, one paid order, the status and outbox pages."""
        self._run(self.shop, region)  # a paid order to look at
        reference = self.paid_order[region]
        page = audit_context(self.browser).new_page()
        shop_url = self.servers.shops[region]
        page.goto(f"{shop_url}/admin/login")
        self.record(region, "admin-sign-in", page)
        page.get_by_label("Name").fill("admin")
        page.get_by_label("Password").fill("demo")
        page.get_by_test_id("admin-sign-in").click()
        expect(page.get_by_role("heading", name="Orders")).to_be_visible()
        self.record(region, "admin-orders", page)
        page.goto(f"{shop_url}/admin/orders/{reference}")
        expect(page.get_by_role("heading", name=f"Order {reference}")).to_be_visible()
        self.record(region, "admin-order", page)
        page.goto(f"{shop_url}/admin/status")
        self.record(region, "admin-status", page)
        page.goto(f"{shop_url}/admin/outbox")
        self.record(region, "admin-outbox", page)
        page.context.close()


def _control(simulator_url: str, method: str, path: str, body: dict | None = None) -> None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{simulator_url}{path}", data=data, method=method, headers={"content-type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=5).close()


@pytest.fixture(scope="module")
def walks(browser: Browser, servers) -> Walks:
    return Walks(browser, servers)


@pytest.mark.parametrize(("region", "name"), PAGES)
def test_no_axe_violations(walks: Walks, region: str, name: str):
    violations = walks.violations(region, name)
    if violations == NO_PAGE:
        pytest.skip(f"the {region} catalog links to no {name} page (/products/<id>) yet")
    assert violations == [], describe(violations)
