"""Saved wallets (PaymentMethodOnFile) against the simulator: what the shop's account pages do.

- Save the wallet at checkout (a PaymentMethodOnFile payload, ``setupOnly: false``) and Complete.
- Buy again: Create Charge on the saved Charge Permission (CITU, Web), outcomes by its instrument.
- The wallet turns NonChargeable (a test control), Create Charge is refused, the buyer fixes it on
  Amazon's hosted update page (a setupOnly payload with ``chargePermissionId``, through
  ``/checkout/initiate`` as checkout.js's ``initUpdate``/``initCheckout`` posts it), the shop
  Completes with ``{}`` (Amazon's hosted-update-page guide: "use Complete Checkout Session"), and
  the wallet is Chargeable again, with no charge made.
- Sign in with Amazon through the hosted pages, and the checkout.js stand-in as Amazon publishes
  it (no ``initUpdate``) and with ``initUpdate`` (run in Node with a minimal DOM).

The API side runs over real HTTP (AmazonPayClient -> ``sim``); the buyer's browser is Flask's test
client of the same simulator app (``tab``), so both see one store.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import simulator
from shop.amazon_pay import AmazonPayError, signing
from tests.support import PUBLIC_KEY_ID, STORE_ID

USD_25 = {"amount": "25.00", "currencyCode": "USD"}
USD_10 = {"amount": "10.00", "currencyCode": "USD"}
SHOP = "http://shop.test"
REVIEW_URL = f"{SHOP}/checkout/review"
RESULT_URL = f"{SHOP}/checkout/result"
UPDATED_URL = f"{SHOP}/account/wallet/updated"
UPDATE_CANCEL_URL = f"{SHOP}/account/wallet/update-canceled"
WALLET_PAGE = f"{SHOP}/account"
HTML = {"Accept": "text/html,application/xhtml+xml"}
SCOPES = ["name", "email", "phoneNumber", "billingAddress", "shippingAddress"]
NO_PO_BOXES = {"specialRestrictions": ["RestrictPOBoxes"]}
SAVE_WALLET = {"chargePermissionType": "PaymentMethodOnFile", "paymentMethodOnFileMetadata": {"setupOnly": False}}


def error_of(call, *args, **kwargs) -> AmazonPayError:
    with pytest.raises(AmazonPayError) as caught:
        call(*args, **kwargs)
    return caught.value


def serialise(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


# -- the API side: save, buy again ----------------------------------------------------------------


def save_wallet(client, buyer, instrument="1111", pending=False, outcome=None, **choice) -> dict:
    """The shop's checkout with "save my wallet": PMOF payload, Update (Authorize), Complete."""
    payload = buyer.button_payload(**SAVE_WALLET)
    session_id = buyer.sign_in(payload=payload, instrument=instrument, **choice)
    currency = "EUR" if choice.get("region") == "eu" else "USD"
    client.update_checkout_session(
        session_id,
        {
            "webCheckoutDetails": {"checkoutResultReturnUrl": RESULT_URL},
            "paymentDetails": {
                "paymentIntent": "Authorize",
                "canHandlePendingAuthorization": pending,
                "chargeAmount": {"amount": "25.00", "currencyCode": currency},
            },
            "merchantMetadata": {"merchantReferenceId": f"order-{session_id[:8]}"},
        },
    )
    assert buyer.pass_redirect(session_id, outcome).status_code == 200
    done = client.complete_checkout_session(session_id, {"chargeAmount": {"amount": "25.00", "currencyCode": currency}})
    return done.body | {"status": done.status}


def buy_again(client, cp_id: str, key: str | None = None, pending=False, capture=True, headers=None):
    """The shop's "Buy again": a customer-initiated charge on the saved wallet."""
    return client.create_charge(
        {
            "chargePermissionId": cp_id,
            "chargeAmount": USD_10,
            "captureNow": capture,
            "chargeInitiator": "CITU",
            "channel": "Web",
            "canHandlePendingAuthorization": pending,
            "merchantMetadata": {"merchantReferenceId": key or "again-1"},
        },
        idempotency_key=key,
        headers=headers,
    )


def set_status(sim, cp_id: str, **body) -> requests.Response:
    return requests.post(f"{sim.url}/control/charge-permissions/{cp_id}/status", json=body, timeout=5)


def test_save_wallet_at_checkout(client, buyer, sim):
    done = save_wallet(client, buyer)
    assert done["status"] == 200 and done["chargePermissionType"] == "PaymentMethodOnFile"
    assert done["paymentMethodOnFileMetadata"] == {"setupOnly": False}
    charge = client.get_charge(done["chargeId"]).body
    assert charge["statusDetails"]["state"] == "Authorized" and charge["chargeAmount"] == USD_25
    wallet = client.get_charge_permission(done["chargePermissionId"]).body
    assert wallet["chargePermissionType"] == "PaymentMethodOnFile"
    assert wallet["statusDetails"] == {
        "state": "Chargeable",
        "reasons": None,
        "lastUpdatedTimestamp": wallet["statusDetails"]["lastUpdatedTimestamp"],
    }
    assert wallet["paymentPreferences"][0]["paymentDescriptor"] == "Visa ****1111"
    assert wallet["shippingAddress"]["city"] == "Seattle" and wallet["buyer"]["email"] == "jane.doe@example.com"
    # Not capped by its first order, and no expiry: as in Amazon's answers kept by the .NET SDK's tests
    # (https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK.Tests/WebStore/ChargePermission/ChargePermissionResponseTests.cs).
    assert wallet["limits"] == {"amountLimit": None, "amountBalance": None}
    assert wallet["expirationTimestamp"] is None and wallet["paymentMethodOnFileMetadata"] == {"setupOnly": False}
    assert sim.counts()["counts"] == {"checkoutSessions": 1, "chargePermissions": 1, "charges": 1}


