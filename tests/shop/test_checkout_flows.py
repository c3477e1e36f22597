"""Whole checkouts over real HTTP: AmazonPayClient <-> the simulator on a loopback port.

Each test walks the Amazon Pay steps a shop takes (button -> buyer signs in -> Update
Checkout Session -> amazonPayRedirectUrl -> Complete Checkout Session) and checks what a
merchant would see: statuses, states, reason codes, and how many charges Amazon made.
"""

from __future__ import annotations

import json

import pytest
import requests

from shop.amazon_pay import AmazonPayClient, AmazonPayError
from tests.support import PLAIN_KEY_ID, STORE_ID

USD_25 = {"amount": "25.00", "currencyCode": "USD"}


def complete(client, session_id, amount=USD_25, **options):
    return client.complete_checkout_session(session_id, {"chargeAmount": amount}, **options)


def error_of(call, *args, **kwargs) -> AmazonPayError:
    with pytest.raises(AmazonPayError) as caught:
        call(*args, **kwargs)
    return caught.value


# -- the happy paths -----------------------------------------------------------------------


def test_button_checkout_success(client, buyer, sim):
    session_id = buyer.sign_in()
    session = client.get_checkout_session(session_id).body
    assert session["statusDetails"]["state"] == "Open"
    assert session["buyer"]["name"] == "Jane Doe" and session["shippingAddress"]["countryCode"] == "US"
    assert session["paymentPreferences"][0]["paymentDescriptor"] == "Visa ****1111"
    assert [c["constraintId"] for c in session["constraints"]] == [
        "ChargeAmountNotSet",
        "CheckoutResultReturnUrlNotSet",
        "PaymentIntentNotSet",
    ]
    assert session["webCheckoutDetails"]["amazonPayRedirectUrl"] is None

    updated = client.update_checkout_session(
        session_id,
        {
            "webCheckoutDetails": {"checkoutResultReturnUrl": "http://shop.test/checkout/result"},
            "paymentDetails": {"paymentIntent": "Authorize", "chargeAmount": {"amount": "25", "currencyCode": "USD"}},
        },
    ).body
    assert updated["constraints"] == []
    redirect_url = updated["webCheckoutDetails"]["amazonPayRedirectUrl"]
    assert redirect_url.startswith(sim.url) and session_id in redirect_url
    assert updated["paymentDetails"]["chargeAmount"] == USD_25  # amounts come back as strings

    back = requests.get(redirect_url, allow_redirects=False, timeout=5)  # the buyer's browser
    assert back.status_code == 302
    assert back.headers["location"] == f"http://shop.test/checkout/result?amazonCheckoutSessionId={session_id}"

    done = complete(client, session_id)
    assert done.status == 200 and done.body["statusDetails"]["state"] == "Completed"
    charge = client.get_charge(done.body["chargeId"]).body
    assert charge["statusDetails"]["state"] == "Authorized" and charge["chargeAmount"] == USD_25
    permission = client.get_charge_permission(done.body["chargePermissionId"]).body
    assert permission["statusDetails"]["state"] == "Chargeable"
    assert permission["chargePermissionType"] == "OneTime"
    assert sim.counts()["counts"]["charges"] == 1


def test_authorize_with_capture_then_refund(client, buyer, sim):
    done = complete(client, buyer.ready_to_complete(intent="AuthorizeWithCapture"))
    charge = client.get_charge(done.body["chargeId"]).body
    assert charge["statusDetails"]["state"] == "Captured" and charge["captureAmount"] == USD_25
    refund = client.create_refund(
        {"chargeId": charge["chargeId"], "refundAmount": {"amount": "5.00", "currencyCode": "USD"}}
    )
    assert refund.status == 201 and refund.body["statusDetails"]["state"] == "RefundInitiated"
    sim.advance(31)
    assert client.get_refund(refund.body["refundId"]).body["statusDetails"]["state"] == "Refunded"


def test_confirm_creates_a_charge_permission_and_no_charge(client, buyer, sim):
    done = complete(client, buyer.ready_to_complete(intent="Confirm"))
    assert done.status == 200 and done.body["chargeId"] is None
    assert client.get_charge_permission(done.body["chargePermissionId"]).body["statusDetails"]["state"] == "Chargeable"
    assert sim.counts()["counts"].get("charges", 0) == 0


