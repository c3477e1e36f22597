"""On the review page the buyer changes the address or the payment method on Amazon's pages,
and the shop re-checks where it can ship."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_change_address_and_payment_method_on_review(page: Page, journey):
    buyer = journey("eu")
    session_id = buyer.to_review()  # "Continue as Erika": her home in Munich, Visa 1111
    address = page.get_by_test_id("shipping-address")
    descriptor = page.get_by_test_id("payment-descriptor")
    expect(address).to_contain_text("München")
    expect(descriptor).to_have_text("Amazon Pay: Visa ****1111")

    page.locator("#changeAddress").click()
    expect(page).to_have_url(re.compile(r"/checkout/initiate_auth\?.*changeAction=changeAddress"))
    expect(page.get_by_role("heading", name="Change the delivery address")).to_be_visible()
    expect(page.get_by_test_id("instruments")).to_have_count(0)
    expect(page.get_by_test_id("address-de-packstation")).to_be_disabled()  # RestrictPackstations
    buyer.choose(address="fr-home")
    assert buyer.expect_review() == session_id
    for part in ("Marie Dupont", "67 Boulevard du Général Leclerc", "92110 Clichy", "Frankreich"):
        expect(address).to_contain_text(part)
    expect(address).not_to_contain_text("München")
    expect(descriptor).to_have_text("Amazon Pay: Visa ****1111")

    page.locator("#changePayment").click()
    expect(page).to_have_url(re.compile(r"/checkout/initiate_auth\?.*changeAction=changePayment"))
    expect(page.get_by_role("heading", name="Change the payment method")).to_be_visible()
    expect(page.get_by_test_id("addresses")).to_have_count(0)
    buyer.choose(instrument="3434")
    assert buyer.expect_review() == session_id
    expect(descriptor).to_have_text("Amazon Pay: Mastercard ****3434")
    expect(address).to_contain_text("92110 Clichy")  # the address chosen before is kept
    expect(page.get_by_test_id("total")).to_have_text("26,90\u00a0€")
    expect(page.get_by_test_id("place-order")).to_be_enabled()


def test_restricted_addresses(page: Page, journey):
    """The button's deliverySpecifications exclude PO boxes and other countries on Amazon's page;
    Alaska passes Amazon's check but not the shop's own, which says so and offers no Place order."""
    buyer = journey("us")
    buyer.start_checkout()
    page.get_by_test_id("change").click()  # from "Continue as Jane Doe" to the chooser
    po_box = page.get_by_test_id("address-us-po-box")
    expect(po_box).to_be_disabled()
    expect(po_box).not_to_be_checked()
    expect(page.locator("#address-us-po-box-reason")).to_have_text(
        "Not available: This merchant does not deliver to PO boxes."
    )
    expect(page.get_by_test_id("address-ca-home")).to_be_disabled()
    expect(page.get_by_test_id("address-us-home")).to_be_checked()
    expect(page.get_by_test_id("address-us-alaska")).to_be_enabled()
    buyer.choose(address="us-alaska")
    session_id = buyer.expect_review()

    expect(page.get_by_test_id("shipping-address")).to_contain_text("Juneau, AK 99801")
    expect(page.get_by_test_id("cannot-ship")).to_have_text(
        "We do not ship to Alaska yet. Use Change shipping address to pick another one."
    )
    expect(page.get_by_test_id("place-order")).to_have_count(0)

    # A Place order sent anyway (a stale tab, a crafted form) is refused by the same check.
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', page.request.get(f"{buyer.shop_url}/cart").text())
    assert csrf_token
    refused = page.request.post(
        f"{buyer.shop_url}/checkout/place-order",
        form={"csrf_token": csrf_token[1], "amazonCheckoutSessionId": session_id},
        max_redirects=0,
    )
    assert refused.status == 303  # an error outcome of a form is a GET page: reload never re-posts
    shown = page.request.get(f"{buyer.shop_url}{refused.headers['location']}")
    assert shown.status == 409 and "We cannot ship there" in shown.text()

    # Change brings the buyer back to an address the shop ships to, and Place order returns.
    page.locator("#changeAddress").click()
    buyer.choose(address="us-home")
    assert buyer.expect_review() == session_id
    expect(page.get_by_test_id("cannot-ship")).to_have_count(0)
    expect(page.get_by_test_id("place-order")).to_have_text("Place order: $31.93")


def test_cart_changed_in_another_tab_after_review(page: Page, journey):
    """The buyer reviews one tote at $31.93, adds a mug in another tab, then clicks "Place order:
    $31.93" in the first: the shop must not send them to Amazon to pay a total they never saw
    (it may show the review again with the new total, or a problem page)."""
    buyer = journey("us")
    buyer.to_review()
    place_order = page.get_by_test_id("place-order")
    expect(place_order).to_have_text("Place order: $31.93")

    other_tab = page.context.new_page()
    other_tab.goto(buyer.shop_url)
    other_tab.get_by_test_id("product-trail-mug").get_by_role("button", name="Add to cart").click()
    expect(other_tab.get_by_test_id("cart-link")).to_have_text("Cart (2)")
    other_tab.close()

    with page.expect_response(lambda response: response.url.endswith("/checkout/place-order")) as answer:
        place_order.click()
    location = answer.value.headers.get("location", "")
    assert not location.startswith(f"{buyer.simulator_url}/checkout/processing"), (
        f"Place order answered {answer.value.status} -> {location}: the buyer is sent to Amazon to pay for a cart "
        "($51.75: tote + mug) other than the one reviewed ($31.93)"
    )
    expect(page.get_by_test_id("problem")).to_have_text("Your cart has changed")
    page.get_by_role("link", name="Review the order").click()
    expect(page.get_by_test_id("place-order")).to_have_text("Place order: $51.75")