def test_buy_again_charges_the_saved_wallet_once_per_key(client, buyer, sim):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    first = buy_again(client, cp_id, key="again-order-7")
    body = first.body
    assert first.status == 201 and body["statusDetails"]["state"] == "Captured"
    assert (body["chargeInitiator"], body["channel"], body["captureAmount"]) == ("CITU", "Web", USD_10)
    assert body["merchantMetadata"]["merchantReferenceId"] == "again-order-7"
    replay = buy_again(client, cp_id, key="again-order-7")  # a retried request: the same charge
    assert replay.status == 201 and replay.body["chargeId"] == body["chargeId"]
    assert sim.counts()["chargesPerChargePermission"][cp_id] == 2  # the checkout's and this one
    authorized = buy_again(client, cp_id, key="again-order-8", capture=False)
    assert authorized.body["statusDetails"]["state"] == "Authorized"


@pytest.mark.parametrize("pending", [False, True])
def test_buy_again_declined_3434(client, buyer, sim, pending):
    # A 3434 checkout itself is declined; the control's outcome lets the wallet be saved anyway.
    cp_id = save_wallet(client, buyer, instrument="3434", outcome="Success")["chargePermissionId"]
    error = error_of(buy_again, client, cp_id, key="again-declined", pending=pending)
    assert (error.status, error.reason_code) == (422, "HardDeclined")
    assert sim.counts()["chargesPerChargePermission"][cp_id] == 1
    # The wallet itself stays Chargeable: a decline is about one charge.
    assert client.get_charge_permission(cp_id).body["statusDetails"]["state"] == "Chargeable"
    # A simulation code overrides the instrument, as Amazon's sandbox page says.
    overridden = buy_again(
        client, cp_id, key="again-code", headers={"x-amz-pay-simulation-code": "AuthorizationInitiated"}
    )
    assert overridden.body["statusDetails"]["state"] == "AuthorizationInitiated"
    sim.advance(31)
    assert client.get_charge(overridden.body["chargeId"]).body["statusDetails"]["state"] == "Captured"


def test_buy_again_pending_then_declined_4354(client, buyer, sim):
    cp_id = save_wallet(client, buyer, instrument="4354", pending=True)["chargePermissionId"]
    error = error_of(buy_again, client, cp_id, key="again-4354-sync")
    assert (error.status, error.reason_code) == (422, "HardDeclined")
    pending = buy_again(client, cp_id, key="again-4354", pending=True)
    assert pending.status == 201 and pending.body["statusDetails"]["state"] == "AuthorizationInitiated"
    sim.advance(31)
    details = client.get_charge(pending.body["chargeId"]).body["statusDetails"]
    assert (details["state"], details["reasonCode"]) == ("Declined", "HardDeclined")


@pytest.mark.parametrize(("capture", "final"), [(False, "Authorized"), (True, "Captured")])
def test_buy_again_pending_0701(client, buyer, sim, capture, final):
    saved = save_wallet(client, buyer, instrument="0701", pending=True)
    assert saved["status"] == 202  # the checkout's own charge was pending too
    charge = buy_again(
        client, saved["chargePermissionId"], key=f"again-pending-{capture}", pending=True, capture=capture
    )
    assert charge.status == 201 and charge.body["statusDetails"]["state"] == "AuthorizationInitiated"
    sim.advance(31)
    assert client.get_charge(charge.body["chargeId"]).body["statusDetails"]["state"] == final


def test_buy_again_0701_without_pending_support_authorizes_at_once(client, buyer):
    cp_id = save_wallet(client, buyer, instrument="0701", pending=True)["chargePermissionId"]
    charge = buy_again(client, cp_id, key="again-sync", capture=False)
    assert charge.status == 201 and charge.body["statusDetails"]["state"] == "Authorized"


@pytest.mark.parametrize(
    ("code", "status", "state"),
    [
        ("HardDeclined", 422, None),
        ("SoftDeclined", 422, None),
        ("TransactionTimedOut", 422, None),
        ("AuthorizationInitiated", 201, "AuthorizationInitiated"),
    ],
)
def test_buy_again_simulation_codes(client, buyer, code, status, state):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    headers = {"x-amz-pay-simulation-code": code}
    if status == 422:
        error = error_of(buy_again, client, cp_id, key=f"sim-{code}", headers=headers)
        assert (error.status, error.reason_code) == (422, code)
    else:
        charge = buy_again(client, cp_id, key=f"sim-{code}", pending=True, headers=headers)
        assert charge.status == status and charge.body["statusDetails"]["state"] == state


# -- NonChargeable, Closed (test control, Close Charge Permission) ----------------------------------


def test_non_chargeable_wallet_refuses_charges_until_chargeable(client, buyer, sim):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    answer = set_status(sim, cp_id, state="NonChargeable", reason="PaymentMethodExpired")
    assert answer.status_code == 200 and answer.json()["statusDetails"]["state"] == "NonChargeable"
    details = client.get_charge_permission(cp_id).body["statusDetails"]
    assert details["state"] == "NonChargeable"
    assert details["reasons"] == [{"reasonCode": "PaymentMethodExpired", "reasonDescription": None}]
    error = error_of(buy_again, client, cp_id, key="again-expired")
    assert (error.status, error.reason_code) == (422, "InvalidChargePermissionStatus")
    assert sim.counts()["chargesPerChargePermission"][cp_id] == 1

    both = set_status(sim, cp_id, state="NonChargeable", reasons=["PaymentMethodInvalid", "BillingAddressDeleted"])
    assert [r["reasonCode"] for r in both.json()["statusDetails"]["reasons"]] == [
        "PaymentMethodInvalid",
        "BillingAddressDeleted",
    ]
    assert set_status(sim, cp_id, state="Chargeable").json()["statusDetails"]["reasons"] is None
    assert buy_again(client, cp_id, key="again-fixed").status == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"state": "NonChargeable"}, 400, "MissingParameterValue"),
        ({"state": "NonChargeable", "reason": "MerchantClosed"}, 400, "InvalidParameterValue"),
        ({"state": "Chargeable", "reason": "PaymentMethodExpired"}, 400, "InvalidParameterValue"),
        ({"state": "Expired"}, 400, "InvalidParameterValue"),
        ({"reason": "PaymentMethodExpired"}, 400, "MissingParameterValue"),
        ({"state": "NonChargeable", "reasons": "PaymentMethodExpired"}, 400, "InvalidParameterValue"),
        ({"state": "NonChargeable", "reason": "MFAFailed", "reasons": ["MFAFailed"]}, 400, "InvalidParameterValue"),
    ],
)
def test_status_control_rejects_bad_bodies(client, buyer, sim, body, status, code):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    answer = set_status(sim, cp_id, **body)
    assert (answer.status_code, answer.json()["reasonCode"]) == (status, code)
    assert client.get_charge_permission(cp_id).body["statusDetails"]["state"] == "Chargeable"