def test_decoupled_flow_session_created_through_the_api(client, sim):
    created = client.create_checkout_session(
        {"webCheckoutDetails": {"checkoutReviewReturnUrl": "http://shop.test/review"}, "storeId": STORE_ID},
        idempotency_key="create-1",
    )
    assert created.status == 201
    session_id = created.body["checkoutSessionId"]
    assert created.body["constraints"][0]["constraintId"] == "BuyerNotAssociated"
    answer = requests.post(f"{sim.url}/control/checkout-sessions/{session_id}/buyer", json={}, timeout=5).json()
    assert answer["redirectUrl"] == f"http://shop.test/review?amazonCheckoutSessionId={session_id}"
    assert client.get_checkout_session(session_id).body["buyer"]["buyerId"].startswith("amzn1.account.")


def test_legacy_algorithm_and_unprefixed_key_use_the_sandbox_path(sim, private_pem):
    legacy = AmazonPayClient(PLAIN_KEY_ID, private_pem, "us", algorithm="AMZN-PAY-RSASSA-PSS", endpoint=sim.url)
    assert legacy.base_url.endswith("/sandbox/v2")
    created = legacy.create_checkout_session(
        {"webCheckoutDetails": {"checkoutReviewReturnUrl": "https://shop.test/r"}, "storeId": STORE_ID}
    )
    assert created.body["releaseEnvironment"] == "Sandbox"


def test_japan_amounts_have_no_minor_unit(sim, private_pem, buyer):
    client = AmazonPayClient("SANDBOX-TESTKEY0000000000000000A", private_pem, "jp", endpoint=sim.url)
    session_id = buyer.sign_in(region="jp")
    bad = error_of(
        client.update_checkout_session,
        session_id,
        {"paymentDetails": {"chargeAmount": {"amount": "1500.5", "currencyCode": "JPY"}}},
    )
    assert (bad.status, bad.reason_code) == (400, "InvalidParameterValue")
    client.update_checkout_session(
        session_id, {"paymentDetails": {"chargeAmount": {"amount": "1500", "currencyCode": "JPY"}}}
    )
    assert client.get_checkout_session(session_id).body["buyer"]["name"] == "山田 太郎"


# -- pending authorizations (202) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "final", "reason"), [("0701", "Authorized", None), ("4354", "Declined", "HardDeclined")]
)
def test_pending_authorization_answers_202_then_resolves(client, buyer, sim, instrument, final, reason):
    done = complete(client, buyer.ready_to_complete(pending=True, instrument=instrument))
    assert done.status == 202
    assert client.get_charge(done.body["chargeId"]).body["statusDetails"]["state"] == "AuthorizationInitiated"
    sim.advance(31)
    details = client.get_charge(done.body["chargeId"]).body["statusDetails"]
    assert (details["state"], details["reasonCode"]) == (final, reason)


def test_pending_instrument_without_can_handle_pending_authorization_fails(client, buyer):
    session_id = buyer.ready_to_complete(pending=False, instrument="0701")
    error = error_of(complete, client, session_id)
    assert (error.status, error.reason_code) == (422, "CheckoutSessionCanceled")


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("instrument", "reason"), [("3434", "Declined"), ("3064", "BuyerCanceled")])
def test_declined_or_buyer_canceled_at_amazon(client, buyer, sim, instrument, reason):
    session_id = buyer.ready_to_complete(instrument=instrument)
    error = error_of(complete, client, session_id)
    assert (error.status, error.reason_code) == (422, "CheckoutSessionCanceled")
    details = client.get_checkout_session(session_id).body["statusDetails"]
    assert (details["state"], details["reasonCode"]) == ("Canceled", reason)
    assert sim.counts()["counts"].get("charges", 0) == 0


@pytest.mark.parametrize(
    ("code", "status", "state"),
    [("BuyerCanceled", 422, "Canceled"), ("Declined", 422, "Canceled"), ("AuthorizationInitiated", 202, "Completed")],
)
def test_simulation_code_header_on_complete(client, buyer, code, status, state):
    session_id = buyer.ready_to_complete(pending=True)
    headers = {"x-amz-pay-simulation-code": code}
    if status == 422:
        assert error_of(complete, client, session_id, headers=headers).reason_code == "CheckoutSessionCanceled"
    else:
        assert complete(client, session_id, headers=headers).status == status
    assert client.get_checkout_session(session_id).body["statusDetails"]["state"] == state


