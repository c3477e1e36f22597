"""What the buyer sees when Amazon Pay declines, holds or never gets to take the payment."""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.sync_api import Page, expect


def test_declined_payment_then_another_method_pays(page: Page, journey):
    buyer = journey("us")
    buyer.to_review(instrument="3434")
    expect(page.get_by_test_id("payment-descriptor")).to_have_text("Amazon Pay: Mastercard ****3434")
    outcome = buyer.place_order(return_now=True)
    expect(outcome).to_have_attribute("data-testid", "outcome-failure")
    expect(outcome).to_have_text("Your payment was not successful")
    expect(page.get_by_text("Amazon Pay declined the payment. Please try another payment method.")).to_be_visible()
    declined = buyer.order_reference()
    assert buyer.charges_for(declined) == 0
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (1)")

    page.get_by_test_id("back-to-checkout").click()
    expect(page).to_have_url(f"{buyer.shop_url}/cart")
    expect(page.get_by_test_id("line-canvas-tote")).to_be_visible()
    expect(page.get_by_test_id("subtotal")).to_have_text("$24.00")

    # Another try: Amazon remembers the buyer (no sign-in); another card this time.
    buyer.click_amazon_pay()
    expect(page).to_have_url(re.compile(r"/checkout/continue\?"))
    buyer.pick(instrument="1111")
    buyer.expect_review()
    outcome = buyer.place_order(return_now=True)
    expect(outcome).to_have_attribute("data-testid", "outcome-success")
    paid = page.get_by_test_id("order-reference").inner_text()
    assert paid != declined
    assert buyer.charges_for(paid) == 1
    assert buyer.charges_for(declined) == 0


def test_buyer_canceled_payment_is_a_failure(page: Page, journey):
    buyer = journey("us")
    buyer.to_review(instrument="3064")
    outcome = buyer.place_order(return_now=True)
    expect(outcome).to_have_attribute("data-testid", "outcome-failure")
    expect(
        page.get_by_text("The payment was canceled on Amazon Pay. Please try another payment method.")
    ).to_be_visible()
    buyer.open_order_page()
    expect(page.get_by_test_id("order-status")).to_have_text("Payment failed")


def test_pending_authorization_puts_the_order_on_hold(page: Page, journey):
    buyer = journey("us")
    buyer.to_review(instrument="0701")
    outcome = buyer.place_order(return_now=True)
    expect(outcome).to_have_attribute("data-testid", "outcome-pending")
    expect(outcome).to_have_text("We have your order")
    expect(page.get_by_role("main")).to_contain_text("the order is on hold")
    reference = page.get_by_test_id("order-reference").inner_text()
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (0)")
    assert buyer.charges_for(reference) == 1
    buyer.open_order_page()
    expect(page.get_by_test_id("order-status")).to_have_text("Payment being confirmed (on hold)")


def test_buyer_cancels_on_amazon_pay(page: Page, journey):
    buyer = journey("us")
    buyer.start_checkout("trail-mug", quantity=2)
    expect(page.get_by_role("heading", name="Continue as Jane Doe")).to_be_visible()
    page.get_by_test_id("cancel").click()

    expect(page).to_have_url(f"{buyer.shop_url}/cart")
    expect(page.get_by_role("status")).to_have_text(
        "You left Amazon Pay before paying. Nothing was charged, and your cart is still here."
    )
    expect(page.get_by_label("Quantity of Enamel trail mug")).to_have_value("2")
    expect(page.get_by_test_id("subtotal")).to_have_text("$36.00")
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (2)")
    expect(buyer.amazon_pay_button()).to_be_visible()


def test_a_pending_payment_becomes_paid_by_an_ipn_while_the_buyer_looks(page: Page, journey):
    """The simulator, like Amazon, notifies the shop's IPN endpoint when it decides; the order
    page, which looks again by itself while Amazon decides, shows Paid with no reload."""
    buyer = journey("us")
    ipn = {"url": f"{buyer.shop_url}/amazon-pay/ipn"}
    request = urllib.request.Request(
        f"{buyer.simulator_url}/control/ipn",
        data=json.dumps(ipn).encode(),
        method="PUT",
        headers={"content-type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()
    buyer.to_review(instrument="0701")
    expect(buyer.place_order(return_now=True)).to_have_attribute("data-testid", "outcome-pending")
    buyer.open_order_page()
    expect(page.get_by_test_id("order-status")).to_have_text("Payment being confirmed (on hold)")
    advance = urllib.request.Request(
        f"{buyer.simulator_url}/control/clock",
        data=b'{"advanceSeconds": 31}',
        method="POST",
        headers={"content-type": "application/json"},
    )
    urllib.request.urlopen(advance, timeout=5).close()  # Amazon decides; its IPN reaches the shop
    expect(page.get_by_test_id("order-status")).to_have_text("Paid", timeout=15_000)  # the page's own refresh
    steps = page.get_by_test_id("order-steps")
    expect(steps.get_by_role("listitem").filter(has_text="Payment being confirmed")).to_have_count(1)
    expect(steps.get_by_role("listitem").filter(has_text="Payment confirmed")).to_have_count(1)
    reference = page.get_by_role("heading", level=1).inner_text().removeprefix("Order ")
    history = buyer.back_office_history(reference)
    expect(history.get_by_role("listitem").filter(has_text="Instant Payment Notification")).to_have_count(1)