def test_status_control_unknown_charge_permission(sim):
    answer = set_status(sim, "S01-0000000-0000000", state="Chargeable")
    assert (answer.status_code, answer.json()["reasonCode"]) == (404, "ResourceNotFound")


def test_close_wallet_is_final(client, buyer, sim):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    closed = client.close_charge_permission(cp_id, {"closureReason": "Buyer removed the wallet"})
    details = closed.body["statusDetails"]
    assert details["state"] == "Closed" and details["reasons"][0]["reasonCode"] == "MerchantClosed"
    error = error_of(buy_again, client, cp_id, key="again-closed")
    assert (error.status, error.reason_code) == (422, "InvalidChargePermissionStatus")
    answer = set_status(sim, cp_id, state="Chargeable")
    assert (answer.status_code, answer.json()["reasonCode"]) == (422, "InvalidChargePermissionStatus")


def test_buyer_closes_the_wallet_at_amazon(client, buyer, sim):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    assert set_status(sim, cp_id, state="Closed", reason="BuyerClosed").status_code == 200
    details = client.get_charge_permission(cp_id).body["statusDetails"]
    assert (details["state"], details["reasons"][0]["reasonCode"]) == ("Closed", "BuyerClosed")
    error = error_of(client.close_charge_permission, cp_id, {"closureReason": "again"})
    assert (error.status, error.reason_code) == (422, "InvalidChargePermissionStatus")


# -- the hosted update page (what initUpdate / initCheckout post) -----------------------------------


@pytest.fixture
def tab(sim):
    """The buyer's browser on Amazon's side: the simulator app that ``client`` also talks to."""
    return sim.app.test_client()


def update_payload(cp_id: str, product_type: str = "PayAndShip", **extra) -> str:
    """Exactly what the shop signs for the update page."""
    payload = {
        "webCheckoutDetails": {
            "checkoutResultReturnUrl": UPDATED_URL,
            "checkoutCancelUrl": UPDATE_CANCEL_URL,
            "checkoutMode": "ProcessOrder",
        },
        "storeId": STORE_ID,
        "scopes": SCOPES if product_type == "PayAndShip" else ["name", "email", "billingAddress"],
        "chargePermissionType": "PaymentMethodOnFile",
        "chargePermissionId": cp_id,
        "paymentMethodOnFileMetadata": {"setupOnly": True},
        "paymentDetails": {"paymentIntent": "Confirm", "canHandlePendingAuthorization": False},
    }
    if product_type == "PayAndShip":
        payload["deliverySpecifications"] = NO_PO_BOXES
    payload.update(extra)
    return serialise(payload)


def initiate_form(private_key, payload: str, product_type="PayAndShip", ledger="USD", **fields) -> dict:
    """The hidden form checkout.js posts (initUpdate and initCheckout post the same one)."""
    return {
        "payloadJSON": payload,
        "signature": signing.sign_button_payload(payload, private_key, signing.ALGORITHM_V2),
        "publicKeyId": PUBLIC_KEY_ID,
        "publicKeyIdMismatch": "false",
        "algorithm": signing.ALGORITHM_V2,
        "checkoutLanguage": {"USD": "en_US", "EUR": "de_DE"}[ledger],
        "ledgerCurrency": ledger,
        "merchantId": "A1TESTMERCHANT00",
        "productType": product_type,
        "placement": "Other",
        "environment": "SANDBOX",
        "sandbox": "true",
        "merchantDomain": "shop.test",
        "origin_url": WALLET_PAGE,
        "viewType": "redirectView",
        **fields,
    }


def session_id_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["amazonCheckoutSessionId"][0]


def links(page: str) -> dict[str, str]:
    return {
        testid: html.unescape(href) for href, testid in re.findall(r'<a href="([^"]*)" data-testid="([^"]*)"', page)
    }


def radio(page: str, input_id: str) -> str:
    found = re.search(rf'<input type="radio"[^>]*id="{re.escape(input_id)}"[^>]*>', page)
    assert found, f"no radio {input_id}"
    return found.group(0)


def open_update_page(tab, private_key, cp_id: str, product_type="PayAndShip", form=None, email="jane.doe@example.com"):
    """initiate -> sign in -> the update page; returns (session id, the page's response)."""
    form = form or initiate_form(private_key, update_payload(cp_id, product_type), product_type)
    started = tab.post("/checkout/initiate", data=form)
    assert started.status_code == 303 and started.location.startswith("/checkout/signin?"), started.text
    session_id = session_id_of(started.location)
    signed_in = tab.post("/checkout/signin", data={"amazonCheckoutSessionId": session_id, "email": email})
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.location == f"/checkout/update?amazonCheckoutSessionId={session_id}"
    return session_id, tab.get(signed_in.location)


def continue_update(tab, session_id: str, **choice) -> str:
    """Continue on the update page, then through processing; returns the result URL."""
    response = tab.post("/checkout/update", data={"amazonCheckoutSessionId": session_id, **choice})
    assert response.status_code == 303, response.text
    assert response.location == f"http://localhost/checkout/processing?amazonCheckoutSessionId={session_id}"
    processing = tab.get(response.location, headers=HTML)
    assert processing.status_code == 200 and "Saving your payment method" in processing.text
    return links(processing.text)["return-to-shop"]


