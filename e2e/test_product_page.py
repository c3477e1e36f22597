"""The product page's Amazon Pay button (placement ``Product``, decoupled): the click puts the
product in the cart, then checkout.js starts checkout with the payload the shop signed for that
cart. And the quantity the shop cannot take, said next to the field."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from playwright.sync_api import Page, expect


def initiate_form(request) -> dict[str, str]:
    """What checkout.js posted to Amazon's /checkout/initiate."""
    return {name: values[0] for name, values in parse_qs(request.post_data).items()}


def test_buy_now_from_the_product_page(page: Page, journey, browser_errors: list[str]):
    buyer = journey("us")
    page.goto(buyer.shop_url)
    page.get_by_role("link", name="Canvas tote").click()
    expect(page).to_have_url(f"{buyer.shop_url}/products/canvas-tote")
    expect(page.get_by_role("heading", name="Canvas tote", level=1)).to_be_visible()
    page.get_by_label("Quantity").fill("2")
    with page.expect_request(re.compile(r"/checkout/initiate$")) as initiate:
        buyer.click_amazon_pay()
    sent = initiate_form(initiate.value)
    assert (sent["placement"], sent["productType"]) == ("Product", "PayAndShip")
    assert '"amount": "48.00"' in sent["estimatedOrderAmount"] or "48.00" in sent["estimatedOrderAmount"]
    buyer.sign_in()
    buyer.pick()
    buyer.expect_review()
    expect(page.get_by_text("Canvas tote")).to_be_visible()
    expect(page.get_by_test_id("subtotal")).to_have_text("$48.00")
    expect(buyer.place_order(return_now=True)).to_have_attribute("data-testid", "outcome-success")
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (0)")
    assert buyer.charges_for(buyer.order_reference()) == 1
    assert browser_errors == []


def test_buy_a_download_now_without_an_address(page: Page, journey, browser_errors: list[str]):
    buyer = journey("us")
    page.goto(f"{buyer.shop_url}/products/trail-guide-ebook")
    with page.expect_request(re.compile(r"/checkout/initiate$")) as initiate:
        buyer.click_amazon_pay()
    assert initiate_form(initiate.value)["productType"] == "PayOnly"
    buyer.sign_in()
    buyer.pick()
    buyer.expect_review()
    expect(buyer.place_order(return_now=True)).to_have_attribute("data-testid", "outcome-success")
    assert browser_errors == []


def test_a_quantity_the_shop_cannot_take_is_said_by_the_field(page: Page, journey, browser_errors: list[str]):
    buyer = journey("us")
    page.goto(f"{buyer.shop_url}/products/trail-mug")
    quantity = page.get_by_label("Quantity")
    quantity.fill("20")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(f"{buyer.shop_url}/cart")
    # Add to cart once more: back on the product page (a GET), the message by the field.
    page.goto(f"{buyer.shop_url}/products/trail-mug")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(f"{buyer.shop_url}/products/trail-mug")
    problem = page.get_by_test_id("quantity-problem")
    expect(problem).to_have_text("You already have 20 of these in your cart, the most we sell at once.")
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(quantity).to_be_focused()
    page.reload()  # a GET: nothing is sent again, the message was said once
    expect(problem).to_be_empty()
    # The Amazon Pay button says the same, without leaving the page.
    buyer.click_amazon_pay()
    expect(problem).to_have_text("You already have 20 of these in your cart, the most we sell at once.")
    expect(page).to_have_url(f"{buyer.shop_url}/products/trail-mug")
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (20)")
    assert browser_errors == [], browser_errors


def test_remove_and_continue_shopping_in_the_cart(page: Page, journey):
    buyer = journey("us")
    buyer.add_to_cart("canvas-tote")
    buyer.add_to_cart("trail-mug")
    page.get_by_role("button", name="Remove Canvas tote").click()
    expect(page).to_have_url(f"{buyer.shop_url}/cart")
    expect(page.get_by_test_id("line-canvas-tote")).to_have_count(0)
    expect(page.get_by_test_id("line-trail-mug")).to_be_visible()
    page.get_by_role("link", name="Continue shopping").click()
    expect(page).to_have_url(f"{buyer.shop_url}/")


def test_the_header_fits_a_phone_and_the_skip_link_leads_to_the_content(page: Page, journey):
    buyer = journey("us")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{buyer.shop_url}/products/canvas-tote")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
    for name in ("Shop", "Cart (0)", "Sign in"):
        link = page.get_by_role("navigation", name="Main").get_by_role("link", name=name)
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, name
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_a_double_click_on_buy_now_adds_the_product_once(page: Page, journey):
    buyer = journey("us")
    page.goto(f"{buyer.shop_url}/products/field-notebook")
    buyer.amazon_pay_button().dblclick()
    buyer.sign_in()
    buyer.pick()
    buyer.expect_review()
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (1)")
    expect(page.get_by_test_id("subtotal")).to_have_text("$12.50")
