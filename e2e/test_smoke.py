"""The pages load in a real browser with the strict CSP and no console errors."""

from playwright.sync_api import Page, expect


def test_catalog_and_cart_render_the_amazon_pay_button(page: Page, shop_url: str):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(shop_url)
    page.get_by_test_id("product-canvas-tote").get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (1)")
    expect(page.get_by_test_id("amazon-pay-button")).to_be_visible()
    assert not [e for e in errors if "Content Security Policy" in e], errors