def test_save_wallet_checkout_through_the_hosted_pages(client, sim, tab, private_key):
    """The cart button with a PaymentMethodOnFile payload: chooser (never "Continue as"),
    review, Update (Authorize), amazonPayRedirectUrl, Complete."""
    payload = {
        "webCheckoutDetails": {"checkoutReviewReturnUrl": REVIEW_URL, "checkoutCancelUrl": f"{SHOP}/cart"},
        "storeId": STORE_ID,
        "scopes": SCOPES,
        "deliverySpecifications": NO_PO_BOXES,
        **SAVE_WALLET,
    }
    started = tab.post("/checkout/initiate", data=initiate_form(private_key, serialise(payload), placement="Cart"))
    session_id = session_id_of(started.location)
    signed_in = tab.post(
        "/checkout/signin", data={"amazonCheckoutSessionId": session_id, "email": "jane.doe@example.com"}
    )
    assert signed_in.status_code == 303 and signed_in.location.startswith("/checkout/choose?")
    choice = {"amazonCheckoutSessionId": session_id, "address": "us-home", "instrument": "1111"}
    chosen = tab.post("/checkout/choose", data=choice)
    assert chosen.location == f"{REVIEW_URL}?amazonCheckoutSessionId={session_id}"
    updated = client.update_checkout_session(
        session_id,
        {
            "webCheckoutDetails": {"checkoutResultReturnUrl": RESULT_URL},
            "paymentDetails": {
                "paymentIntent": "Authorize",
                "canHandlePendingAuthorization": True,
                "chargeAmount": USD_25,
            },
        },
    ).body
    redirect_url = urlsplit(updated["webCheckoutDetails"]["amazonPayRedirectUrl"])
    processing = tab.get(f"{redirect_url.path}?{redirect_url.query}", headers=HTML)
    assert "Processing your payment" in processing.text
    assert links(processing.text)["return-to-shop"] == f"{RESULT_URL}?amazonCheckoutSessionId={session_id}"
    done = client.complete_checkout_session(session_id, {"chargeAmount": USD_25})
    assert done.status == 200 and done.body["chargeId"]
    wallet = client.get_charge_permission(done.body["chargePermissionId"]).body
    assert (wallet["chargePermissionType"], wallet["statusDetails"]["state"]) == ("PaymentMethodOnFile", "Chargeable")


def test_expired_wallet_fixed_on_the_update_page(client, buyer, sim, tab, private_key):
    saved = save_wallet(client, buyer, address="us-home")
    cp_id = saved["chargePermissionId"]
    set_status(sim, cp_id, state="NonChargeable", reason="PaymentMethodExpired")
    assert error_of(buy_again, client, cp_id, key="before-fix").reason_code == "InvalidChargePermissionStatus"
    before = sim.counts()["counts"]

    session_id, page = open_update_page(tab, private_key, cp_id)
    text = page.text
    assert page.status_code == 200
    assert "<h1>Update your Amazon Pay payment method and address</h1>" in text
    assert "Cannot be charged (PaymentMethodExpired)" in text
    assert 'data-testid="current-instrument">Visa ••••1111 — success<' in text
    assert "checked" in radio(text, "address-us-home") and "checked" in radio(text, "instrument-1111")
    assert "disabled" in radio(text, "address-us-po-box")  # deliverySpecifications: no PO boxes
    assert links(text)["cancel"] == UPDATE_CANCEL_URL
    assert "<script" not in text and "script-src 'none'" in page.headers["Content-Security-Policy"]

    result_url = continue_update(tab, session_id, address="ca-home", instrument="0701")
    assert result_url == f"{UPDATED_URL}?amazonCheckoutSessionId={session_id}"

    session = client.get_checkout_session(session_id).body
    assert session["chargePermissionId"] == cp_id and session["statusDetails"]["state"] == "Open"
    assert client.get_charge_permission(cp_id).body["statusDetails"]["state"] == "NonChargeable"  # not yet Completed
    done = client.complete_checkout_session(session_id, {})
    assert done.status == 200 and done.body["statusDetails"]["state"] == "Completed"
    assert done.body["chargeId"] is None and done.body["chargePermissionId"] == cp_id

    wallet = client.get_charge_permission(cp_id).body
    assert wallet["statusDetails"]["state"] == "Chargeable" and wallet["statusDetails"]["reasons"] is None
    assert wallet["paymentPreferences"][0]["paymentDescriptor"] == "Visa ****0701"
    assert wallet["shippingAddress"]["countryCode"] == "CA"
    assert sim.counts()["counts"] == {**before, "checkoutSessions": before["checkoutSessions"] + 1}  # no charge
    assert buy_again(client, cp_id, key="after-fix", capture=False).status == 201


def test_complete_with_an_empty_body_confirms_an_update(client, buyer, sim, tab, private_key):
    """The documented web call: "use Complete Checkout Session to confirm", request body ``{ }``,
    "chargeAmount is not required for Saved Wallet setup intent flow"
    (https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/steps-to-integrate-with-amazon-pay-hosted-update-page.html,
    https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile-setupintent/verify-and-complete-checkout.html)."""
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    session_id, _page = open_update_page(tab, private_key, cp_id)
    continue_update(tab, session_id, address="us-alaska", instrument="1111")
    done = client.complete_checkout_session(session_id, {}, idempotency_key=f"update-{session_id[:20]}")
    assert done.status == 200 and done.body["chargeId"] is None
    assert done.body["statusDetails"]["state"] == "Completed" and done.body["chargePermissionId"] == cp_id
    assert client.get_charge_permission(cp_id).body["shippingAddress"]["stateOrRegion"] == "AK"
    assert sim.counts()["counts"]["charges"] == 1 and sim.counts()["counts"]["chargePermissions"] == 1


def test_complete_of_an_update_takes_no_amount(client, buyer, tab, private_key):
    """Nothing is charged, so an amount is refused (a SIMULATOR CHOICE, under Known differences in
    docs/simulator.md); the documented ``{}`` then works."""
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    session_id, _page = open_update_page(tab, private_key, cp_id)
    continue_update(tab, session_id, address="us-home", instrument="1111")
    error = error_of(client.complete_checkout_session, session_id, {"chargeAmount": USD_10})
    assert (error.status, error.reason_code) == (400, "InvalidParameterCombination")
    assert client.complete_checkout_session(session_id, {}).body["chargeId"] is None


