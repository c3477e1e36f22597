"""The Amazon Pay button on the cart page when its options are not what the shop signed or what
the region's checkout.js accepts, or when checkout.js does not load at all."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Route, expect

OPTIONS_BLOCK = re.compile(r'(<script type="application/json" id="amazon-pay-button-options">)(.*?)(</script>)', re.S)


def rewrite_button_options(page: Page, cart_url: str, change: Callable[[dict], None]) -> None:
    """Serve the cart page with its button options changed by ``change`` (as a man in the
    middle, a browser extension or a bug in the page's own script would)."""

    def handle(route: Route) -> None:
        response = route.fetch()
        html = response.text()
        match = OPTIONS_BLOCK.search(html)
        assert match, "the cart page has no amazon-pay-button-options block"
        options = json.loads(match[2])
        change(options)
        tampered = json.dumps(options).replace("</", "<\\/")
        route.fulfill(response=response, body=html[: match.start(2)] + tampered + html[match.end(2) :])

    page.route(cart_url, handle)


def test_tampered_button_payload_is_refused_by_amazon(page: Page, journey):
    buyer = journey("us")
    buyer.add_to_cart()

    def send_review_elsewhere(options: dict) -> None:
        config = options["createCheckoutSessionConfig"]
        assert "/checkout/review" in config["payloadJSON"]
        config["payloadJSON"] = config["payloadJSON"].replace("/checkout/review", "/checkout/reviex")

    rewrite_button_options(page, f"{buyer.shop_url}/cart", send_review_elsewhere)
    page.reload()
    buyer.click_amazon_pay()
    expect(page).to_have_url(f"{buyer.simulator_url}/checkout/initiate")
    expect(page.get_by_role("heading", name="Amazon Pay could not continue")).to_be_visible()
    expect(page.get_by_test_id("error-code")).to_have_text("InvalidSignatureError")
    expect(page.get_by_test_id("error-message")).to_contain_text("does not match signedString AMZN-PAY-RSASSA-PSS")
    # The way back leads to the cart, which is intact.
    page.get_by_test_id("cancel").click()
    expect(page).to_have_url(f"{buyer.shop_url}/cart")
    expect(page.get_by_test_id("line-canvas-tote")).to_be_visible()


@pytest.mark.parametrize(
    ("region", "option", "value", "message"),
    [
        (
            "us",
            "ledgerCurrency",
            "EUR",
            "Invalid value 'EUR' for 'ledgerCurrency', please use one of the available values: USD.",
        ),
        (
            "jp",
            "checkoutLanguage",
            "en_US",
            "Invalid value 'en_US' for 'checkoutLanguage', please use one of the available values: ja_JP.",
        ),
        ("eu", "sandbox", False, "does not match 'sandbox: false'"),
    ],
    ids=["us-ledgerCurrency", "jp-checkoutLanguage", "eu-sandbox"],
)
def test_button_options_the_regional_script_refuses(page: Page, journey, region, option, value, message):
    buyer = journey(region)
    buyer.add_to_cart("field-notebook")
    rewrite_button_options(page, f"{buyer.shop_url}/cart", lambda options: options.update({option: value}))
    with page.expect_console_message(lambda m: m.type == "error" and m.text.startswith("AmazonPay:")):
        page.reload()
    alert = page.get_by_test_id("amazon-pay-button").get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_have_class("amazonpay-simulator-error")
    expect(alert).to_contain_text("AmazonPay:")
    expect(alert).to_contain_text(message)
    expect(buyer.amazon_pay_button()).to_have_count(0)


def test_checkout_js_unavailable(page: Page, journey):
    """Amazon's script blocked (network, ad blocker): the buyer is told, not left with a blank space."""
    buyer = journey("us")
    buyer.add_to_cart()
    page.route(re.compile(r"/static-na/checkout\.js$"), lambda route: route.abort())
    page.reload()
    expect(page.get_by_test_id("amazon-pay-error")).to_have_text(
        "Amazon Pay could not be loaded. Please reload the page."
    )
    expect(buyer.amazon_pay_button()).to_have_count(0)
