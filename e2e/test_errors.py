"""Errors a buyer can act on, in a real browser: a form's problem lands on a GET page that the
address bar can reload (never the form's URL, where Enter would be a 405), and the shop's own
pages answer an address that is a form's or no page at all."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .journey import Journey, simulator_counts


def test_cart_changed_in_another_tab_then_place_order_shows_a_page_that_reloads(page: Page, journey, servers):
    buyer = journey("us")
    buyer.to_review()
    reviewed_total = page.get_by_test_id("total").inner_text()
    before = simulator_counts(buyer.simulator_url)["counts"].get("charges", 0)
    other_tab = Journey(page.context.new_page(), servers, "us")
    other_tab.add_to_cart("trail-mug")  # the cart changes behind the review page
    other_tab.page.close()

    page.get_by_test_id("place-order").click()
    expect(page).to_have_url(f"{buyer.shop_url}/problem")  # a GET page, not /checkout/place-order
    expect(page.get_by_role("heading", name="Your cart has changed")).to_be_visible()
    page.reload()  # what Enter in the address bar does too
    expect(page.get_by_role("heading", name="Your cart has changed")).to_be_visible()
    assert simulator_counts(buyer.simulator_url)["counts"].get("charges", 0) == before

    page.get_by_role("link", name="Review the order").click()
    buyer.expect_review()
    expect(page.get_by_test_id("total")).not_to_have_text(reviewed_total)  # the new cart's total, before paying
    assert buyer.place_order(return_now=True).get_attribute("data-testid") == "outcome-success"


def test_a_forms_address_opened_in_the_address_bar_explains_and_leads_to_the_cart(page: Page, journey):
    buyer = journey("us")
    buyer.add_to_cart()
    answer = page.goto(f"{buyer.shop_url}/checkout/place-order")
    assert answer.status == 405
    expect(page.get_by_role("heading", name="This page cannot be opened directly")).to_be_visible()
    expect(page.get_by_text("Method Not Allowed")).to_have_count(0)
    page.get_by_role("link", name="Back to your cart").click()
    expect(page).to_have_url(f"{buyer.shop_url}/cart")
    expect(page.get_by_test_id("line-canvas-tote")).to_be_visible()  # the cart is kept


def test_an_unknown_address_is_the_shops_404(page: Page, journey):
    buyer = journey("us")
    answer = page.goto(f"{buyer.shop_url}/no-such-page")
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("link", name="Go to the shop").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(buyer.shop_url)}/?$"))
