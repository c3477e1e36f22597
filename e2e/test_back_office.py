"""The merchant's back office in Chromium, and what the buyer sees of it: sign in, mark an order
shipped (capture, with a tracking number), capture part then charge the rest (a split shipment),
refund part then the rest, see a declined refund, cancel another order's authorization, close an
authorized order (Close Charge Permission); the buyer's order page follows each step; a visitor
is sent to sign in."""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.sync_api import Page, expect


def paid_order(journey, instrument: str | None = None) -> tuple[object, str]:
    buyer = journey("us")
    buyer.to_review(instrument=instrument)
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


def ipn_to(shop_url: str, simulator_url: str) -> None:
    """The simulator sends its IPNs to this shop (refunds and pending charges are settled by them)."""
    ipn = json.dumps({"url": f"{shop_url}/amazon-pay/ipn"}).encode()
    request = urllib.request.Request(
        f"{simulator_url}/control/ipn", data=ipn, method="PUT", headers={"content-type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=5).close()


def merchant_on(page: Page, shop_url: str, reference: str) -> Page:
    merchant = page.context.browser.new_context().new_page()  # the merchant's own browser
    sign_in(merchant, shop_url)
    open_order(merchant, shop_url, reference)
    return merchant


def amount(text: str) -> float:
    return float(text.strip().lstrip("$").replace(",", ""))


def test_a_visitor_is_sent_to_sign_in(page: Page, shop_url):
    page.goto(f"{shop_url}/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    expect(page.get_by_role("heading", name="Back office")).to_be_visible()


def test_ship_then_refund_part_then_the_rest(page: Page, journey, shop_url):
    buyer, reference = paid_order(journey)
    ipn_to(shop_url, buyer.simulator_url)
    merchant = merchant_on(page, shop_url, reference)
    merchant.get_by_label("Carrier").select_option("UPS")
    merchant.get_by_label("Tracking number").fill("1Z999AA10123456784")
    merchant.get_by_test_id("capture").click()
    expect(merchant.get_by_test_id("amazon-charge-state")).to_have_text("Captured")
    expect(merchant.get_by_text("Delivery Tracker sent: UPS 1Z999AA10123456784")).to_be_visible()
    page.goto(f"{shop_url}/orders/{reference}")
    expect(page.get_by_test_id("order-steps")).to_contain_text("Shipped")
    expect(page.get_by_test_id("order-steps")).to_contain_text("Tracking number 1Z999AA10123456784 (UPS)")

    merchant.get_by_label("Amount to refund").fill("10.00")
    merchant.get_by_test_id("refund").click()
    expect(merchant.get_by_test_id("refunds")).to_contain_text("RefundInitiated")
    rest = f"{amount(merchant.get_by_test_id('captured-1').inner_text()) - 10:.2f}"
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
    merchant = merchant_on(page, shop_url, reference)
    merchant.get_by_test_id("cancel").click()
    expect(merchant.get_by_test_id("amazon-charge-state")).to_have_text("Canceled")
    page.goto(f"{shop_url}/orders/{reference}")
    expect(page.get_by_test_id("order-steps")).to_contain_text("Canceled: the payment was released")
    expect(page.get_by_test_id("order-status")).to_have_text("Canceled")


def test_close_an_authorized_order(page: Page, journey, shop_url):
    """Close Charge Permission with cancelPendingCharges: nothing more can be charged, and the
    authorization is canceled; the buyer sees the order canceled."""
    _buyer, reference = paid_order(journey)
    merchant = merchant_on(page, shop_url, reference)
    merchant.get_by_label("Reason for closing the order").fill("Out of stock")
    merchant.get_by_test_id("close-order").click()
    expect(merchant.get_by_test_id("amazon-charge-state")).to_have_text("Canceled")
    expect(merchant.get_by_test_id("amazon-view")).to_contain_text("Closed (MerchantClosed)")
    expect(merchant.get_by_text("Order closed at Amazon Pay: nothing was captured")).to_be_visible()
    expect(merchant.get_by_test_id("close-order")).to_have_count(0)
    page.goto(f"{shop_url}/orders/{reference}")
    expect(page.get_by_test_id("order-steps")).to_contain_text("Canceled: the payment was released")


def test_capture_part_then_the_rest(page: Page, journey, shop_url):
    """A split shipment: the first parcel captures part of the authorization, the second a
    further charge on the same Charge Permission for what is left."""
    _buyer, reference = paid_order(journey)
    merchant = merchant_on(page, shop_url, reference)
    merchant.get_by_label("Amount to capture").fill("10.00")
    merchant.get_by_test_id("capture").click()
    expect(merchant.get_by_test_id("amazon-charge-state")).to_have_text("Captured")
    expect(merchant.get_by_test_id("captured-1")).to_have_text("$10.00")
    left = merchant.get_by_label("Amount to charge").input_value()  # what Amazon leaves on the permission
    expect(merchant.get_by_test_id("amount-balance")).to_contain_text(f"${left}")
    merchant.get_by_label("Carrier of this parcel").select_option("DHL")
    merchant.get_by_label("Tracking number of this parcel").fill("JD014600006281234567")
    merchant.get_by_test_id("charge-further").click()
    expect(merchant.get_by_test_id("charge-2")).to_contain_text("Captured")
    expect(merchant.get_by_test_id("captured-2")).to_have_text(f"${left}")
    expect(merchant.get_by_text("Delivery Tracker sent: DHL JD014600006281234567")).to_be_visible()
    expect(merchant.get_by_test_id("charge-further")).to_have_count(0)  # nothing is left to charge
    page.goto(f"{shop_url}/orders/{reference}")
    expect(page.get_by_test_id("order-steps")).to_contain_text("Shipped")


def test_a_declined_refund_is_said_plainly(page: Page, journey, shop_url):
    """The simulated card 0505 pays, and Amazon declines its refunds: the merchant is told to
    refund the buyer by another means; the buyer is told it is being arranged."""
    buyer, reference = paid_order(journey, instrument="0505")
    ipn_to(shop_url, buyer.simulator_url)
    merchant = merchant_on(page, shop_url, reference)
    merchant.get_by_test_id("capture").click()
    expect(merchant.get_by_test_id("amazon-charge-state")).to_have_text("Captured")
    merchant.get_by_label("Amount to refund").fill("10.00")
    merchant.get_by_test_id("refund").click()
    expect(merchant.get_by_test_id("refunds")).to_contain_text("RefundInitiated")
    post(f"{buyer.simulator_url}/control/clock", {"advanceSeconds": 31})  # Amazon declines it
    for _ in range(50):  # its IPN reaches the shop within moments
        merchant.goto(f"{shop_url}/admin/orders/{reference}")
        if merchant.get_by_test_id("refund-declined").count():
            break
        merchant.wait_for_timeout(200)
    expect(merchant.get_by_test_id("refund-declined")).to_contain_text(
        "Amazon Pay declined the refund of $10.00 (AmazonRejected): refund the buyer by another means."
    )
    page.goto(f"{shop_url}/orders/{reference}")
    steps = page.get_by_test_id("order-steps")
    expect(steps).to_contain_text("Your refund is being arranged another way; we will contact you")
    expect(steps).not_to_contain_text("Refunded")