def test_a_new_wallet_set_up_without_a_payment_completes_with_an_empty_body(client, buyer, sim):
    """Saved-wallet setup with ``setupOnly: true``: Complete ``{}`` makes a PaymentMethodOnFile
    Charge Permission and no Charge
    (https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile-setupintent/verify-and-complete-checkout.html)."""
    payload = buyer.button_payload(
        webCheckoutDetails={"checkoutResultReturnUrl": RESULT_URL, "checkoutMode": "ProcessOrder"},
        chargePermissionType="PaymentMethodOnFile",
        paymentMethodOnFileMetadata={"setupOnly": True},
        paymentDetails={"paymentIntent": "Confirm"},
    )
    session_id = buyer.sign_in(payload=payload, instrument="1111")
    assert buyer.pass_redirect(session_id).status_code == 200
    done = client.complete_checkout_session(session_id, {})
    assert done.status == 200 and done.body["chargeId"] is None
    wallet = client.get_charge_permission(done.body["chargePermissionId"]).body
    assert wallet["chargePermissionType"] == "PaymentMethodOnFile" and wallet["statusDetails"]["state"] == "Chargeable"
    assert sim.counts()["counts"].get("charges", 0) == 0


@pytest.mark.parametrize("body", [{}, {"paymentIntent": "Confirm"}])
def test_finalize_still_confirms_an_update(client, buyer, sim, tab, private_key, body):
    """Finalize stays for the flows that use it (app checkout, Buy Now); on a web update it is
    accepted too, whether Amazon does is unknown (docs/simulator.md, Known differences)."""
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    session_id, _page = open_update_page(tab, private_key, cp_id)
    continue_update(tab, session_id, address="us-alaska", instrument="1111")
    done = client.finalize_checkout_session(session_id, body, idempotency_key=f"update-{session_id[:20]}")
    assert done.status == 200 and done.body["chargeId"] is None
    assert client.get_charge_permission(cp_id).body["shippingAddress"]["stateOrRegion"] == "AK"


def test_finalize_refuses_a_payment_on_an_update(client, buyer, tab, private_key):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    session_id, _page = open_update_page(tab, private_key, cp_id)
    continue_update(tab, session_id, address="us-home", instrument="1111")
    error = error_of(
        client.finalize_checkout_session, session_id, {"paymentIntent": "Authorize", "chargeAmount": USD_10}
    )
    assert (error.status, error.reason_code) == (400, "InvalidParameterCombination")
    assert client.finalize_checkout_session(session_id, {}).body["chargeId"] is None


def test_update_can_save_a_card_that_will_decline(client, buyer, sim, tab, private_key):
    """Saving charges nothing, so 3434 is saved; the next Create Charge is the one declined."""
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    session_id, _page = open_update_page(tab, private_key, cp_id)
    continue_update(tab, session_id, address="us-home", instrument="3434")
    client.complete_checkout_session(session_id, {})
    wallet = client.get_charge_permission(cp_id).body
    assert wallet["paymentPreferences"][0]["paymentDescriptor"] == "Mastercard ****3434"
    assert error_of(buy_again, client, cp_id, key="declines").reason_code == "HardDeclined"


def test_pay_only_update_changes_the_payment_method_only(client, buyer, sim, tab, private_key):
    cp_id = save_wallet(client, buyer, address="us-alaska")["chargePermissionId"]
    session_id, page = open_update_page(tab, private_key, cp_id, product_type="PayOnly")
    assert "<h1>Update your Amazon Pay payment method</h1>" in page.text
    assert 'name="address"' not in page.text and "checked" in radio(page.text, "instrument-1111")
    continue_update(tab, session_id, instrument="0701")
    client.complete_checkout_session(session_id, {})
    wallet = client.get_charge_permission(cp_id).body
    assert wallet["paymentPreferences"][0]["paymentDescriptor"] == "Visa ****0701"
    assert wallet["shippingAddress"]["stateOrRegion"] == "AK"  # kept: the buyer was not asked


def test_update_canceled_changes_nothing(client, buyer, sim, tab, private_key):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    set_status(sim, cp_id, state="NonChargeable", reason="PaymentMethodInvalid")
    before = client.get_charge_permission(cp_id).body
    session_id, page = open_update_page(tab, private_key, cp_id)
    assert links(page.text)["cancel"] == UPDATE_CANCEL_URL  # a plain link: nothing is appended
    error = error_of(client.complete_checkout_session, session_id, {})
    assert (error.status, error.reason_code) == (422, "InvalidCheckoutSessionStatus")
    assert client.get_charge_permission(cp_id).body == before
    assert client.get_checkout_session(session_id).body["statusDetails"]["state"] == "Open"


def test_signed_in_buyer_goes_straight_to_the_update_page(client, buyer, tab, private_key):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    open_update_page(tab, private_key, cp_id)
    again = tab.post("/checkout/initiate", data=initiate_form(private_key, update_payload(cp_id)))
    session_id = session_id_of(again.location)
    to_update = tab.get(again.location)
    assert to_update.status_code == 303 and to_update.location.startswith("/checkout/update?")
    for path in ("/checkout/continue", "/checkout/choose"):  # the checkout pages lead there too
        response = tab.get(f"{path}?amazonCheckoutSessionId={session_id}")
        assert response.status_code == 303 and "/checkout/update?" in response.location


def test_update_page_needs_sign_in(client, buyer, sim, tab, private_key):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    started = tab.post("/checkout/initiate", data=initiate_form(private_key, update_payload(cp_id)))
    session_id = session_id_of(started.location)
    for response in (
        tab.get(f"/checkout/update?amazonCheckoutSessionId={session_id}"),
        tab.post("/checkout/update", data={"amazonCheckoutSessionId": session_id, "instrument": "0701"}),
    ):
        assert response.status_code == 303 and response.location.startswith("/checkout/signin?")
    assert client.get_checkout_session(session_id).body["buyer"] is None


def test_update_page_refuses_a_restricted_address(client, buyer, tab, private_key):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    session_id, _page = open_update_page(tab, private_key, cp_id)
    response = tab.post(
        "/checkout/update", data={"amazonCheckoutSessionId": session_id, "address": "us-po-box", "instrument": "1111"}
    )
    assert response.status_code == 400 and 'data-testid="error"' in response.text
    assert "Update your Amazon Pay payment method and address" in response.text
    assert client.get_checkout_session(session_id).body["buyer"] is None


