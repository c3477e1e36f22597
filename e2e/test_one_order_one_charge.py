"""Reloads, second tabs and impatient clicks: one order, one charge, the same answer.

The simulator serves every test of the session, so charges are counted per order reference
(``/control/counts``' ``chargesPerMerchantReference``), never as global totals."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

# Two submits of the Place order form at once, as two fast clicks without the page's
# submit-once guard (or a double-submit from a stale tab) would send them.
_SUBMIT_TWICE_AT_ONCE = """
async (form) => {
  const send = () => fetch(form.action, {method: "POST", body: new FormData(form), redirect: "manual"});
  const answers = await Promise.all([send(), send()]);
  return answers.map((answer) => answer.type);
}
"""


def test_reload_and_second_tab_show_the_same_order(page: Page, journey):
    buyer = journey("us")
    buyer.to_review()
    review_url = page.url
    expect(buyer.place_order()).to_have_attribute("data-testid", "outcome-success")
    reference = page.get_by_test_id("order-reference").inner_text()
    result_url = page.url

    page.reload()
    expect(page.get_by_test_id("outcome-success")).to_be_visible()
    expect(page.get_by_test_id("order-reference")).to_have_text(reference)

    second_tab = page.context.new_page()
    second_tab.goto(result_url)
    expect(second_tab.get_by_test_id("outcome-success")).to_be_visible()
    expect(second_tab.get_by_test_id("order-reference")).to_have_text(reference)
    second_tab.close()

    assert buyer.charges_for(reference) == 1
    buyer.open_order_page()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_test_id("order-steps").get_by_role("listitem")).to_have_count(2)  # ordered, paid
    history = buyer.back_office_history(reference).get_by_role("listitem").filter(has_text="payment authorized")
    expect(history).to_have_count(1)

    # The review page again (history, a bookmark): the order, not a second checkout.
    page.goto(review_url)
    expect(page).to_have_url(f"{buyer.shop_url}/orders/{reference}")


def test_double_click_on_place_order(page: Page, journey):
    buyer = journey("us")
    buyer.to_review()
    outcome = buyer.place_order(click=Locator.dblclick)
    expect(outcome).to_have_attribute("data-testid", "outcome-success")
    reference = page.get_by_test_id("order-reference").inner_text()
    assert buyer.charges_for(reference) == 1


def test_place_order_submitted_twice_at_once(page: Page, journey):
    buyer = journey("uk")
    buyer.to_review(address="uk-home")
    form = page.locator("form[data-submit-once]")
    answers = form.evaluate(_SUBMIT_TWICE_AT_ONCE)
    assert answers == ["opaqueredirect", "opaqueredirect"]  # both 303 to Amazon, no problem page
    outcome = buyer.place_order(return_now=True)  # and the buyer's own click, a third submit
    expect(outcome).to_have_attribute("data-testid", "outcome-success")
    reference = page.get_by_test_id("order-reference").inner_text()
    assert buyer.charges_for(reference) == 1
    buyer.open_order_page()
    expect(page.get_by_test_id("order-steps").get_by_role("listitem").filter(has_text="Ordered")).to_have_count(1)
    history = buyer.back_office_history(reference)
    expect(history.get_by_role("listitem").filter(has_text="Order placed")).to_have_count(1)
