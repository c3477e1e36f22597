"""Screenshots of every page of the buyer's and the merchant's journey, for the README
(docs/screenshots/): the desktop set (us), a phone set (390 x 844) and the order pages of the
Japanese and EU shops, whose addresses and tax words differ.

Run against demos started with fresh instance folders, so the back office shows only the
orders made here (each demo embeds its own simulator, one port above the shop's):

    mkdir -p /tmp/shots/us /tmp/shots/jp /tmp/shots/eu
    AMAZON_PAY_REGION=us SHOP_INSTANCE_PATH=/tmp/shots/us .venv/bin/flask run &
    AMAZON_PAY_REGION=jp SHOP_INSTANCE_PATH=/tmp/shots/jp FLASK_RUN_PORT=5010 \\
      SHOP_URL=http://127.0.0.1:5010 AMAZON_PAY_SIMULATOR_URL=http://127.0.0.1:5011 .venv/bin/flask run &
    AMAZON_PAY_REGION=eu SHOP_INSTANCE_PATH=/tmp/shots/eu FLASK_RUN_PORT=5020 \\
      SHOP_URL=http://127.0.0.1:5020 AMAZON_PAY_SIMULATOR_URL=http://127.0.0.1:5021 .venv/bin/flask run &
    .venv/bin/python scripts/screenshots.py [--us http://127.0.0.1:5000] [--jp http://127.0.0.1:5010] \\
      [--eu http://127.0.0.1:5020] [--only wallet,jp]

A region whose shop does not answer is skipped. The simulator's test controls play a lost
answer and move its clock. Japanese text needs a Japanese font (fonts-ipafont-gothic, which
scripts/install-chromium.sh installs).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from the repository root
from e2e.browser import CHROMIUM_ARGS, system_chromium  # noqa: E402
from e2e.journey import Journey  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1200, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Servers:
    """What e2e/journey.py needs: the simulator's URL and the shop's, per region."""

    simulator_url: str
    shops: dict[str, str] = field(default_factory=dict)


def shot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")  # the whole page, its pictures and the button's script
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/screenshots/{name}.png")


def simulator_of(shop: str) -> str:
    """The embedded simulator's URL: the port after the shop's."""
    parts = urlsplit(shop)
    return f"{parts.scheme}://{parts.hostname}:{parts.port + 1}"


def control(servers: Servers, path: str, body: dict | None = None, method: str = "POST") -> None:
    requests.request(method, f"{servers.simulator_url}/control/{path}", json=body, timeout=5).raise_for_status()


class Shots:
    """One region's demo: a browser context per buyer (Amazon remembers a signed-in buyer)."""

    def __init__(self, browser: Browser, servers: Servers, region: str, viewport: dict = DESKTOP):
        self.browser, self.servers, self.region, self.viewport = browser, servers, region, viewport
        self.shop = servers.shops[region]

    def buyer(self) -> Journey:
        page = self.browser.new_context(viewport=self.viewport).new_page()
        return Journey(page, self.servers, self.region)

    def paid_order(self, instrument: str = "1111") -> Journey:
        buyer = self.buyer()
        buyer.to_review(instrument=instrument)
        expect(buyer.place_order()).to_have_attribute("data-testid", "outcome-success")
        return buyer

    def merchant(self) -> Page:
        page = self.browser.new_context(viewport=self.viewport).new_page()
        page.goto(f"{self.shop}/admin/login")
        page.get_by_label("Name").fill("admin")
        page.get_by_label("Password").fill("demo")
        page.get_by_test_id("admin-sign-in").click()
        page.get_by_test_id("admin-orders").wait_for()
        return page

    def admin_order(self, merchant: Page, reference: str) -> None:
        merchant.goto(f"{self.shop}/admin/orders/{reference}")
        merchant.get_by_test_id("amazon-view").wait_for()

    def wait_in_admin(self, merchant: Page, reference: str, test_id: str, text: str = "") -> None:
        """Reload the order until Amazon's news (an IPN, or the demo's reconcile timer) shows."""
        for _ in range(100):
            self.admin_order(merchant, reference)
            found = merchant.get_by_test_id(test_id)
            if found.count() and text in found.first.inner_text():
                return
            merchant.wait_for_timeout(200)
        raise SystemExit(f"{reference}: {test_id} {text!r} never showed")


