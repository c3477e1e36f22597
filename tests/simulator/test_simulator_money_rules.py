"""Amazon's rules on money after checkout, enforced by the simulator (simulator/money.py).

One test per rule, each naming the public page it comes from, driving the simulator through the
shop's AmazonPayClient as a merchant's back office would: Create Charge, Capture, Create Refund,
Get Charge Permission. Time-driven rules move the simulator's clock (``sim.advance``), and the
ones that change a state are checked in the IPN delivery log too, since Amazon notifies them.
What Amazon does not publish (what counts against the balance, the HTTP status of
``TransactionCountExceeded``, other currencies) is a SIMULATOR CHOICE listed in docs/simulator.md.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
from flask import Flask

from shop.amazon_pay import AmazonPayError

DAY = 24 * 3600


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currencyCode": "USD"}


def error_of(call, *args, **kwargs) -> AmazonPayError:
    with pytest.raises(AmazonPayError) as caught:
        call(*args, **kwargs)
    return caught.value


def checkout(
    client, buyer, amount="100.00", currency="USD", intent="Confirm", instrument="1111", **payment_details
) -> dict:
    """A whole checkout of ``amount`` paid with ``instrument``: ``payment_details``
    (allowOvercharge, extendExpiration) go into the button's payload, where Amazon lets them be
    set (at creation only)."""
    payload = buyer.button_payload(paymentDetails=payment_details) if payment_details else None
    session_id = buyer.sign_in(payload=payload, instrument=instrument)
    buyer.client.update_checkout_session(
        session_id,
        {
            "webCheckoutDetails": {"checkoutResultReturnUrl": "http://shop.test/checkout/result"},
            "paymentDetails": {"paymentIntent": intent, "chargeAmount": {"amount": amount, "currencyCode": currency}},
        },
    )
    assert buyer.pass_redirect(session_id).status_code == 200
    done = client.complete_checkout_session(session_id, {"chargeAmount": {"amount": amount, "currencyCode": currency}})
    assert done.status == 200, done.body
    return done.body


def charge(client, cp_id: str, amount: str, capture=False, currency="USD", **options):
    body = {"chargePermissionId": cp_id, "chargeAmount": {"amount": amount, "currencyCode": currency}}
    return client.create_charge({**body, "captureNow": capture}, **options)


def refund(client, charge_id: str, amount: str, currency="USD", **options):
    return client.create_refund(
        {"chargeId": charge_id, "refundAmount": {"amount": amount, "currencyCode": currency}}, **options
    )


def state_of(body: dict) -> tuple[str, ...]:
    details = body["statusDetails"]
    reasons = details.get("reasons")
    if reasons is not None or "reasons" in details:
        return (details["state"], *[r["reasonCode"] for r in reasons or []])
    return (details["state"], details["reasonCode"]) if details["reasonCode"] else (details["state"],)


def limits(client, cp_id: str) -> tuple[str, str]:
    found = client.get_charge_permission(cp_id).body["limits"]
    return found["amountLimit"]["amount"], found["amountBalance"]["amount"]


@pytest.fixture
def ipn_log(sim, serve):
    """IPNs go to a receiver that answers 200; returns a function giving the delivery log's
    ``(objectType, objectId, state)``, once it has at least ``count`` entries."""
    app = Flask("money-rules-ipn")
    app.post("/ipn")(lambda: ("", 200))
    server, thread, port = serve(app)
    answer = requests.put(f"{sim.url}/control/ipn", json={"url": f"http://127.0.0.1:{port}/ipn"}, timeout=5)
    assert answer.status_code == 200, answer.text

    def log(count: int = 0) -> list[tuple[str, str, str]]:
        deadline = time.monotonic() + 5
        while True:
            found = requests.get(f"{sim.url}/control/ipn", timeout=5).json()["deliveries"]
            if len(found) >= count or time.monotonic() > deadline:
                return [(d["objectType"], d["objectId"], d["state"]) for d in found]
            time.sleep(0.02)

    yield log
    server.shutdown()
    thread.join(5)


# -- the Charge Permission --------------------------------------------------------------------


def test_a_one_time_charge_permission_is_charged_up_to_the_order_amount(client, buyer, sim):
    """ "You can use a one-time Charge Permission to capture up to the total order amount"
    (https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html; Get Charge
    Permission's ``limits.amountLimit`` / ``amountBalance``); Create Charge beyond it answers
    ``400 TransactionAmountExceeded``
    (https://developer.amazon.com/docs/amazon-pay-api-v2/error-handling.html)."""
    cp_id = checkout(client, buyer, "100.00")["chargePermissionId"]
    assert limits(client, cp_id) == ("100.00", "100.00")

    for _ in range(2):  # what the simulator used to accept: 5,000.00 twice on a 100.00 order
        error = error_of(charge, client, cp_id, "5000.00")
        assert (error.status, error.reason_code) == (400, "TransactionAmountExceeded")
        assert "amountBalance 100.00 USD" in error.message

    first = charge(client, cp_id, "60.00").body  # authorized: the 60.00 are held
    assert limits(client, cp_id) == ("100.00", "40.00")
    assert error_of(charge, client, cp_id, "40.01").reason_code == "TransactionAmountExceeded"
    client.capture_charge(first["chargeId"], {"captureAmount": usd("50.00")})  # captured less: 10.00 come back
    assert limits(client, cp_id) == ("100.00", "50.00")
    charge(client, cp_id, "50.00")
    assert limits(client, cp_id) == ("100.00", "0.00")
    assert error_of(charge, client, cp_id, "0.01").reason_code == "TransactionAmountExceeded"
    assert sim.counts()["counts"]["charges"] == 2


def test_a_one_time_charge_permission_takes_at_most_25_charges(client, buyer):
    """ "For a one-time Charge Permission, you can create up to 25 Charges as long as the total
    amount captured does not exceed the amountLimit"
    (https://developer.amazon.com/docs/amazon-pay-checkout/deferred-transactions.html); the 26th
    answers ``TransactionCountExceeded``
    (https://developer.amazon.com/docs/amazon-pay-api-v2/error-handling.html)."""
    cp_id = checkout(client, buyer, "100.00")["chargePermissionId"]
    for _ in range(25):
        charge(client, cp_id, "1.00")
    error = error_of(charge, client, cp_id, "1.00")
    assert (error.status, error.reason_code) == (422, "TransactionCountExceeded")
    assert limits(client, cp_id) == ("100.00", "75.00")  # the amount was not the problem


def test_allow_overcharge_raises_the_amount_limit_at_creation_only(client, buyer):
    """``paymentDetails.allowOvercharge`` can "only [be set] during Checkout Session creation";
    then "Amazon Pay will automatically adjust the Charge Permission amountLimit to either 900% of
    the order amount or 500 USD/GBP/EUR and 70000 JPY (whichever is more)"
    (https://developer.amazon.com/docs/amazon-pay-checkout/advanced-one-time-payment-options.html)."""
    big = checkout(client, buyer, "100.00", allowOvercharge=True)["chargePermissionId"]
    assert limits(client, big) == ("900.00", "900.00")  # 900 % of 100.00 is more than 500
    charge(client, big, "899.99", capture=True)
    assert error_of(charge, client, big, "0.02").reason_code == "TransactionAmountExceeded"

    small = checkout(client, buyer, "20.00", allowOvercharge=True)["chargePermissionId"]
    assert limits(client, small) == ("500.00", "500.00")  # 500 USD is more than 900 % of 20.00
    euro = checkout(client, buyer, "20.00", "EUR", allowOvercharge=True)["chargePermissionId"]
    assert limits(client, euro) == ("500.00", "500.00")
    yen = checkout(client, buyer, "2000", "JPY", allowOvercharge=True)["chargePermissionId"]
    assert limits(client, yen) == ("70000", "70000")
    plain = checkout(client, buyer, "20.00")["chargePermissionId"]
    assert limits(client, plain) == ("20.00", "20.00")

    session_id = buyer.sign_in()  # created without it: Update Checkout Session cannot add it
    error = error_of(client.update_checkout_session, session_id, {"paymentDetails": {"allowOvercharge": True}})
    assert (error.status, error.reason_code) == (400, "InvalidParameterValue")
    assert "paymentDetails.allowOvercharge" in error.message


def test_capturing_the_whole_amount_closes_the_charge_permission(client, buyer, ipn_log):
    """ "The one-time Charge Permission will move to a Closed state after the total order amount
    has been captured" (https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html;
    "once the amountBalance reaches zero",
    https://developer.amazon.com/docs/amazon-pay-checkout/deferred-transactions.html), with
    reason ``AmazonClosed``; Create Charge then answers ``422 InvalidChargePermissionStatus``.
    Refunds of its Charges go on."""
    done = checkout(client, buyer, "100.00", intent="Authorize")
    cp_id, first = done["chargePermissionId"], done["chargeId"]
    client.capture_charge(first, {"captureAmount": usd("60.00")})
    assert state_of(client.get_charge_permission(cp_id).body) == ("Chargeable",)
    second = charge(client, cp_id, "40.00", capture=True).body
    permission = client.get_charge_permission(cp_id).body
    assert state_of(permission) == ("Closed", "AmazonClosed")
    assert permission["limits"]["amountBalance"]["amount"] == "0.00"
    error = error_of(charge, client, cp_id, "1.00")
    assert (error.status, error.reason_code) == (422, "InvalidChargePermissionStatus")
    assert refund(client, second["chargeId"], "40.00").status == 201
    assert ("CHARGE_PERMISSION", cp_id, "Closed (AmazonClosed)") in ipn_log(6)

    at_once = checkout(client, buyer, "25.00", intent="AuthorizeWithCapture")["chargePermissionId"]
    assert state_of(client.get_charge_permission(at_once).body) == ("Closed", "AmazonClosed")


def test_close_charge_permission_cancels_it(client, buyer):
    """The one-time Charge Permission moves to Closed "if it's canceled": Close Charge Permission
    (https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html#close-charge-permission),
    reason ``MerchantClosed``; no Charge after that (``InvalidChargePermissionStatus``)."""
    cp_id = checkout(client, buyer, "100.00")["chargePermissionId"]
    authorized = charge(client, cp_id, "30.00").body
    closed = client.close_charge_permission(cp_id, {"closureReason": "order canceled", "cancelPendingCharges": True})
    assert state_of(closed.body) == ("Closed", "MerchantClosed")
    assert state_of(client.get_charge(authorized["chargeId"]).body) == ("Canceled", "ChargePermissionCanceled")
    assert error_of(charge, client, cp_id, "1.00").reason_code == "InvalidChargePermissionStatus"


def test_a_one_time_charge_permission_expires_after_180_days(client, buyer, sim, ipn_log):
    """ "... or it expires after 180 days" (https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html):
    Closed, reason ``Expired``, notified by IPN without anyone reading it; then Create Charge
    answers ``422 InvalidChargePermissionStatus``."""
    cp_id = checkout(client, buyer, "100.00")["chargePermissionId"]
    created = client.get_charge_permission(cp_id).body
    sim.advance(180 * DAY - 60)
    assert state_of(client.get_charge_permission(cp_id).body) == ("Chargeable",)
    sim.advance(61)
    assert ("CHARGE_PERMISSION", cp_id, "Closed (Expired)") in ipn_log(2)
    permission = client.get_charge_permission(cp_id).body
    assert state_of(permission) == ("Closed", "Expired")
    assert permission["statusDetails"]["lastUpdatedTimestamp"] == created["expirationTimestamp"]
    error = error_of(charge, client, cp_id, "1.00")
    assert (error.status, error.reason_code) == (422, "InvalidChargePermissionStatus")


def test_extend_expiration_keeps_it_for_13_months(client, buyer, sim):
    """``paymentDetails.extendExpiration: true``, set at Checkout Session creation, extends the 180
    days of a one-time Charge Permission to 13 months (the page's "Extending order expiration",
    https://developer.amazon.com/ja/docs/amazon-pay-checkout/advanced-one-time-payment-options.html;
    "kept alive for 13 months instead of 180days",
    https://amazonpay-onboarding.com/en/specification/object/charge-permission)."""
    cp_id = checkout(client, buyer, "100.00", extendExpiration=True)["chargePermissionId"]
    permission = client.get_charge_permission(cp_id).body
    created, expires = permission["creationTimestamp"], permission["expirationTimestamp"]
    months = (int(expires[:4]) - int(created[:4])) * 12 + int(expires[4:6]) - int(created[4:6])
    assert months == 13 and expires[6:] <= created[6:]  # the same day, or the month's last
    sim.advance(181 * DAY)
    assert state_of(client.get_charge_permission(cp_id).body) == ("Chargeable",)
    assert charge(client, cp_id, "10.00").status == 201
    sim.advance(400 * DAY - 181 * DAY)  # 400 days are more than 13 months
    assert state_of(client.get_charge_permission(cp_id).body) == ("Closed", "Expired")


def test_buyer_details_can_be_read_for_30_days(client, buyer, sim):
    """ "For one-time Charge Permissions, you can only retrieve buyer details in the first 30 days
    after the time the Charge Permission was created"
    (https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html). SIMULATOR CHOICE:
    afterwards Get Charge Permission answers ``buyer``, ``shippingAddress`` and ``billingAddress``
    null; the rest (state, limits, payment descriptor) stays."""
    cp_id = checkout(client, buyer, "100.00")["chargePermissionId"]
    sim.advance(30 * DAY - 60)
    early = client.get_charge_permission(cp_id).body
    assert early["buyer"]["email"] and early["shippingAddress"]["countryCode"] == "US"
    sim.advance(61)
    late = client.get_charge_permission(cp_id).body
    assert (late["buyer"], late["shippingAddress"], late["billingAddress"]) == (None, None, None)
    assert late["paymentPreferences"][0]["paymentDescriptor"] == early["paymentPreferences"][0]["paymentDescriptor"]
    assert state_of(late) == ("Chargeable",) and late["limits"] == early["limits"]
    assert charge(client, cp_id, "10.00").status == 201  # it can still be charged


# -- the Charge -------------------------------------------------------------------------------


def test_an_authorization_expires_after_30_days(client, buyer, sim, ipn_log):
    """A Charge moves "to a Canceled state if ... the Charge expires after 30 days in the
    Authorized state" (https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html), reason
    ``ExpiredUnused``; it can no longer be captured. SIMULATOR CHOICE: its amount is free again."""
    done = checkout(client, buyer, "100.00", intent="Authorize")
    cp_id, charge_id = done["chargePermissionId"], done["chargeId"]
    assert limits(client, cp_id) == ("100.00", "0.00")
    sim.advance(30 * DAY + 1)
    assert ("CHARGE", charge_id, "Canceled (ExpiredUnused)") in ipn_log(3)
    assert state_of(client.get_charge(charge_id).body) == ("Canceled", "ExpiredUnused")
    error = error_of(client.capture_charge, charge_id, {"captureAmount": usd("100.00")})
    assert (error.status, error.reason_code) == (422, "InvalidChargeStatus")
    assert limits(client, cp_id) == ("100.00", "100.00")
    assert charge(client, cp_id, "100.00", capture=True).status == 201


def test_a_capture_more_than_7_days_after_authorization_is_asynchronous(client, buyer, sim, ipn_log):
    """ "Payment capture - payment is captured more than 7 days after authorization" is processed
    asynchronously: the Charge "will start in CaptureInitiated state before moving to Captured or
    Declined" (https://developer.amazon.com/docs/amazon-pay-checkout/asynchronous-processing.html).
    SIMULATOR CHOICE: Captured 30 s later on the simulator's clock, notified by IPN, and the
    Charge Permission closes then, once the whole amount is captured."""
    done = checkout(client, buyer, "100.00", intent="Authorize")
    cp_id, late = done["chargePermissionId"], done["chargeId"]
    sim.advance(7 * DAY - 60)
    timely = checkout(client, buyer, "100.00", intent="Authorize")["chargeId"]
    sim.advance(61)  # the first authorization is now more than 7 days old, the other 61 s
    assert state_of(client.capture_charge(timely, {"captureAmount": usd("100.00")}).body) == ("Captured",)

    captured = client.capture_charge(late, {"captureAmount": usd("100.00")})
    assert captured.status == 200 and state_of(captured.body) == ("CaptureInitiated",)
    assert captured.body["captureAmount"] == usd("100.00")
    assert state_of(client.get_charge_permission(cp_id).body) == ("Chargeable",)  # not captured yet
    sim.advance(31)
    log = ipn_log(9)  # two checkouts (4), the timely capture closing its own (2), and these 3
    assert [entry for entry in log if entry[1] in (late, cp_id)][-3:] == [
        ("CHARGE", late, "CaptureInitiated"),
        ("CHARGE_PERMISSION", cp_id, "Closed (AmazonClosed)"),
        ("CHARGE", late, "Captured"),
    ]
    assert state_of(client.get_charge(late).body) == ("Captured",)


def test_a_declined_capture_or_charge_does_not_use_up_the_amount(client, buyer, sim):
    """A declined capture ends the Charge ``Declined`` (https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html,
    sandbox ``AmazonRejected``: https://developer.amazon.com/docs/amazon-pay-checkout/sandbox-simulations.html);
    what was not captured is not taken from the Charge Permission's amountBalance, nor is a
    declined Create Charge (SIMULATOR CHOICE: Amazon documents the balance, not its arithmetic)."""
    done = checkout(client, buyer, "100.00", intent="Authorize")
    cp_id, charge_id = done["chargePermissionId"], done["chargeId"]
    rejected = {"x-amz-pay-simulation-code": "AmazonRejected"}
    pending = client.capture_charge(charge_id, {"captureAmount": usd("100.00")}, headers=rejected).body
    assert state_of(pending) == ("CaptureInitiated",)
    sim.advance(31)
    assert state_of(client.get_charge(charge_id).body) == ("Declined", "AmazonRejected")
    assert limits(client, cp_id) == ("100.00", "100.00")
    assert state_of(client.get_charge_permission(cp_id).body) == ("Chargeable",)

    declined = error_of(charge, client, cp_id, "100.00", headers={"x-amz-pay-simulation-code": "SoftDeclined"})
    assert declined.reason_code == "SoftDeclined"
    assert limits(client, cp_id) == ("100.00", "100.00")
    assert state_of(charge(client, cp_id, "100.00", capture=True).body) == ("Captured",)


# -- the Refund -------------------------------------------------------------------------------


@pytest.mark.slow
def test_refunds_are_asynchronous(client, buyer, sim, ipn_log):
    """ "All refunds are processed asynchronously": a Refund starts ``RefundInitiated`` and moves to
    ``Refunded`` or ``Declined`` (https://developer.amazon.com/docs/amazon-pay-checkout/asynchronous-processing.html,
    https://developer.amazon.com/docs/amazon-pay-api-v2/refund.html). SIMULATOR CHOICE: 30 s on
    the simulator's clock, as the sandbox resolves pending authorizations; each state notified."""
    charge_id = checkout(client, buyer, "100.00", intent="AuthorizeWithCapture")["chargeId"]
    made = refund(client, charge_id, "30.00")
    assert made.status == 201 and state_of(made.body) == ("RefundInitiated",)
    refund_id = made.body["refundId"]
    sim.advance(29)
    assert state_of(client.get_refund(refund_id).body) == ("RefundInitiated",)
    sim.advance(2)
    assert state_of(client.get_refund(refund_id).body) == ("Refunded",)
    assert [entry for entry in ipn_log(5) if entry[1] == refund_id] == [
        ("REFUND", refund_id, "RefundInitiated"),
        ("REFUND", refund_id, "Refunded"),
    ]
    assert client.get_charge(charge_id).body["refundedAmount"] == usd("30.00")


def test_refunds_exceed_the_capture_by_at_most_15_percent_or_75(client, buyer, private_key, sim):
    """ "Refund amount can be either 15% or 75 USD/GBP/EUR and 8400 JPY (whichever is less) above the
    captured amount" (https://developer.amazon.com/docs/amazon-pay-api-v2/refund.html; "15% more
    than the previously charged amount or a maximum of $75 more ..., whichever is smaller",
    https://pay.amazon.com/help/201212360), in total over the Charge's refunds; beyond it
    ``400 TransactionAmountExceeded``."""
    cases = [
        ("100.00", "USD", "115.00", "115.01"),  # 15 % (15.00) is less than 75
        ("1000.00", "USD", "1075.00", "1075.01"),  # 75 is less than 15 % (150.00)
        ("1000.00", "EUR", "1075.00", "1075.01"),
        ("1000.00", "GBP", "1075.00", "1075.01"),
        ("10000", "JPY", "11500", "11501"),  # 15 % (1,500 JPY) is less than 8,400 JPY
        ("100000", "JPY", "108400", "108401"),  # 8,400 JPY is less than 15 % (15,000 JPY)
    ]
    for captured, currency, most, too_much in cases:
        charge_id = checkout(client, buyer, captured, currency, intent="AuthorizeWithCapture")["chargeId"]
        error = error_of(refund, client, charge_id, too_much, currency)
        assert (error.status, error.reason_code) == (400, "TransactionAmountExceeded"), (captured, currency)
        half = Decimal(most) / 2
        half = half.quantize(Decimal(1) if currency == "JPY" else Decimal("0.01"))
        refund(client, charge_id, str(half), currency)
        refund(client, charge_id, str(Decimal(most) - half), currency)  # the total may reach it exactly
        smallest = "1" if currency == "JPY" else "0.01"
        assert error_of(refund, client, charge_id, smallest, currency).reason_code == "TransactionAmountExceeded"


def test_at_most_10_refunds_per_charge(client, buyer):
    """ "The maximum number of refunds allowed for a given charge is 10"
    (https://pay.amazon.com/help/201212360); the 11th answers ``TransactionCountExceeded``
    (https://developer.amazon.com/docs/amazon-pay-api-v2/error-handling.html)."""
    charge_id = checkout(client, buyer, "100.00", intent="AuthorizeWithCapture")["chargeId"]
    for _ in range(10):
        assert refund(client, charge_id, "1.00").status == 201
    error = error_of(refund, client, charge_id, "1.00")
    assert (error.status, error.reason_code) == (422, "TransactionCountExceeded")
    assert client.get_charge(charge_id).body["refundedAmount"] == usd("10.00")


def test_a_declined_refund_does_not_use_up_the_amount(client, buyer, sim, ipn_log):
    """A Refund "will move to a Declined state" when it fails
    (https://developer.amazon.com/docs/amazon-pay-checkout/asynchronous-processing.html; sandbox
    ``AmazonRejected``, https://developer.amazon.com/docs/amazon-pay-checkout/sandbox-simulations.html):
    its amount can be refunded again (SIMULATOR CHOICE: while it is ``RefundInitiated`` it still
    counts, since it may succeed)."""
    charge_id = checkout(client, buyer, "100.00", intent="AuthorizeWithCapture")["chargeId"]
    declined = refund(client, charge_id, "100.00", headers={"x-amz-pay-simulation-code": "AmazonRejected"}).body
    assert state_of(declined) == ("RefundInitiated",)
    assert error_of(refund, client, charge_id, "100.00").reason_code == "TransactionAmountExceeded"
    sim.advance(31)
    assert state_of(client.get_refund(declined["refundId"]).body) == ("Declined", "AmazonRejected")
    assert ("REFUND", declined["refundId"], "Declined (AmazonRejected)") in ipn_log(4)
    assert client.get_charge(charge_id).body["refundedAmount"] is None
    again = refund(client, charge_id, "100.00").body
    sim.advance(31)
    assert state_of(client.get_refund(again["refundId"]).body) == ("Refunded",)
    assert client.get_charge(charge_id).body["refundedAmount"] == usd("100.00")


def test_the_0505_instrument_declines_every_refund_without_a_header(client, buyer, sim, ipn_log):
    """The simulator's own instrument ``0505`` (SIMULATOR CHOICE, docs/simulator.md) pays, and its
    refunds are declined as ``AmazonRejected`` would decline them
    (https://developer.amazon.com/docs/amazon-pay-checkout/sandbox-simulations.html): what a
    browser, which sends no simulation header, needs to show a declined refund."""
    charge_id = checkout(client, buyer, "100.00", intent="AuthorizeWithCapture", instrument="0505")["chargeId"]
    assert state_of(client.get_charge(charge_id).body) == ("Captured",)
    asked = refund(client, charge_id, "40.00").body
    assert state_of(asked) == ("RefundInitiated",)
    sim.advance(31)
    assert state_of(client.get_refund(asked["refundId"]).body) == ("Declined", "AmazonRejected")
    assert ("REFUND", asked["refundId"], "Declined (AmazonRejected)") in ipn_log(3)
    assert client.get_charge(charge_id).body["refundedAmount"] is None  # nothing went back to the buyer