def test_unknown_simulation_code_is_refused(client, buyer):
    session_id = buyer.ready_to_complete()
    error = error_of(complete, client, session_id, headers={"x-amz-pay-simulation-code": "Bankrupt"})
    assert (error.status, error.reason_code) == (400, "InvalidSandboxSimulationSpecified")


def test_amount_mismatch_then_the_right_amount(client, buyer, sim):
    session_id = buyer.ready_to_complete()
    error = error_of(complete, client, session_id, amount={"amount": "20.00", "currencyCode": "USD"})
    assert (error.status, error.reason_code) == (409, "AmountMismatch")
    assert (
        error_of(complete, client, session_id, amount={"amount": "25.00", "currencyCode": "EUR"}).reason_code
        == "CurrencyMismatch"
    )
    assert complete(client, session_id, amount={"amount": "25", "currencyCode": "USD"}).status == 200
    assert sim.counts()["counts"]["charges"] == 1


def test_checkout_session_expires_after_24_hours(client, buyer, sim):
    session_id = buyer.sign_in()
    sim.advance(24 * 3600)
    details = client.get_checkout_session(session_id).body["statusDetails"]
    assert (details["state"], details["reasonCode"]) == ("Canceled", "Expired")
    error = error_of(client.update_checkout_session, session_id, {"merchantMetadata": {"merchantReferenceId": "x"}})
    assert (error.status, error.reason_code) == (422, "InvalidCheckoutSessionStatus")
    assert error_of(complete, client, session_id).reason_code == "CheckoutSessionCanceled"


def test_complete_before_the_buyer_returned_is_refused(client, buyer):
    session_id = buyer.sign_in()
    client.update_checkout_session(
        session_id,
        {
            "webCheckoutDetails": {"checkoutResultReturnUrl": "http://shop.test/r"},
            "paymentDetails": {"paymentIntent": "Authorize", "chargeAmount": USD_25},
        },
    )
    error = error_of(complete, client, session_id)
    assert (error.status, error.reason_code) == (422, "InvalidCheckoutSessionStatus")


def test_second_complete_is_refused_and_charges_once(client, buyer, sim):
    session_id = buyer.ready_to_complete()
    complete(client, session_id)
    error = error_of(complete, client, session_id)
    assert (error.status, error.reason_code) == (422, "InvalidCheckoutSessionStatus")
    error = error_of(client.update_checkout_session, session_id, {"merchantMetadata": {"noteToBuyer": "hi"}})
    assert error.reason_code == "InvalidCheckoutSessionStatus"
    assert sim.counts()["counts"]["charges"] == 1


# -- idempotency -------------------------------------------------------------------------------


def test_same_idempotency_key_replays_the_first_answer(client, buyer, sim):
    session_id = buyer.ready_to_complete()
    first = complete(client, session_id, idempotency_key="order-1-complete")
    again = complete(client, session_id, idempotency_key="order-1-complete")
    assert (again.status, again.body) == (first.status, first.body)
    assert sim.counts()["counts"]["charges"] == 1


def test_same_idempotency_key_with_a_different_request_is_refused(client, buyer):
    session_id = buyer.ready_to_complete()
    complete(client, session_id, idempotency_key="order-2-complete")
    error = error_of(
        complete,
        client,
        session_id,
        amount={"amount": "24.00", "currencyCode": "USD"},
        idempotency_key="order-2-complete",
    )
    assert (error.status, error.reason_code) == (400, "DuplicateIdempotencyKey")


# -- charges on a charge permission -------------------------------------------------------------


