"""A purchase with the keyboard alone: Tab to move, Enter or Space to press; no mouse, no
``click()``. From the catalog through the cart, the Amazon Pay button (the simulator's
checkout.js draws it, as Amazon's does), Amazon's sign-in and "Continue as" pages, review and
Place order to the result and the order page. Every control reached shows where the focus is.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from e2e.journey import CHOOSER, Journey

MAX_TABS = 40  # more than any page here needs to reach its main action

# The element that has the focus, inside shadow roots too (the Amazon Pay button draws in one),
# and whether the browser shows a focus indicator on it: an outline or a box shadow.
_FOCUSED = """
() => {
  let element = document.activeElement;
  while (element && element.shadowRoot && element.shadowRoot.activeElement) element = element.shadowRoot.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    text: (element.innerText || element.value || element.getAttribute("aria-label") || "").trim().slice(0, 60),
    visible: element.matches(":focus-visible") && (outline || style.boxShadow !== "none"),
  };
}
"""


_HAS_FOCUS = "(element) => element === document.activeElement || element.contains(document.activeElement)"


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` (or something inside it, such as a shadow root's button) has
    the focus; it must show a focus indicator."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate(_HAS_FOCUS):
            focused = page.evaluate(_FOCUSED)
            assert focused and focused["visible"], f"no visible focus indicator on {focused}"
            return
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {target}; the focus is on {page.evaluate(_FOCUSED)}")


def test_buy_with_the_keyboard_only(page: Page, journey):
    buyer: Journey = journey("us")
    page.goto(buyer.shop_url)

    tab_to(page, page.get_by_test_id("product-canvas-tote").get_by_role("button", name="Add to cart"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{buyer.shop_url}/cart")
    expect(page.get_by_test_id("line-canvas-tote")).to_be_visible()

    tab_to(page, buyer.amazon_pay_button())
    page.keyboard.press("Space")  # a role="button" <div>: Space presses it, as Enter does
    expect(page).to_have_url(re.compile(rf"^{re.escape(buyer.simulator_url)}/checkout/signin\?"))

    # Amazon's sign-in page: the test buyer's e-mail is filled in, any password is accepted.
    expect(page.get_by_test_id("email")).to_have_value(buyer.buyer.email)
    tab_to(page, page.get_by_test_id("sign-in"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Continue as {buyer.buyer.name}")).to_be_visible()
    tab_to(page, page.get_by_test_id("continue"))
    page.keyboard.press("Enter")

    buyer.expect_review()
    tab_to(page, page.get_by_test_id("place-order"))
    page.keyboard.press("Enter")  # Amazon's processing page sends the buyer back by itself
    expect(page).to_have_url(re.compile(rf"^{re.escape(buyer.shop_url)}/checkout/result\?"))
    expect(buyer.outcome()).to_have_attribute("data-testid", "outcome-success")
    reference = page.get_by_test_id("order-reference").inner_text()

    tab_to(page, page.get_by_role("link", name="Order details"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{buyer.shop_url}/orders/{reference}")
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    assert buyer.charges_for(reference) == 1


def test_the_review_page_change_buttons_work_with_the_keyboard(page: Page, journey):
    """Change (bound by amazon.Pay.bindChangeAction) is a real <button>: Enter sends the buyer to
    Amazon's chooser, where Tab and Space pick another payment method."""
    buyer: Journey = journey("us")
    buyer.to_review()
    tab_to(page, page.locator("#changePayment"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(CHOOSER)
    expect(page.get_by_role("heading", name="Change the payment method")).to_be_visible()
    tab_to(page, page.get_by_test_id("instrument-1111"))  # Tab enters a radio group at its checked radio
    page.keyboard.press("ArrowDown")  # and arrows move through it (as in every browser)
    focused = page.evaluate(_FOCUSED)
    assert focused and focused["visible"], focused
    page.keyboard.press("Space")
    expect(page.get_by_test_id("instrument-1111")).not_to_be_checked()
    tab_to(page, page.get_by_test_id("continue"))
    page.keyboard.press("Enter")
    buyer.expect_review()
    expect(page.get_by_test_id("payment-descriptor")).not_to_contain_text("****1111")
