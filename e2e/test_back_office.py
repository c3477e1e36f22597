"""The merchant's back office in Chromium, and what the buyer sees of it: sign in, mark an order
shipped (capture, with a tracking number), refund part then the rest, cancel another order's
authorization; the buyer's order page follows each step; a visitor is sent to sign in."""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.sync_api import Page, expect


def paid_order(journey) -> tuple[object, str]:
    buyer = journey("us")
    buyer.to_review()
    expect(buyer.place_order(return_now=True)).to_have_attribute("data-testid", "outcome-success")
    return buyer, buyer.order_reference()


def sign_in(page: Page, shop_url: str) -> None:
    page.goto(f"{shop_url}/admin/login")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill("demo")
    page.get_by_test_id("admin-sign-in").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()


def open_order(page: Page, shop_url: str, reference: str) -> None:
    page.goto(f"{shop_url}/admin/orders/{reference}")
    expect(page.get_by_role("heading", name=f"Order {reference}")).to_be_visible()


def post(url: str, body: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=5).close()


def test_a_visitor_is_sent_to_sign_in(page: Page, shop_url):
    page.goto(f"{shop_url}/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    expect(page.get_by_role("heading", name="Back office")).to_be_visible()


def test_ship_then_refund_part_then_the_rest(page: Page, journey, shop_url):
    buyer, reference = paid_order(journey)
    ipn = json.dumps({"url": f"{shop_url}/amazon-pay/ipn"}).encode()  # refunds are settled by IPN
    request = urllib.request.Request(
        f"{buyer.simulator_url}/control/ipn", data=ipn, method="PUT", headers={"content-type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=5).close()
    merchant = page.context.browser.new_context().new_page()  # the merchant's own browser
    sign_in(merchant, shop_url)
    open_order(merchant, shop_url, reference)
    merchant.get_by_label("Carrier").select_option("UPS")
    merchant.get_by_label("Tracking number").fill("1Z999AA10123456784")
    merchant.get_by_test_id("capture").click()
    expect(merchant.get_by_test_id("amazon-charge-state")).to_have_text("Captured")
    expect(merchant.get_by_text("Delivery Tracker sent: UPS 1Z999AA10123456784")).to_be_visible()
    page.goto(f"{shop_url}/orders/{reference}")
    expect(page.get_by_test_id("order-steps")).to_contain_text("Shipped")

    merchant.get_by_label("Amount to refund").fill("10.00")
    merchant.get_by_test_id("refund").click()
    expect(merchant.get_by_test_id("refunds")).to_contain_text("RefundInitiated")
    captured = merchant.get_by_role("row", name=re.compile("^Captured")).inner_text().split()[1]
    rest = f"{float(captured) - 10:.2f}"
    merchant.get_by_label("Amount to refund").fill(rest)
    merchant.get_by_test_id("refund").click()
    expect(merchant.get_by_test_id("refunds").get_by_role("row")).to_have_count(3)  # a header and two refunds

    post(f"{buyer.simulator_url}/control/clock", {"advanceSeconds": 31})  # Amazon completes the refunds
    for _ in range(50):  # their IPNs reach the shop within moments
        merchant.goto(f"{shop_url}/admin/orders/{reference}")
        if merchant.get_by_test_id("refunds").inner_text().count("Refunded") == 2:
            break
        merchant.wait_for_timeout(200)
    expect(merchant.get_by_test_id("refunds")).not_to_contain_text("RefundInitiated")
    page.goto(f"{shop_url}/orders/{reference}")
    steps = page.get_by_test_id("order-steps")
    expect(steps.get_by_text(re.compile(r"^Refunded: Amazon Pay has returned \$[\d.]+ to you"))).to_have_count(2)


def test_cancel_an_authorization(page: Page, journey, shop_url):
    buyer, reference = paid_order(journey)
    merchant = page.context.browser.new_context().new_page()
    sign_in(merchant, shop_url)
    open_order(merchant, shop_url, reference)
    merchant.get_by_test_id("cancel").click()
    expect(merchant.get_by_test_id("amazon-charge-state")).to_have_text("Canceled")
    page.goto(f"{shop_url}/orders/{reference}")
    expect(page.get_by_test_id("order-steps")).to_contain_text("Canceled: the payment was released")