def test_charge_capture_cancel_and_close(client, buyer, sim):
    done = complete(client, buyer.ready_to_complete(intent="Confirm"))
    permission_id = done.body["chargePermissionId"]
    charge = client.create_charge(
        {
            "chargePermissionId": permission_id,
            "chargeAmount": {"amount": "10.00", "currencyCode": "USD"},
            "captureNow": False,
            "chargeInitiator": "CITU",
            "channel": "Web",
        },
        idempotency_key="order-3-charge",
    )
    assert charge.status == 201 and charge.body["statusDetails"]["state"] == "Authorized"
    captured = client.capture_charge(
        charge.body["chargeId"], {"captureAmount": {"amount": "10.00", "currencyCode": "USD"}}
    )
    assert captured.body["statusDetails"]["state"] == "Captured"
    assert (
        error_of(client.cancel_charge, charge.body["chargeId"], {"cancellationReason": "x"}).reason_code
        == "InvalidChargeStatus"
    )

    second = client.create_charge(
        {"chargePermissionId": permission_id, "chargeAmount": {"amount": "5.00", "currencyCode": "USD"}}
    )
    canceled = client.cancel_charge(second.body["chargeId"], {"cancellationReason": "Out of stock"})
    assert (canceled.body["statusDetails"]["state"], canceled.body["statusDetails"]["reasonCode"]) == (
        "Canceled",
        "MerchantCanceled",
    )

    closed = client.close_charge_permission(
        permission_id, {"closureReason": "No more orders", "cancelPendingCharges": False}
    )
    assert closed.body["statusDetails"]["state"] == "Closed"
    assert closed.body["statusDetails"]["reasons"][0]["reasonCode"] == "MerchantClosed"
    error = error_of(
        client.create_charge,
        {"chargePermissionId": permission_id, "chargeAmount": {"amount": "1.00", "currencyCode": "USD"}},
    )
    assert (error.status, error.reason_code) == (422, "InvalidChargePermissionStatus")


@pytest.mark.parametrize("code", ["HardDeclined", "SoftDeclined", "AmazonRejected"])
def test_create_charge_synchronous_declines(client, buyer, code):
    permission_id = complete(client, buyer.ready_to_complete(intent="Confirm")).body["chargePermissionId"]
    error = error_of(
        client.create_charge,
        {"chargePermissionId": permission_id, "chargeAmount": {"amount": "1.00", "currencyCode": "USD"}},
        headers={"x-amz-pay-simulation-code": code},
    )
    assert (error.status, error.reason_code) == (422, code)


def test_unknown_objects_are_404(client):
    for call, object_id in [
        (client.get_checkout_session, "nope"),
        (client.get_charge, "S01-0-0-C0"),
        (client.get_charge_permission, "S01-0-0"),
        (client.get_refund, "S01-0-0-R0"),
    ]:
        error = error_of(call, object_id)
        assert (error.status, error.reason_code) == (404, "ResourceNotFound")


# -- the buyer on Amazon's side --------------------------------------------------------------------


def test_tampered_button_payload_is_refused(buyer):
    payload = buyer.button_payload()
    signature = buyer.client.generate_button_signature(payload)
    response = buyer.click_button(payload.replace("shop.test", "evil.test"), signature=signature)
    assert response.status_code == 400 and response.json()["reasonCode"] == "InvalidSignatureError"


def test_delivery_specifications_hide_restricted_addresses(buyer):
    payload = buyer.button_payload(
        deliverySpecifications={
            "specialRestrictions": ["RestrictPOBoxes"],
            "addressRestrictions": {"type": "Allowed", "restrictions": {"US": {}}},
        }
    )
    assert buyer.click_button(payload, address="us-po-box").json()["reasonCode"] == "AddressNotAllowed"
    assert buyer.click_button(payload, address="ca-home").json()["reasonCode"] == "AddressNotAllowed"
    assert buyer.click_button(payload, address="us-home").status_code == 201


def test_pay_only_sessions_have_no_shipping_address(client, buyer):
    session_id = buyer.sign_in(productType="PayOnly")
    session = client.get_checkout_session(session_id).body
    assert session["productType"] == "PayOnly" and session["shippingAddress"] is None


def test_sign_in_with_amazon_gives_a_buyer_token_for_get_buyer(client, sim, buyer):
    payload = json.dumps({"signInReturnUrl": "http://shop.test/signin", "storeId": STORE_ID, "signInScopes": ["name"]})
    body = {
        "payloadJSON": payload,
        "signature": client.generate_button_signature(payload),
        "publicKeyId": client.public_key_id,
    }
    answer = requests.post(f"{sim.url}/control/sign-in", json=body, timeout=5).json()
    assert answer["redirectUrl"] == f"http://shop.test/signin?buyerToken={answer['buyerToken']}"
    found = client.get_buyer(answer["buyerToken"]).body  # only what signInScopes asked for: the name
    assert (found["name"], found["email"]) == ("Jane Doe", None)
    sim.advance(24 * 3600 + 1)
    assert error_of(client.get_buyer, answer["buyerToken"]).status == 400
