"""The saved Amazon Pay wallet (PaymentMethodOnFile): Sign in with Amazon, save the wallet at
checkout, buy again with it, update it on Amazon's hosted page (``initUpdate``, or
``initCheckout`` where checkout.js has none), a declined or NonChargeable wallet, remove it;
and a visitor who is not signed in reaches none of it.

The US shop has one test buyer (Jane Doe) for the whole session: each test signs in in its own
browser and saves a fresh wallet first, so no test depends on another's leftovers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from e2e.journey import Journey, set_charge_permission_status, simulator_counts

# One Canvas tote shipped to Seattle: $24.00 + $5.00 shipping + 10.1 % WA sales tax.
TOTE_TOTAL = "$31.93"
HOME = "Jane Doe, 410 Terry Ave N, Seattle, WA 98109, United States"
ALASKA = "Jane Doe, 1 Glacier Rd, Juneau, AK 99801, United States"

# Two submits of the "Pay … with …" form at once, as a stale tab or a page without the
# submit-once guard would send them: [status, HTML] of each answer.
_SUBMIT_TWICE_AT_ONCE = """
async (form) => {
  const send = () => fetch(form.action, {method: "POST", body: new FormData(form)});
  const answers = await Promise.all([send(), send()]);
  return Promise.all(answers.map(async (answer) => [answer.status, await answer.text()]));
}
"""


@pytest.fixture
def signed_in(journey) -> Journey:
    buyer = journey("us")
    buyer.sign_in_with_amazon()
    return buyer


@pytest.fixture
def wallet_buyer(signed_in: Journey) -> Journey:
    """Jane Doe, signed in, with a freshly saved wallet (Visa ****1111, home address)."""
    signed_in.save_wallet()
    return signed_in


def expect_wallet(page: Page, descriptor: str, address: str = HOME, state: str = "Ready to use.") -> None:
    expect(page.get_by_test_id("wallet")).to_be_visible()
    expect(page.get_by_test_id("wallet-descriptor")).to_have_text(descriptor)
    expect(page.get_by_test_id("wallet-address")).to_have_text(address)
    expect(page.get_by_test_id("wallet-state")).to_have_text(state)


def test_sign_in_with_amazon_and_sign_out(page: Page, journey, browser_errors: list[str]):
    buyer = journey("us")
    buyer.open_account()
    expect(page.get_by_test_id("account-link")).to_have_text("Sign in")
    expect(page.get_by_test_id("signed-in-buyer")).to_have_count(0)

    buyer.sign_in_with_amazon()
    expect(page.get_by_test_id("signed-in-buyer")).to_have_text("Signed in as Jane Doe (jane.doe@example.com).")
    expect(buyer.flash("Signed in as Jane Doe.")).to_be_visible()
    expect(page.get_by_test_id("account-link")).to_have_text("Your account")
    expect(page.get_by_test_id("amazon-sign-in-button")).to_have_count(0)

    # Sign out: the shop forgets the buyer, and the account page ends Amazon's session in this
    # browser too (amazon.Pay.signout(), a credentialed call to Amazon).
    signout_url = re.compile(rf"^{re.escape(buyer.simulator_url)}/checkout/signout(\?|$)")
    with page.expect_response(lambda response: bool(signout_url.match(response.url))) as signout:
        page.get_by_test_id("sign-out").click()
    assert signout.value.request.method == "GET"
    assert signout.value.json() == {"result": True}
    expect(page).to_have_url(buyer.account_url)
    expect(buyer.flash("You are signed out.")).to_be_visible()
    expect(page.get_by_test_id("signed-in-buyer")).to_have_count(0)
    expect(page.get_by_test_id("account-link")).to_have_text("Sign in")
    sign_in_button = page.get_by_test_id("amazon-sign-in-button")
    expect(sign_in_button).to_have_attribute("role", "button")

    # Amazon forgot the buyer: its sign-in page asks again instead of "Continue as Jane Doe".
    sign_in_button.click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("password")).to_be_visible()
    assert browser_errors == []


def test_save_the_wallet_at_checkout(page: Page, signed_in: Journey, browser_errors: list[str]):
    buyer = signed_in
    reference = buyer.save_wallet()
    assert buyer.charges_for(reference) == 1

    page.get_by_test_id("account-link").click()
    expect(page).to_have_url(buyer.account_url)
    expect_wallet(page, "Visa ****1111")
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.get_by_test_id("pay-with-wallet")).to_have_count(0)
    # The Charge Permission made at checkout, with that order's one charge.
    charge_permission_id = buyer.charge_permission_id()
    assert simulator_counts(buyer.simulator_url)["chargesPerChargePermission"][charge_permission_id] == 1
    assert browser_errors == []


def test_buy_again_with_the_saved_wallet(page: Page, wallet_buyer: Journey, browser_errors: list[str]):
    buyer = wallet_buyer
    buyer.add_to_cart()
    buyer.open_account()
    pay = page.get_by_test_id("pay-with-wallet")
    expect(pay).to_have_text(f"Pay {TOTE_TOTAL} with Visa ****1111")
    expect(page.get_by_role("row", name=re.compile(r"^Total "))).to_contain_text(TOTE_TOTAL)

    # An impatient double click: one order, one charge.
    outcome = buyer.pay_with_wallet(click=Locator.dblclick)
    expect(outcome).to_have_attribute("data-testid", "outcome-success")
    expect(outcome).to_have_text("Thank you for your order")
    reference = page.get_by_test_id("order-reference").inner_text()
    assert buyer.charges_for(reference) == 1
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (0)")

    buyer.open_order_page()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_role("row", name=re.compile(r"^Total "))).to_contain_text(TOTE_TOTAL)

    # The same form sent twice at once, past the page's submit-once guard: one order, one charge.
    buyer.add_to_cart()
    buyer.open_account()
    answers = page.locator("form[data-submit-once]").evaluate(_SUBMIT_TWICE_AT_ONCE)
    assert [status for status, _ in answers] == [200, 200], answers
    references = {re.search(r'data-testid="order-reference">(ORD-[0-9A-F]{8})<', html)[1] for _, html in answers}
    assert len(references) == 1 and reference not in references, references
    assert buyer.charges_for(references.pop()) == 1
    assert browser_errors == []


def test_update_the_wallet_with_and_without_init_update(page: Page, wallet_buyer: Journey, browser_errors: list[str]):
    buyer = wallet_buyer
    buyer.add_to_cart()
    buyer.open_account()
    expect(page.get_by_test_id("pay-with-wallet")).to_have_text(f"Pay {TOTE_TOTAL} with Visa ****1111")
    charge_permission_id = buyer.charge_permission_id()

    # checkout.js with Amazon's documented amazon.Pay.initUpdate (the stand-in serves it when asked):
    # Amazon's update page shows the saved choice.
    def with_init_update(route: Route) -> None:
        route.continue_(url=f"{buyer.simulator_url}/static-na/checkout.js?with=initUpdate")

    page.route(f"{buyer.simulator_url}/static-na/checkout.js", with_init_update)
    page.reload()
    assert page.evaluate("typeof amazon.Pay.initUpdate") == "function"
    buyer.start_wallet_update()
    expect(page.get_by_test_id("current-instrument")).to_contain_text("Visa ••••1111")
    expect(page.get_by_test_id("instrument-1111")).to_be_checked()
    expect(page.get_by_test_id("address-us-home")).to_be_checked()
    page.go_back()
    buyer.update_wallet(address="us-alaska", instrument="0701")
    expect_wallet(page, "Visa ****0701", address=ALASKA)
    # The same wallet, changed in place; the shop cannot ship there, so it offers no payment.
    assert buyer.charge_permission_id() == charge_permission_id
    expect(page.get_by_test_id("cannot-ship")).to_have_text(
        "We do not ship to Alaska yet. Update the address of your saved wallet."
    )
    expect(page.get_by_test_id("pay-with-wallet")).to_have_count(0)

    # Amazon's published checkout.js (the stand-in's default) has no initUpdate: the page falls
    # back to initCheckout with the same signed payload, and reaches the same update page.
    page.unroute(f"{buyer.simulator_url}/static-na/checkout.js")
    page.reload()
    expect(page.get_by_test_id("update-wallet")).to_be_visible()
    assert page.evaluate("typeof amazon.Pay.initUpdate") == "undefined"
    buyer.update_wallet(address="us-home", instrument="1111")
    expect_wallet(page, "Visa ****1111")
    assert buyer.charge_permission_id() == charge_permission_id
    expect(page.get_by_test_id("pay-with-wallet")).to_have_text(f"Pay {TOTE_TOTAL} with Visa ****1111")
    assert browser_errors == []


def test_update_canceled_on_amazon_changes_nothing(page: Page, wallet_buyer: Journey, browser_errors: list[str]):
    buyer = wallet_buyer
    buyer.open_account()
    buyer.start_wallet_update()
    page.get_by_test_id("instrument-3434").check()
    page.get_by_test_id("cancel").click()
    expect(page).to_have_url(buyer.account_url)
    expect(buyer.flash("You canceled the update. Your saved wallet is unchanged.")).to_be_visible()
    expect_wallet(page, "Visa ****1111")
    # And Amazon's side agrees: the update page opens on the old choice.
    buyer.start_wallet_update()
    expect(page.get_by_test_id("current-instrument")).to_contain_text("Visa ••••1111")
    assert browser_errors == []


def test_declined_saved_wallet_keeps_the_cart(page: Page, wallet_buyer: Journey, browser_errors: list[str]):
    buyer = wallet_buyer
    buyer.add_to_cart()
    buyer.open_account()
    buyer.update_wallet(instrument="3434")
    expect_wallet(page, "Mastercard ****3434")
    expect(page.get_by_test_id("pay-with-wallet")).to_have_text(f"Pay {TOTE_TOTAL} with Mastercard ****3434")

    outcome = buyer.pay_with_wallet()
    expect(outcome).to_have_attribute("data-testid", "outcome-failure")
    expect(outcome).to_have_text("Your payment was not successful")
    expect(page.get_by_text("Amazon Pay declined the payment. Please try another payment method.")).to_be_visible()
    expect(page.get_by_text("Nothing was charged, and your cart is still here.")).to_be_visible()
    expect(page.get_by_test_id("cart-link")).to_have_text("Cart (1)")
    # The way on is a new payment method for the saved wallet: the account's Update action.
    order_page = buyer.shop_url + page.get_by_role("link", name="Order details").get_attribute("href")
    page.get_by_role("link", name="Update payment method").click()
    expect(page).to_have_url(f"{buyer.account_url}#wallet")
    expect(page.get_by_test_id("update-wallet")).to_be_visible()
    page.goto(order_page)
    expect(page.get_by_test_id("order-status")).to_have_text("Payment failed")
    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("line-canvas-tote")).to_be_visible()
    assert browser_errors == []


def test_non_chargeable_wallet_until_updated(page: Page, wallet_buyer: Journey, browser_errors: list[str]):
    buyer = wallet_buyer
    buyer.add_to_cart()
    buyer.open_account()
    expect(page.get_by_test_id("pay-with-wallet")).to_be_visible()
    charge_permission_id = buyer.charge_permission_id()
    charges_before = simulator_counts(buyer.simulator_url)["chargesPerChargePermission"][charge_permission_id]

    # The card expires while the account page is open: its Pay button is refused, nothing charged.
    status, body = set_charge_permission_status(
        buyer.simulator_url, charge_permission_id, {"state": "NonChargeable", "reason": "PaymentMethodExpired"}
    )
    assert status == 200, body
    assert body["statusDetails"]["state"] == "NonChargeable"
    page.get_by_test_id("pay-with-wallet").click()
    expect(page.get_by_role("heading", name="Your saved wallet cannot be charged")).to_be_visible()
    pay_url = page.url
    assert simulator_counts(buyer.simulator_url)["chargesPerChargePermission"][charge_permission_id] == charges_before

    buyer.open_account()
    expect_wallet(
        page,
        "Visa ****1111",
        state="Amazon Pay cannot charge this wallet right now (PaymentMethodExpired). "
        "Please update your payment method.",
    )
    expect(page.get_by_test_id("pay-with-wallet")).to_have_count(0)
    expect(page.get_by_text("Update your wallet first")).to_be_visible()

    buyer.start_wallet_update()
    expect(page.get_by_test_id("wallet-state")).to_contain_text("Cannot be charged (PaymentMethodExpired)")
    page.go_back()
    buyer.update_wallet(instrument="1111")
    expect_wallet(page, "Visa ****1111")
    expect(page.get_by_test_id("pay-with-wallet")).to_have_text(f"Pay {TOTE_TOTAL} with Visa ****1111")
    # The refused payment's 409 is the only thing the console reported.
    assert browser_errors == [
        f"{pay_url}: Failed to load resource: the server responded with a status of 409 (CONFLICT)"
    ], browser_errors


def test_remove_the_saved_wallet(page: Page, wallet_buyer: Journey, browser_errors: list[str]):
    buyer = wallet_buyer
    buyer.open_account()
    charge_permission_id = buyer.charge_permission_id()
    # Remove asks first (a confirmation that needs no JavaScript); nothing happens until confirmed.
    expect(page.get_by_test_id("confirm-remove-wallet")).to_be_hidden()
    page.get_by_test_id("remove-wallet").click()
    expect(page.get_by_text("Remove this saved Amazon Pay wallet?")).to_be_visible()
    page.get_by_test_id("confirm-remove-wallet").click()
    expect(page).to_have_url(buyer.account_url)
    expect(buyer.flash("Your saved Amazon Pay wallet is removed.")).to_be_visible()
    expect(page.get_by_test_id("no-wallet")).to_contain_text("No saved wallet")
    expect(page.get_by_test_id("wallet")).to_have_count(0)
    expect(page.get_by_test_id("update-wallet")).to_have_count(0)
    # Closed at Amazon, not only forgotten by the shop: a Closed Charge Permission cannot change.
    status, body = set_charge_permission_status(buyer.simulator_url, charge_permission_id, {"state": "Chargeable"})
    assert status == 422, body
    assert body["reasonCode"] == "InvalidChargePermissionStatus"
    page.reload()
    expect(page.get_by_test_id("no-wallet")).to_be_visible()
    assert browser_errors == []


def test_visitor_cannot_see_or_use_the_wallet(
    page: Page, wallet_buyer: Journey, new_context, browser_errors: list[str]
):
    buyer = wallet_buyer
    buyer.add_to_cart()
    buyer.open_account()
    expect(page.get_by_test_id("pay-with-wallet")).to_be_visible()
    payment_request = page.locator("input[name=payment_request]").get_attribute("value")
    charge_permission_id = buyer.charge_permission_id()
    charges_before = simulator_counts(buyer.simulator_url)["chargesPerChargePermission"][charge_permission_id]

    visitor_context = new_context()
    visitor_context.set_default_timeout(10_000)
    visitor = visitor_context.new_page()
    shop = buyer.shop_url
    visitor.goto(f"{shop}/account")
    expect(visitor.get_by_test_id("amazon-sign-in-button")).to_have_attribute("role", "button")
    for test_id in ("signed-in-buyer", "wallet", "no-wallet", "pay-with-wallet", "remove-wallet", "update-wallet"):
        expect(visitor.get_by_test_id(test_id)).to_have_count(0)
    expect(visitor.locator("#amazon-pay-update-options")).to_have_count(0)

    # Even with a cart, a valid CSRF token of its own (a bad one would be a 400) and the buyer's
    # own payment request, the visitor's posts are refused.
    visitor.goto(shop)
    visitor.get_by_test_id("product-canvas-tote").get_by_role("button", name="Add to cart").click()
    expect(visitor).to_have_url(f"{shop}/cart")
    csrf_token = visitor.locator("input[name=csrf_token]").first.get_attribute("value")
    pay = visitor.request.post(
        f"{shop}/account/wallet/pay", form={"csrf_token": csrf_token, "payment_request": payment_request}
    )
    assert pay.status == 403, pay.status
    assert "Sign in with Amazon to use your saved wallet." in pay.text()
    remove = visitor.request.post(f"{shop}/account/wallet/remove", form={"csrf_token": csrf_token})
    assert remove.status == 403, remove.status
    save = visitor.request.post(f"{shop}/cart/save-wallet", form={"csrf_token": csrf_token, "save_wallet": "1"})
    assert save.status == 403, save.status
    updated = visitor.request.get(
        f"{shop}/account/wallet/updated?amazonCheckoutSessionId=00000000-0000-0000-0000-000000000000"
    )
    assert updated.status == 403, updated.status

    # The buyer's wallet is untouched: still there, still chargeable, not charged.
    page.reload()
    expect_wallet(page, "Visa ****1111")
    expect(page.get_by_test_id("pay-with-wallet")).to_have_text(f"Pay {TOTE_TOTAL} with Visa ****1111")
    assert buyer.charge_permission_id() == charge_permission_id
    assert simulator_counts(buyer.simulator_url)["chargesPerChargePermission"][charge_permission_id] == charges_before
    assert browser_errors == []