def test_saved_address_excluded_now_preselects_an_allowed_one(client, buyer, tab, private_key):
    cp_id = save_wallet(client, buyer, address="us-alaska")["chargePermissionId"]
    no_alaska = {"addressRestrictions": {"type": "NotAllowed", "restrictions": {"US": {"statesOrRegions": ["AK"]}}}}
    payload = update_payload(cp_id, deliverySpecifications=no_alaska)
    _session_id, page = open_update_page(tab, private_key, cp_id, form=initiate_form(private_key, payload))
    assert "disabled" in radio(page.text, "address-us-alaska") and "checked" in radio(page.text, "address-us-home")
    assert "1 Glacier Rd" in page.text  # still shown as what is saved


def closed_wallet(client, buyer, sim) -> str:
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    client.close_charge_permission(cp_id, {"closureReason": "closed"})
    return cp_id


def one_time_permission(client, buyer, sim) -> str:
    session_id = buyer.ready_to_complete(intent="Confirm")
    return client.complete_checkout_session(session_id, {"chargeAmount": USD_25}).body["chargePermissionId"]


def unknown_wallet(client, buyer, sim) -> str:
    return "S01-0000000-0000000"


@pytest.mark.parametrize(
    ("make", "status", "code", "message"),
    [
        (closed_wallet, 422, "InvalidChargePermissionStatus", "Closed (MerchantClosed)"),
        (unknown_wallet, 404, "ResourceNotFound", "Charge Permission with id S01-0000000-0000000 was not found"),
        (one_time_permission, 400, "InvalidParameterValue", "only a PaymentMethodOnFile one can be updated"),
    ],
)
def test_update_of_a_wallet_that_cannot_be_updated(client, buyer, sim, tab, private_key, make, status, code, message):
    cp_id = make(client, buyer, sim)
    before = sim.counts()["counts"]
    response = tab.post("/checkout/initiate", data=initiate_form(private_key, update_payload(cp_id)))
    assert response.status_code == status and response.mimetype == "text/html"
    page = html.unescape(response.text)
    assert f'data-testid="error-code">{code}<' in page and message in page
    assert links(page)["cancel"] == WALLET_PAGE
    assert sim.counts()["counts"] == before  # no Checkout Session was made
    error = error_of(client.create_checkout_session, json.loads(update_payload(cp_id)))  # the API agrees
    assert (error.status, error.reason_code) == (status, code)


def test_update_of_another_buyers_wallet(client, buyer, sim, tab, private_key):
    eu_wallet = save_wallet(client, buyer, region="eu", address="de-home")["chargePermissionId"]
    # Jane (the USD ledger's test buyer) signs in to update Erika's wallet.
    session_id, page = open_update_page(tab, private_key, eu_wallet)
    assert page.status_code == 400
    assert "belongs to another buyer than the one signed in (jane.doe@example.com)" in html.unescape(page.text)
    assert links(page.text)["cancel"] == UPDATE_CANCEL_URL
    forced = tab.post("/checkout/update", data={"amazonCheckoutSessionId": session_id, "address": "us-home"})
    assert forced.status_code == 400 and client.get_checkout_session(session_id).body["buyer"] is None
    # Erika (EUR ledger) may.
    erika = sim.app.test_client()
    form = initiate_form(private_key, update_payload(eu_wallet), ledger="EUR")
    eu_session, eu_page = open_update_page(erika, private_key, eu_wallet, form=form, email="erika@example.de")
    assert eu_page.status_code == 200 and "checked" in radio(eu_page.text, "address-de-home")


def test_wallet_closed_while_the_buyer_was_on_the_update_page(client, buyer, tab, private_key):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    session_id, _page = open_update_page(tab, private_key, cp_id)
    continue_update(tab, session_id, address="us-home", instrument="0701")
    client.close_charge_permission(cp_id, {"closureReason": "closed meanwhile"})
    error = error_of(client.complete_checkout_session, session_id, {})
    assert (error.status, error.reason_code) == (422, "InvalidChargePermissionStatus")
    wallet = client.get_charge_permission(cp_id).body
    assert wallet["statusDetails"]["state"] == "Closed"
    assert wallet["paymentPreferences"][0]["paymentDescriptor"] == "Visa ****1111"


@pytest.mark.parametrize(
    "change",
    [
        {"paymentMethodOnFileMetadata": {"setupOnly": False}},
        {"chargePermissionType": "OneTime"},
        {"paymentDetails": {"paymentIntent": "Authorize", "chargeAmount": USD_10}},
    ],
)
def test_inconsistent_update_payloads_are_refused(client, buyer, change):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    payload = json.loads(update_payload(cp_id))
    payload.update(change)
    error = error_of(client.create_checkout_session, payload)
    assert (error.status, error.reason_code) == (400, "InvalidParameterCombination")


def test_update_through_the_control_endpoints(client, buyer, sim):
    """Headless: the same update with /control/button-checkout and the redirect control."""
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    set_status(sim, cp_id, state="NonChargeable", reason="PaymentMethodExpired")
    payload = update_payload(cp_id)
    answer = buyer.click_button(payload, instrument="0701")
    assert answer.status_code == 201, answer.text
    session_id = answer.json()["checkoutSessionId"]
    assert answer.json()["redirectUrl"].endswith(f"/checkout/processing?amazonCheckoutSessionId={session_id}")
    assert (
        buyer.pass_redirect(session_id).json()["redirectUrl"] == f"{UPDATED_URL}?amazonCheckoutSessionId={session_id}"
    )
    client.complete_checkout_session(session_id, {})
    wallet = client.get_charge_permission(cp_id).body
    assert wallet["statusDetails"]["state"] == "Chargeable" and wallet["shippingAddress"]["city"] == "Seattle"
    other = buyer.click_button(update_payload(cp_id), region="eu")
    assert (other.status_code, other.json()["reasonCode"]) == (400, "InvalidParameterValue")


# -- Sign in with Amazon through the hosted pages ---------------------------------------------------

SIGN_IN_RETURN_URL = f"{SHOP}/account/signed-in"


def sign_in_payload(**extra) -> str:
    payload = {
        "signInReturnUrl": SIGN_IN_RETURN_URL,
        "signInCancelUrl": WALLET_PAGE,
        "storeId": STORE_ID,
        "signInScopes": ["name", "email"],
    }
    return serialise({**payload, **extra})


