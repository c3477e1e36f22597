"""The saved wallet through the shop's routes, headless: Sign in with Amazon, save the wallet
at checkout, pay with it (Create Charge), update it (setupOnly + Complete with {}), remove it.

The simulator's control endpoints play the buyer on Amazon's pages; the browser-level
journey is in e2e/test_wallet.py.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from tests.support import shown_after_post, text


@pytest.fixture
def wallet_buyer(make_wallet_buyer):
    return make_wallet_buyer()


def test_sign_in_with_amazon_and_sign_out(wallet_buyer):
    page = text(wallet_buyer.sign_in())
    assert "Signed in as Jane Doe (jane.doe@example.com)" in page and "No saved wallet" in page
    signed_out = text(
        wallet_buyer.web.post("/account/sign-out", data={"csrf_token": wallet_buyer.csrf()}, follow_redirects=True)
    )
    assert "You are signed out." in signed_out and 'id="amazon-pay-signout"' in signed_out
    assert "Signed in as" not in wallet_buyer.account()


def test_a_bad_buyer_token_is_refused(wallet_buyer):
    for token in ("", "not a token!", "x" * 2000, "unknown-token"):
        answer = wallet_buyer.web.get("/account/signed-in", query_string={"buyerToken": token})
        assert answer.status_code == 400 and "Sign-in did not complete" in text(answer)


def test_save_the_wallet_at_checkout_then_see_it(wallet_buyer, sim):
    wallet_buyer.sign_in()
    wallet_buyer.add("canvas-tote")
    wallet_buyer.web.post("/cart/save-wallet", data={"csrf_token": wallet_buyer.csrf(), "save_wallet": "1"})
    payload = json.loads(wallet_buyer.button_options()["createCheckoutSessionConfig"]["payloadJSON"])
    assert payload["chargePermissionType"] == "PaymentMethodOnFile"
    result = text(wallet_buyer.checkout())
    assert "Thank you for your order" in result
    account = wallet_buyer.account()
    assert "Visa ****1111" in account and "410 Terry Ave N" in account and "Ready to use." in account


def test_pay_again_with_the_saved_wallet_once_per_click(wallet_buyer, sim):
    wallet_buyer.sign_in()
    wallet_buyer.save_wallet_at_checkout()
    wallet_buyer.add("trail-mug")
    page = wallet_buyer.account()
    assert "Pay $25.32 with Visa ****1111" in page  # ($18.00 + $5.00 shipping) + 10.1 % WA tax
    payment_request = re.search(r'name="payment_request" value="([0-9a-f]{32})"', page)[1]
    first, second = wallet_buyer.pay_with_wallet(payment_request), wallet_buyer.pay_with_wallet(payment_request)
    reference = re.search(r"(ORD-[0-9A-F]{8})", text(first))[1]
    assert "Thank you for your order" in text(first) and reference in text(second)
    assert sim.counts()["chargesPerMerchantReference"][reference] == 1
    assert "Cart (0)" in text(second)


@pytest.mark.parametrize(
    ("instrument", "outcome"), [("3434", "Your payment was not successful"), ("0701", "We have your order")]
)
def test_saved_wallet_declined_or_pending(wallet_buyer, instrument, outcome):
    wallet_buyer.sign_in()
    wallet_buyer.save_wallet_at_checkout()
    assert "Your Amazon Pay wallet is updated." in text(wallet_buyer.update_wallet(instrument=instrument))
    wallet_buyer.add("trail-mug")
    result = text(wallet_buyer.pay_with_wallet())
    assert outcome in result
    if instrument == "3434":
        assert "Please try another payment method." in result and "Cart (1)" in result


def test_update_changes_the_wallet_and_cancel_changes_nothing(wallet_buyer, sim):
    wallet_buyer.sign_in()
    wallet_buyer.save_wallet_at_checkout()
    charges_before = sim.counts()["counts"]["charges"]
    canceled = text(wallet_buyer.update_wallet(cancel=True))
    assert "Your saved wallet is unchanged." in canceled and "Visa ****1111" in canceled
    updated = text(wallet_buyer.update_wallet(instrument="0701", address="us-alaska"))
    assert "Your Amazon Pay wallet is updated." in updated
    assert "Visa ****0701" in updated and "Juneau" in updated
    assert "We do not ship to Alaska yet." not in updated  # the cart is empty: nothing to ship
    assert sim.counts()["counts"]["charges"] == charges_before  # an update never charges


def test_remove_the_saved_wallet(wallet_buyer, sim):
    wallet_buyer.sign_in()
    wallet_buyer.save_wallet_at_checkout()
    page = text(
        wallet_buyer.web.post("/account/wallet/remove", data={"csrf_token": wallet_buyer.csrf()}, follow_redirects=True)
    )
    assert "Your saved Amazon Pay wallet is removed." in page and "No saved wallet" in page


def test_visitors_who_are_not_signed_in_cannot_use_a_wallet(wallet_buyer, shop_app, sim, make_wallet_buyer):
    wallet_buyer.sign_in()
    wallet_buyer.save_wallet_at_checkout()
    stranger = make_wallet_buyer()
    stranger.add("trail-mug")
    assert "Sign in with your Amazon account" in stranger.account()
    for path in ("/account/wallet/pay", "/account/wallet/remove"):
        answer = stranger.web.post(path, data={"csrf_token": stranger.csrf(), "payment_request": "0" * 32})
        assert shown_after_post(stranger.web, answer).status_code == 403
    assert stranger.web.get("/account/wallet/updated?amazonCheckoutSessionId=x").status_code == 403
    assert "Ready to use." in wallet_buyer.account()  # untouched


def test_wallet_is_not_saved_without_sign_in(wallet_buyer, sim):
    wallet_buyer.add("canvas-tote")
    answer = wallet_buyer.web.post("/cart/save-wallet", data={"csrf_token": wallet_buyer.csrf(), "save_wallet": "1"})
    assert shown_after_post(wallet_buyer.web, answer).status_code == 403
    payload = json.loads(wallet_buyer.button_options()["createCheckoutSessionConfig"]["payloadJSON"])
    assert "chargePermissionType" not in payload


def test_a_non_chargeable_wallet_is_said_plainly_and_can_be_repaired(wallet_buyer, sim):
    wallet_buyer.sign_in()
    wallet_buyer.save_wallet_at_checkout()
    charge_permission_id = next(iter(sim.counts()["chargesPerChargePermission"]))
    answer = requests.post(
        f"{sim.url}/control/charge-permissions/{charge_permission_id}/status",
        timeout=5,
        json={"state": "NonChargeable", "reason": "PaymentMethodExpired"},
    )
    assert answer.status_code == 200, answer.text
    wallet_buyer.add("trail-mug")
    page = wallet_buyer.account()
    assert "Amazon Pay cannot charge this wallet right now (PaymentMethodExpired)" in page
    assert 'data-testid="pay-with-wallet"' not in page
    refused = wallet_buyer.pay_with_wallet("f" * 32)
    assert refused.status_code == 409 and "Your saved wallet cannot be charged" in text(refused)
    assert refused.request.path == "/problem"  # shown by a GET page, not at the form's URL
    assert "Ready to use." in text(wallet_buyer.update_wallet(instrument="1111"))
    assert "Thank you for your order" in text(wallet_buyer.pay_with_wallet())


def test_paying_with_a_wallet_removed_in_another_tab_says_so(wallet_buyer):
    wallet_buyer.sign_in()
    wallet_buyer.save_wallet_at_checkout()
    wallet_buyer.add("trail-mug")
    payment_request = re.search(r'name="payment_request" value="([0-9a-f]{32})"', wallet_buyer.account())[1]
    wallet_buyer.web.post("/account/wallet/remove", data={"csrf_token": wallet_buyer.csrf()})
    answer = wallet_buyer.pay_with_wallet(payment_request)
    assert answer.status_code == 409 and "No saved wallet" in text(answer)