def buyers_journey(shots: Shots) -> None:
    """Catalog, product page, cart, Amazon's pages, review, the outcomes, the order page."""
    buyer = shots.buyer()
    page = buyer.page
    page.goto(shots.shop)
    shot(page, "01-catalog")
    page.get_by_role("link", name="Canvas tote").click()
    page.get_by_test_id("product-page").wait_for()
    buyer.amazon_pay_button().wait_for()
    shot(page, "02-product")
    buyer.add_to_cart("canvas-tote")
    buyer.add_to_cart("field-notebook")
    buyer.amazon_pay_button().wait_for()
    shot(page, "03-cart")
    buyer.click_amazon_pay()
    page.get_by_test_id("sign-in").wait_for()
    shot(page, "04-amazon-sign-in")
    buyer.sign_in()
    if "/checkout/continue" in page.url:
        page.get_by_test_id("change").click()
    page.get_by_test_id("instrument-1111").check()
    shot(page, "05-amazon-choose")
    page.get_by_test_id("continue").click()
    buyer.expect_review()
    shot(page, "06-review")
    expect(buyer.place_order()).to_have_attribute("data-testid", "outcome-success")
    shot(page, "07-result-success")
    buyer.open_order_page()
    shot(page, "08-order-paid")
    for instrument, name in (("0701", "09-result-pending"), ("3434", "10-result-failure")):
        other = shots.buyer()
        other.to_review(instrument=instrument)
        other.place_order()
        shot(other.page, name)


def after_the_buyer_leaves(shots: Shots) -> None:
    """A lost answer ("being confirmed"), the cancel URL of a checkout already paid, a pending
    payment Amazon declined later."""
    buyer = shots.buyer()
    page = buyer.page
    buyer.to_review(instrument="1111")
    control(shots.servers, "faults", {"rules": [{"operation": "CompleteCheckoutSession", "kind": "lost", "times": 4}]})
    page.get_by_test_id("place-order").click()
    page.get_by_test_id("outcome-unconfirmed").wait_for()
    shot(page, "11-result-unconfirmed")
    control(shots.servers, "faults", method="DELETE")
    page.get_by_test_id("check-again").click()
    page.get_by_test_id("order-status").wait_for()
    shot(page, "12-order-confirmed-later")
    page.goto(f"{shots.shop}/checkout/cancel")  # "Return to the shop" on Amazon's page, after paying
    shot(page, "13-cancel-after-paying")

    declined = shots.buyer()
    declined.to_review(instrument="4354")
    expect(declined.place_order()).to_have_attribute("data-testid", "outcome-pending")
    control(shots.servers, "clock", {"advanceSeconds": 31})
    declined.open_order_page()
    for _ in range(100):
        if declined.page.get_by_test_id("order-failed").count():
            break
        declined.page.wait_for_timeout(200)
        declined.page.reload()
    shot(declined.page, "14-order-declined-later")


def errors(shots: Shots) -> None:
    """The cart changed in another tab before Place order (the /problem page), and a 404."""
    buyer = shots.buyer()
    page = buyer.page
    buyer.to_review()
    other_tab = Journey(page.context.new_page(), shots.servers, shots.region)
    other_tab.add_to_cart("trail-mug")
    other_tab.page.close()
    page.get_by_test_id("place-order").click()
    expect(page).to_have_url(f"{shots.shop}/problem")
    shot(page, "15-problem-cart-changed")
    page.goto(f"{shots.shop}/no-such-page")
    shot(page, "16-not-found")


def wallet(shots: Shots) -> None:
    """Sign in with Amazon, save the wallet at checkout, the account page, Amazon's update page."""
    buyer = shots.buyer()
    page = buyer.page
    buyer.sign_in_with_amazon()
    buyer.add_to_cart("canvas-tote")
    page.get_by_test_id("toggle-save-wallet").click()
    expect(page.get_by_test_id("toggle-save-wallet")).to_have_text("Don't save it")
    buyer.amazon_pay_button().wait_for()
    shot(page, "17-cart-save-wallet")
    buyer.click_amazon_pay()
    buyer.choose(instrument="1111")
    buyer.expect_review()
    expect(buyer.place_order()).to_have_attribute("data-testid", "outcome-success")
    buyer.add_to_cart("trail-mug")
    buyer.open_account()
    page.get_by_test_id("wallet").wait_for()
    shot(page, "18-account-wallet")
    buyer.start_wallet_update()
    shot(page, "19-amazon-update-wallet")