def test_sign_in_button_through_the_hosted_pages(client, tab, private_key):
    form = initiate_form(private_key, sign_in_payload(), product_type="SignIn")
    started = tab.post("/checkout/initiate", data=form)
    assert started.status_code == 303 and "signInId=" in started.location
    page = tab.get(started.location)
    assert page.status_code == 200 and 'data-testid="sign-in"' in page.text
    assert links(page.text)["cancel"] == WALLET_PAGE  # signInCancelUrl
    sign_in_id = parse_qs(urlsplit(started.location).query)["signInId"][0]
    back = tab.post("/checkout/signin", data={"signInId": sign_in_id, "email": "jane.doe@example.com"})
    assert back.status_code == 303 and back.location.startswith(f"{SIGN_IN_RETURN_URL}?buyerToken=")
    token = parse_qs(urlsplit(back.location).query)["buyerToken"][0]
    profile = client.get_buyer(token).body
    assert profile["buyerId"] == "amzn1.account.SIMULATORBUYERNA0000000000"
    assert (profile["name"], profile["email"]) == ("Jane Doe", "jane.doe@example.com")

    # Signed in already: the next click shows "Continue as", then back again with a new token.
    again = tab.post("/checkout/initiate", data=form)
    assert "Continue as Jane Doe" in tab.get(again.location).text
    # amazon.Pay.signout(): the next sign-in asks for the email again.
    assert tab.get("/checkout/signout").get_json() == {"result": True}
    assert "<h1>Sign in</h1>" in tab.get(tab.post("/checkout/initiate", data=form).location).text


def test_sign_in_without_cancel_url_falls_back_to_the_button_page(tab, private_key):
    payload = sign_in_payload(signInCancelUrl=None)
    started = tab.post("/checkout/initiate", data=initiate_form(private_key, payload, product_type="SignIn"))
    assert links(tab.get(started.location).text)["cancel"] == WALLET_PAGE  # origin_url


def test_sign_in_with_a_wrong_signature(tab, private_key):
    form = initiate_form(private_key, sign_in_payload(), product_type="SignIn")
    form["payloadJSON"] = form["payloadJSON"].replace("signed-in", "signed-ln")
    response = tab.post("/checkout/initiate", data=form)
    assert response.status_code == 400 and "InvalidSignatureError" in response.text


# -- checkout.js: as published (no initUpdate), and with it -------------------------------------------


def test_checkout_js_is_amazons_published_shape_unless_asked_for_init_update(tab):
    """By default no initUpdate, as in Amazon's published builds: a shop then proves the path that
    works with Amazon today, initCheckout with the update payload (Amazon's guide:
    https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/steps-to-integrate-with-amazon-pay-hosted-update-page.html).
    ``?with=initUpdate`` serves the documented initUpdate; ``without`` wins."""
    published = tab.get("/static-na/checkout.js")
    assert published.status_code == 200 and '  var FEATURES = {"initUpdate": false};' in published.text
    for url in ("/static-na/checkout.js?with=initUpdate", "/static-eu/checkout.js?with=initUpdate,"):
        full = tab.get(url)
        assert full.status_code == 200 and full.mimetype == "application/javascript"
        assert '  var FEATURES = {"initUpdate": true};' in full.text
        assert "window.amazon.Pay.initUpdate = initUpdate" in full.text
    both = tab.get("/static-na/checkout.js?with=initUpdate&without=initUpdate")
    assert '  var FEATURES = {"initUpdate": false};' in both.text
    for query in ("with=initUpdates", "without=initUpdates"):
        unknown = tab.get(f"/static-na/checkout.js?{query}")
        assert unknown.status_code == 400 and "initUpdates" in unknown.text


def test_checkout_js_with_init_update_by_setting(keys_dir):
    app = simulator.create_app({"SIMULATOR_KEYS_DIR": str(keys_dir), "SIMULATOR_CHECKOUT_JS_WITH": "initUpdate"})
    assert '  var FEATURES = {"initUpdate": true};' in app.test_client().get("/static-fe/checkout.js").text
    app.config["SIMULATOR_CHECKOUT_JS_WITHOUT"] = "initUpdate"
    assert '  var FEATURES = {"initUpdate": false};' in app.test_client().get("/static-fe/checkout.js").text


# A minimal DOM: enough for checkout.js to validate and to submit its hidden form.
NODE_HARNESS = r"""
const fs = require("fs"), vm = require("vm");
const [scriptFile, callsFile] = process.argv.slice(1);
const submitted = [];
function element(tag) {
  return {
    tagName: tag.toUpperCase(), style: {}, children: [],
    appendChild(child) { this.children.push(child); return child; },
    submit() {
      const fields = {};
      this.children.forEach((input) => { fields[input.name] = input.value; });
      submitted.push({action: this.action, method: this.method, fields});
    },
  };
}
const context = {
  console: {error() {}, log() {}},
  document: {
    currentScript: {src: "http://sim.test/static-na/checkout.js"}, cookie: "",
    createElement: element, body: element("body"), getElementsByTagName: () => [], querySelector: () => null,
  },
  location: {href: "http://shop.test/account", hostname: "shop.test", origin: "http://shop.test"},
  navigator: {languages: ["en-US"]},
  URL, URLSearchParams,
};
context.window = context;
vm.createContext(context);
vm.runInContext(fs.readFileSync(scriptFile, "utf8"), context);
const results = JSON.parse(fs.readFileSync(callsFile, "utf8")).map(([api, options]) => {
  const before = submitted.length;
  try {
    if (typeof context.amazon.Pay[api] !== "function") return {missing: api};
    context.amazon.Pay[api](options);
    return {submitted: submitted.slice(before)};
  } catch (thrown) {
    return {error: String(thrown)};
  }
});
console.log(JSON.stringify({apis: Object.keys(context.amazon.Pay).sort(), results}));
"""


WITH_INIT_UPDATE = "?with=initUpdate"


