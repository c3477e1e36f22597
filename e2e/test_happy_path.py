"""A buyer pays with Amazon Pay in each region's shop, and the pages stay clean (no console
errors, no CSP violations) on the way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.journey import HOME_ADDRESS

# One Canvas tote in each region: prices, shipping and tax as the buyer reads them.
# US: WA sales tax 10.1 % on goods and shipping, added; elsewhere VAT / consumption tax is
# included: no tax is added, and the total shows the tax it contains. Addresses as their
# country writes them, the country in words (in the shop's locale).
EXPECTED = {
    "us": {
        "subtotal": "$24.00",
        "shipping": "$5.00",
        "tax": "$2.93",
        "total": "$31.93",
        "included": None,
        "address": ["Jane Doe", "410 Terry Ave N", "Seattle, WA 98109", "United States"],
    },
    "eu": {
        "subtotal": "22,00\u00a0€",
        "shipping": "4,90\u00a0€",
        "tax": None,
        "total": "26,90\u00a0€",
        "included": "4,29\u00a0€",
        "address": ["Erika Mustermann", "Marcel-Breuer-Str. 12", "80807 München", "Deutschland"],
    },
    "uk": {
        "subtotal": "£19.00",
        "shipping": "£3.95",
        "tax": None,
        "total": "£22.95",
        "included": "£3.83",
        "address": ["John Smith", "1 Principal Place", "London", "EC2A 2FA", "United Kingdom"],
    },
    "jp": {
        "subtotal": "￥3,200",
        "shipping": "￥500",
        "tax": None,
        "total": "￥3,700",
        "included": "￥336",
        "address": ["〒153-0064", "東京都目黒区下目黒1-8-1", "山田 太郎", "日本"],
    },
}


@pytest.mark.parametrize("region", ["us", "eu", "uk", "jp"])
def test_happy_path(page: Page, journey, browser_errors: list[str], region: str):
    buyer, want = journey(region), EXPECTED[region]
    buyer.add_to_cart("canvas-tote")
    expect(page.get_by_test_id("subtotal")).to_have_text(want["subtotal"])
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (1)")
    buyer.click_amazon_pay()
    buyer.sign_in()
    # The UK buyer's default address (in Germany) is not one the UK shop ships to: the chooser
    # opens with the UK address preselected; elsewhere "Continue as …".
    buyer.pick(address=HOME_ADDRESS[region] if region == "uk" else None)
    buyer.expect_review()

    expect(page.get_by_test_id("buyer")).to_contain_text(buyer.buyer.name)
    expect(page.get_by_test_id("buyer")).to_contain_text(buyer.buyer.email)
    address = page.get_by_test_id("shipping-address")
    for part in want["address"]:
        expect(address).to_contain_text(part)
    expect(page.get_by_test_id("payment-descriptor")).to_have_text("Amazon Pay: Visa ****1111")
    expect(page.get_by_test_id("shipping")).to_have_text(want["shipping"])
    if want["tax"]:
        expect(page.get_by_test_id("tax")).to_have_text(want["tax"])
    else:
        expect(page.get_by_test_id("tax")).to_have_count(0)
    expect(page.get_by_test_id("total")).to_have_text(want["total"])
    if want["included"]:
        expect(page.get_by_test_id("included-tax")).to_have_text(want["included"])
    else:
        expect(page.get_by_test_id("included-tax")).to_have_count(0)
    expect(page.get_by_test_id("place-order")).to_have_text(f"Place order: {want['total']}")

    outcome = buyer.place_order()
    expect(outcome).to_have_attribute("data-testid", "outcome-success")
    expect(outcome).to_have_text("Thank you for your order")
    expect(page.get_by_test_id("order-reference")).to_have_text(re.compile(r"^ORD-[0-9A-F]{8}$"))
    reference = page.get_by_test_id("order-reference").inner_text()
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (0)")
    assert buyer.charges_for(reference) == 1

    buyer.open_order_page()
    expect(page.get_by_role("heading", name=f"Order {reference}")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_role("row", name=re.compile(r"^Total "))).to_contain_text(want["total"])
    for part in want["address"]:
        expect(page.get_by_test_id("ship-to")).to_contain_text(part)
    expect(page.get_by_test_id("order-steps")).to_contain_text("Payment confirmed")

    page.get_by_test_id("cart-link").click()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Amazon Pay"))).to_have_count(0)

    # Scenario "no console errors, no CSP violations": cart, review and result pages (and
    # Amazon's pages in between) logged nothing.
    assert browser_errors == []


def test_pay_only_cart_has_no_address_step(page: Page, journey):
    """A cart of digital goods is PayOnly: Amazon asks for no address, the shop ships nothing."""
    buyer = journey("us")
    buyer.start_checkout("trail-guide-ebook")
    expect(page.get_by_role("heading", name="Choose a payment method")).to_be_visible()
    expect(page.get_by_test_id("addresses")).to_have_count(0)
    expect(page.locator("input[name=address]")).to_have_count(0)
    expect(page.get_by_test_id("instrument-1111")).to_be_checked()
    buyer.choose()
    buyer.expect_review()

    expect(page.get_by_test_id("shipping-address")).to_have_count(0)
    expect(page.locator("#changeAddress")).to_have_count(0)
    expect(page.locator("#changePayment")).to_be_visible()
    expect(page.get_by_test_id("delivery")).to_contain_text("A download: nothing is shipped")
    expect(page.get_by_test_id("shipping")).to_have_count(0)
    expect(page.get_by_test_id("tax")).to_have_text("$0.00")
    expect(page.get_by_test_id("total")).to_have_text("$9.99")

    outcome = buyer.place_order(return_now=True)
    expect(outcome).to_have_attribute("data-testid", "outcome-success")
    expect(page.get_by_test_id("next-steps")).to_contain_text("Your download is ready")
    expect(page.get_by_text("ships")).to_have_count(0)
    reference = page.get_by_test_id("order-reference").inner_text()
    assert buyer.charges_for(reference) == 1


def test_error_collector_sees_a_csp_violation(page: Page, journey, browser_errors: list[str]):
    """The "no console errors" checks are not vacuous: an inline script injected into the cart
    page is refused by the shop's CSP, and the collector reports it."""
    buyer = journey("us")
    buyer.add_to_cart("trail-mug")

    def inject_inline_script(route):
        response = route.fetch()
        body = response.text().replace("</main>", "<script>document.title = 'pwned'</script></main>")
        route.fulfill(response=response, body=body)

    page.route(f"{buyer.shop_url}/cart", inject_inline_script)
    with page.expect_console_message(lambda message: message.type == "error" and "script-src" in message.text):
        page.reload()
    expect(buyer.amazon_pay_button()).to_be_visible()
    expect(page).not_to_have_title("pwned")
    assert any("Content Security Policy" in error for error in browser_errors), browser_errors
    assert any("CSP violation: script-src" in error for error in browser_errors), browser_errors