def back_office(shots: Shots) -> None:
    """The merchant: sign in, the orders, an order after capture (and the buyer's page once it
    is shipped and partly refunded), a split shipment, a refund Amazon declined, a closed
    order, the outbox, the integration status."""
    shipped = shots.paid_order()
    reference = shipped.order_reference()
    page = shots.browser.new_context(viewport=shots.viewport).new_page()
    page.goto(f"{shots.shop}/admin/login")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill("demo")
    page.get_by_label("Password").blur()
    shot(page, "20-admin-sign-in")
    page.get_by_test_id("admin-sign-in").click()
    page.get_by_test_id("admin-orders").wait_for()
    shot(page, "21-admin-orders")

    shots.admin_order(page, reference)
    page.get_by_label("Carrier").select_option("UPS")
    page.get_by_label("Tracking number").fill("1Z999AA10123456784")
    page.get_by_test_id("capture").click()
    expect(page.get_by_test_id("amazon-charge-state")).to_have_text("Captured")
    shot(page, "22-admin-order-captured")
    page.get_by_label("Amount to refund").fill("10.00")
    page.get_by_test_id("refund").click()
    page.get_by_test_id("refunds").wait_for()
    control(shots.servers, "clock", {"advanceSeconds": 31})  # Amazon completes the refund
    shots.wait_in_admin(page, reference, "refunds", "Refunded")
    shipped.page.goto(f"{shots.shop}/orders/{reference}")
    shot(shipped.page, "23-order-shipped-refunded")

    split = shots.paid_order().order_reference()
    shots.admin_order(page, split)
    page.get_by_label("Amount to capture").fill("10.00")
    page.get_by_test_id("capture").click()
    page.get_by_test_id("charge-further").wait_for()
    shot(page, "24-admin-partly-captured")
    page.get_by_label("Carrier of this parcel").select_option("UPS")
    page.get_by_label("Tracking number of this parcel").fill("1Z999AA10123456785")
    page.get_by_test_id("charge-further").click()
    page.get_by_test_id("charge-2").wait_for()
    shot(page, "25-admin-split-shipment")

    refused = shots.paid_order("0505")  # the simulator declines this card's refunds
    declined = refused.order_reference()
    shots.admin_order(page, declined)
    page.get_by_test_id("capture").click()
    page.get_by_label("Amount to refund").fill("10.00")
    page.get_by_test_id("refund").click()
    page.get_by_test_id("refunds").wait_for()
    control(shots.servers, "clock", {"advanceSeconds": 31})
    shots.wait_in_admin(page, declined, "refund-declined")
    shot(page, "26-admin-refund-declined")
    refused.page.goto(f"{shots.shop}/orders/{declined}")
    shot(refused.page, "27-order-refund-declined")

    closed = shots.paid_order().order_reference()
    shots.admin_order(page, closed)
    page.get_by_label("Reason for closing the order").fill("Out of stock")
    page.get_by_test_id("close-order").click()
    expect(page.get_by_test_id("close-order")).to_have_count(0)
    shot(page, "28-admin-order-closed")
    page.goto(f"{shots.shop}/admin/outbox")
    shot(page, "29-admin-outbox")
    page.goto(f"{shots.shop}/admin/status")
    shot(page, "30-admin-status")


def phone(shots: Shots) -> None:
    """The buyer's way at 390 x 844: catalog, product page, cart, Amazon's sign-in, review."""
    buyer = shots.buyer()
    page = buyer.page
    page.goto(shots.shop)
    shot(page, "phone-1-catalog")
    page.goto(f"{shots.shop}/products/canvas-tote")
    buyer.amazon_pay_button().wait_for()
    shot(page, "phone-2-product")
    buyer.add_to_cart("canvas-tote")
    buyer.amazon_pay_button().wait_for()
    shot(page, "phone-3-cart")
    buyer.click_amazon_pay()
    page.get_by_test_id("sign-in").wait_for()
    shot(page, "phone-4-amazon-sign-in")
    buyer.sign_in()
    buyer.pick()
    buyer.expect_review()
    shot(page, "phone-5-review")


def regional(shots: Shots, pages: tuple[str, ...]) -> None:
    """Another region's shop (its address, tax words and dates): ``pages`` of review, result, order."""
    names = iter(f"{shots.region}-{number}-{name}" for number, name in enumerate(pages, 1))
    buyer = shots.buyer()
    buyer.to_review("canvas-tote")
    if "review" in pages:
        shot(buyer.page, next(names))
    expect(buyer.place_order()).to_have_attribute("data-testid", "outcome-success")
    if "result" in pages:
        shot(buyer.page, next(names))
    buyer.open_order_page()
    shot(buyer.page, next(names))


US_PARTS = {
    "journey": buyers_journey,
    "later": after_the_buyer_leaves,
    "errors": errors,
    "wallet": wallet,
    "office": back_office,
    "phone": phone,
}


def answers(shop: str | None) -> bool:
    try:
        return shop is not None and requests.get(shop, timeout=5).ok
    except requests.ConnectionError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--us", default="http://127.0.0.1:5000", help="the us demo shop")
    parser.add_argument("--jp", default="http://127.0.0.1:5010", help="the jp demo shop")
    parser.add_argument("--eu", default="http://127.0.0.1:5020", help="the eu demo shop")
    parser.add_argument("--only", type=lambda names: names.split(","), help=f"some of {','.join(US_PARTS)},jp,eu")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=system_chromium(), args=CHROMIUM_ARGS)
        for region in ("us", "jp", "eu"):
            shop = getattr(args, region)
            if not answers(shop):
                print(f"{region}: no shop at {shop}, skipped")
                continue
            servers = Servers(simulator_of(shop), {region: shop})
            if region == "us":
                for name, part in US_PARTS.items():
                    if not args.only or name in args.only:
                        part(Shots(browser, servers, region, PHONE if name == "phone" else DESKTOP))
            elif not args.only or region in args.only:
                pages = ("review", "result", "order") if region == "jp" else ("order",)
                regional(Shots(browser, servers, region), pages)
        browser.close()


if __name__ == "__main__":
    main()