def run_checkout_js(tab, tmp_path, calls: list, query: str = "") -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    script = tmp_path / "checkout.js"
    script.write_text(tab.get(f"/static-na/checkout.js{query}").text, encoding="utf-8")
    calls_file = tmp_path / "calls.json"
    calls_file.write_text(json.dumps(calls), encoding="utf-8")
    done = subprocess.run(
        [node, "-e", NODE_HARNESS, str(script), str(calls_file)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def page_options(private_key, payload: str, product_type="PayAndShip") -> dict:
    """What the shop's JS passes: the button settings plus the signed config."""
    config = "signInConfig" if product_type == "SignIn" else "createCheckoutSessionConfig"
    return {
        "merchantId": "A1TESTMERCHANT00",
        "ledgerCurrency": "USD",
        "checkoutLanguage": "en_US",
        "productType": product_type,
        "placement": "Other",
        "sandbox": True,
        config: {
            "payloadJSON": payload,
            "signature": signing.sign_button_payload(payload, private_key, signing.ALGORITHM_V2),
            "publicKeyId": PUBLIC_KEY_ID,
            "algorithm": signing.ALGORITHM_V2,
        },
    }


def test_init_update_posts_the_update_form(client, buyer, tab, tmp_path, private_key):
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    options = page_options(private_key, update_payload(cp_id))
    answer = run_checkout_js(tab, tmp_path, [["initUpdate", options], ["initCheckout", options]], WITH_INIT_UPDATE)
    assert "initUpdate" in answer["apis"] and "initCheckout" in answer["apis"]
    (update_form,), (checkout_form,) = (result["submitted"] for result in answer["results"])
    assert update_form == checkout_form  # initUpdate is initCheckout for an update payload
    assert (update_form["action"], update_form["method"]) == ("http://sim.test/checkout/initiate", "POST")
    fields = update_form["fields"]
    assert fields["payloadJSON"] == options["createCheckoutSessionConfig"]["payloadJSON"]
    assert (fields["productType"], fields["placement"], fields["environment"]) == ("PayAndShip", "Other", "SANDBOX")
    # ... and the simulator takes that very form to the update page.
    session_id, page = open_update_page(tab, private_key, cp_id, form=fields)
    assert page.status_code == 200 and "Update your Amazon Pay payment method and address" in page.text


def test_init_update_refuses_what_is_not_an_update(tab, tmp_path, private_key):
    good = json.loads(update_payload("S01-1234567-1234567"))

    def with_change(**change) -> dict:
        return page_options(private_key, serialise({**good, **change}))

    no_merchant = with_change()
    del no_merchant["merchantId"]
    sign_in = page_options(private_key, sign_in_payload(), product_type="SignIn")
    calls = [
        ["initUpdate", with_change(chargePermissionId=None)],
        ["initUpdate", with_change(paymentMethodOnFileMetadata={"setupOnly": False})],
        ["initUpdate", with_change(chargePermissionType="OneTime")],
        ["initUpdate", with_change(paymentDetails={"paymentIntent": "Authorize"})],
        ["initUpdate", no_merchant],
        ["initUpdate", sign_in],
        [
            "initUpdate",
            {**with_change(), "createCheckoutSessionConfig": {"payloadJSON": "{not json", "signature": "s"}},
        ],
        [
            "initUpdate",
            {
                **with_change(),
                "createCheckoutSessionConfig": {"payloadJSON": "{", "signature": "s", "publicKeyId": "k"},
            },
        ],
    ]
    results = run_checkout_js(tab, tmp_path, calls, WITH_INIT_UPDATE)["results"]
    expected = [
        "Missing field chargePermissionId in createCheckoutSessionConfig.payloadJSON for amazon.Pay.initUpdate.",
        "Missing field paymentMethodOnFileMetadata.setupOnly: true",
        "Invalid value 'OneTime' for 'chargePermissionType', expected 'PaymentMethodOnFile'",
        "Invalid value 'Authorize' for 'paymentDetails.paymentIntent', expected 'Confirm'",
        "Missing parameter 'merchantId' in the options object.",
        "Invalid value 'SignIn' for 'productType'",
        "Missing field publicKeyId for createCheckoutSessionConfig parameter.",
        "Invalid value for 'payloadJSON': it is not a JSON object",
    ]
    for result, message in zip(results, expected, strict=True):
        assert "submitted" not in result, result
        assert result["error"].startswith("AmazonPay:\n") and message in result["error"], result


def test_init_update_with_a_payload_object(tab, tmp_path, private_key):
    options = page_options(private_key, update_payload("S01-1234567-1234567"))
    options["createCheckoutSessionConfig"]["payloadJSON"] = json.loads(update_payload("S01-1234567-1234567"))
    (result,) = run_checkout_js(tab, tmp_path, [["initUpdate", options]], WITH_INIT_UPDATE)["results"]
    assert json.loads(result["submitted"][0]["fields"]["payloadJSON"])["chargePermissionId"] == "S01-1234567-1234567"


def test_script_without_init_update_falls_back_to_init_checkout(client, buyer, tab, tmp_path, private_key):
    """As Amazon's published builds: no initUpdate; the shop then calls initCheckout."""
    cp_id = save_wallet(client, buyer)["chargePermissionId"]
    options = page_options(private_key, update_payload(cp_id))
    answer = run_checkout_js(tab, tmp_path, [["initUpdate", options], ["initCheckout", options]])
    assert "initUpdate" not in answer["apis"]
    missing, fallback = answer["results"]
    assert missing == {"missing": "initUpdate"}
    _session_id, page = open_update_page(tab, private_key, cp_id, form=fallback["submitted"][0]["fields"])
    assert "Update your Amazon Pay payment method and address" in page.text


def test_sign_in_config_through_checkout_js(client, tab, tmp_path, private_key):
    """The SignIn button's form (initCheckout submits the same one as a click on renderButton)."""
    options = page_options(private_key, sign_in_payload(), product_type="SignIn")
    (result,) = run_checkout_js(tab, tmp_path, [["initCheckout", options]])["results"]
    fields = result["submitted"][0]["fields"]
    assert fields["productType"] == "SignIn" and fields["payloadJSON"] == sign_in_payload()
    started = tab.post("/checkout/initiate", data=fields)
    sign_in_id = parse_qs(urlsplit(started.location).query)["signInId"][0]
    back = tab.post("/checkout/signin", data={"signInId": sign_in_id, "email": "jane.doe@example.com"})
    token = parse_qs(urlsplit(back.location).query)["buyerToken"][0]
    assert client.get_buyer(token).body["email"] == "jane.doe@example.com"
