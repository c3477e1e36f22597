"""Screenshots of every page of the buyer's journey, for the README (docs/screenshots/).

Run against the demo:  make demo  (in one terminal), then
                       .venv/bin/python scripts/screenshots.py [http://127.0.0.1:5000 [http://127.0.0.1:5001]]
(the second URL is the simulator's, whose test controls play a lost answer and the clock).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import requests
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from the repository root
from e2e.browser import CHROMIUM_ARGS, system_chromium  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/screenshots/{name}.png")


def to_review(page: Page, shop: str, instrument: str, first: bool = False) -> None:
    page.goto(shop)
    page.get_by_test_id("product-canvas-tote").get_by_role("button", name="Add to cart").click()
    page.goto(shop)  # "Add to cart" lands on the cart
    page.get_by_test_id("product-field-notebook").get_by_role("button", name="Add to cart").click()
    if first:
        shot(page, "1-cart")
    page.get_by_role("button", name=re.compile("Amazon Pay")).click()
    if page.get_by_test_id("sign-in").count():
        page.get_by_test_id("email").fill("jane.doe@example.com")
        page.get_by_test_id("password").fill("demo")
        if first:
            shot(page, "2-amazon-sign-in")
        page.get_by_test_id("sign-in").click()
    if page.get_by_test_id("change").count():
        page.get_by_test_id("change").click()
    page.get_by_test_id(f"instrument-{instrument}").check()
    if first:
        shot(page, "3-amazon-choose")
    page.get_by_test_id("continue").click()
    page.get_by_test_id("place-order").wait_for()


def wallet(page: Page, shop: str) -> None:
    """Sign in with Amazon, save the wallet at checkout, then the account and update pages."""
    page.goto(f"{shop}/account")
    page.get_by_role("button", name=re.compile("Amazon")).click()
    page.get_by_test_id("sign-in").wait_for()  # Amazon's sign-in (no e-mail field if it remembers the buyer)
    if page.get_by_test_id("email").count():
        page.get_by_test_id("email").fill("jane.doe@example.com")
        page.get_by_test_id("password").fill("demo")
    page.get_by_test_id("sign-in").click()
    page.get_by_test_id("signed-in-buyer").wait_for()
    page.goto(shop)
    page.get_by_test_id("product-canvas-tote").get_by_role("button", name="Add to cart").click()
    page.get_by_test_id("toggle-save-wallet").click()
    shot(page, "8-cart-save-wallet")
    page.get_by_role("button", name=re.compile("Amazon Pay")).click()
    if page.get_by_test_id("change").count():
        page.get_by_test_id("change").click()
    page.get_by_test_id("instrument-1111").check()
    page.get_by_test_id("continue").click()
    page.get_by_test_id("place-order").click()
    page.get_by_test_id("outcome-success").wait_for()
    page.goto(shop)
    page.get_by_test_id("product-trail-mug").get_by_role("button", name="Add to cart").click()
    page.goto(f"{shop}/account")
    page.get_by_test_id("wallet").wait_for()
    shot(page, "9-account-wallet")
    page.get_by_test_id("update-wallet").click()
    page.get_by_test_id("continue").wait_for()
    shot(page, "10-amazon-update-wallet")


def after_the_buyer_leaves(page: Page, shop: str, simulator: str) -> None:
    """A lost answer ("being confirmed"), a pending payment Amazon declined later, and the
    cancel URL of a checkout already paid."""
    to_review(page, shop, "1111")
    faults = {"rules": [{"operation": "CompleteCheckoutSession", "kind": "lost", "times": 4}]}
    requests.post(f"{simulator}/control/faults", json=faults, timeout=5).raise_for_status()
    page.get_by_test_id("place-order").click()
    page.get_by_test_id("outcome-unconfirmed").wait_for()
    shot(page, "11-result-unconfirmed")
    requests.delete(f"{simulator}/control/faults", timeout=5).raise_for_status()
    page.get_by_test_id("check-again").click()
    page.get_by_test_id("order-status").wait_for()
    shot(page, "12-order-confirmed-later")
    page.goto(f"{shop}/checkout/cancel")  # "Return to the shop" on Amazon's page, after paying
    shot(page, "13-cancel-after-paying")
    to_review(page, shop, "4354")
    page.get_by_test_id("place-order").click()
    page.get_by_test_id("outcome-pending").wait_for()
    requests.post(f"{simulator}/control/clock", json={"advanceSeconds": 31}, timeout=5).raise_for_status()
    page.get_by_role("link", name="order page").click()
    page.get_by_test_id("order-failed").wait_for()
    shot(page, "14-order-declined-later")


def back_office(page: Page, shop: str, simulator: str) -> None:
    """The merchant: sign in, the orders, one order with Amazon's view and its actions, a split
    shipment (part captured, the rest charged later), a refund Amazon declined (and the buyer's
    page of it), the outbox, the integration status."""
    page.goto(f"{shop}/admin/login")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill("demo")
    shot(page, "15-admin-sign-in")
    page.get_by_test_id("admin-sign-in").click()
    page.get_by_test_id("admin-orders").wait_for()
    shot(page, "16-admin-orders")
    page.goto(f"{shop}/admin/?status=paid")
    page.get_by_test_id("admin-orders").get_by_role("link").first.click()
    page.get_by_test_id("amazon-view").wait_for()
    if page.get_by_test_id("capture").count():
        page.get_by_test_id("capture").click()
        page.get_by_test_id("amazon-view").wait_for()
    shot(page, "17-admin-order")
    split_shipment(page, shop)
    declined_refund(page, shop, simulator)
    page.goto(f"{shop}/admin/outbox")
    shot(page, "18-admin-outbox")
    page.goto(f"{shop}/admin/status")
    shot(page, "status")


def paid_order(page: Page, shop: str, instrument: str) -> str:
    """A new paid order (the buyer's journey in this browser); its reference."""
    to_review(page, shop, instrument)
    page.get_by_test_id("place-order").click()
    page.get_by_test_id("outcome-success").wait_for()
    return page.get_by_role("link", name="Order details").get_attribute("href").rsplit("/", 1)[1]


def split_shipment(page: Page, shop: str) -> None:
    """The first parcel captures part of the authorization; the second is a further charge."""
    reference = paid_order(page, shop, "1111")
    page.goto(f"{shop}/admin/orders/{reference}")
    page.get_by_label("Amount to capture").fill("10.00")
    page.get_by_test_id("capture").click()
    page.get_by_test_id("charge-further").wait_for()
    shot(page, "19-admin-partly-captured")
    page.get_by_label("Carrier of this parcel").select_option("UPS")
    page.get_by_label("Tracking number of this parcel").fill("1Z999AA10123456784")
    page.get_by_test_id("charge-further").click()
    page.get_by_test_id("charge-2").wait_for()
    shot(page, "20-admin-split-shipment")


def declined_refund(page: Page, shop: str, simulator: str) -> None:
    """Card 0505 pays, and Amazon declines its refunds (IPN, or the demo's reconcile timer)."""
    reference = paid_order(page, shop, "0505")
    page.goto(f"{shop}/admin/orders/{reference}")
    page.get_by_test_id("capture").click()
    page.get_by_label("Amount to refund").fill("10.00")
    page.get_by_test_id("refund").click()
    page.get_by_test_id("refunds").wait_for()
    requests.post(f"{simulator}/control/clock", json={"advanceSeconds": 31}, timeout=5).raise_for_status()
    for _ in range(100):
        page.goto(f"{shop}/admin/orders/{reference}")
        if page.get_by_test_id("refund-declined").count():
            break
        page.wait_for_timeout(200)
    shot(page, "21-admin-refund-declined")
    page.goto(f"{shop}/orders/{reference}")
    shot(page, "22-order-refund-declined")


def main(shop: str, simulator: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    executable = system_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(shop)
        shot(page, "0-catalog")
        to_review(page, shop, "1111", first=True)
        shot(page, "4-review")
        page.get_by_test_id("place-order").click()
        page.get_by_test_id("outcome-success").wait_for()
        shot(page, "5-result-success")
        for instrument, name, outcome in (
            ("0701", "6-result-pending", "outcome-pending"),
            ("3434", "7-result-failure", "outcome-failure"),
        ):
            to_review(page, shop, instrument)
            page.get_by_test_id("place-order").click()
            page.get_by_test_id(outcome).wait_for()
            shot(page, name)
        wallet(page, shop)
        after_the_buyer_leaves(page, shop, simulator)
        back_office(page, shop, simulator)
        browser.close()


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000",
        sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:5001",
    )
