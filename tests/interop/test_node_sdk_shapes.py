"""The official Node SDK's own response-shape checks, run against the simulator.

``tst/webStoreClientTest.js`` of ``@amazonpay/amazon-pay-api-sdk-nodejs`` (pinned in
tests/interop/package-lock.json; the published package ships its tests; the same file on GitHub:
https://github.com/amzn/amazon-pay-api-sdk-nodejs/blob/master/tst/webStoreClientTest.js) checks the
answers of Amazon's sandbox: for a Checkout Session the exact key list in order
(``assert.deepStrictEqual(Object.keys(expectedResponse), Object.keys(actualResponse))``, with
``cartDetails`` for Finalize), for a Charge Permission, a Charge and a Refund that every listed key
is present (``hasOwnProperty``). Its suites need live sandbox ids and Mocha, so this test reads the
key lists from that very file and applies the same assertions to the simulator's answers, reached
with the shop's client; the lists are never copied here, so a new SDK pin brings Amazon's new shape.

One typo in the SDK is read as meant: the Charge Permission list has ``'chargePermissionReferenceId:'``
(a stray colon), which no answer of Amazon's could contain.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support import STORE_ID

pytestmark = [pytest.mark.interop]

SDK_DIR = Path(__file__).parent / "node_modules" / "@amazonpay" / "amazon-pay-api-sdk-nodejs"
SDK_TEST = SDK_DIR / "tst" / "webStoreClientTest.js"
USD_10 = {"amount": "10.00", "currencyCode": "USD"}
RESULT_URL = "http://shop.test/checkout/result"


def sdk_version() -> str:
    return json.loads((SDK_DIR / "package.json").read_text())["version"]


def sdk_key_lists() -> dict[str, list[str]]:
    """``{"CheckoutSession", "FinalizeCheckoutSession", "ChargePermission", "Charge", "Refund"}``
    -> the keys the SDK's test expects, read from the installed SDK."""
    if not SDK_TEST.is_file():
        pytest.fail(f"{SDK_TEST} is missing: run `make test` (it runs `npm ci --prefix tests/interop`).")
    source = SDK_TEST.read_text(encoding="utf-8")
    lists: dict[str, list[str]] = {}
    for block in re.findall(r"const expectedResponse = \{(.*?)\};", source, re.DOTALL):
        keys = re.findall(r"^\s*([A-Za-z]+):\s*''", block, re.MULTILINE)
        name = "FinalizeCheckoutSession" if "cartDetails" in keys else "CheckoutSession"
        lists.setdefault(name, keys)
    for block in re.findall(r"const expectedResponseKeys = \[(.*?)\];", source):
        keys = [key.rstrip(":") for key in re.findall(r"'([^']+)'", block)]
        name = {"chargePermissionId": "ChargePermission", "chargeId": "Charge", "refundId": "Refund"}[keys[0]]
        lists.setdefault(name, keys)
    assert set(lists) == {"CheckoutSession", "FinalizeCheckoutSession", "ChargePermission", "Charge", "Refund"}, (
        f"the key lists of SDK {sdk_version()}'s webStoreClientTest.js were not all found: {sorted(lists)}"
    )
    return lists


@pytest.fixture(scope="module")
def expected() -> dict[str, list[str]]:
    return sdk_key_lists()


def test_the_sdk_lists_are_read(expected):
    """A guard for the reader: the lists hold the keys the SDK's file names (not an empty match)."""
    assert expected["CheckoutSession"][:3] == ["checkoutSessionId", "webCheckoutDetails", "productType"]
    assert "merchantDetails" in expected["CheckoutSession"] and "cartDetails" not in expected["CheckoutSession"]
    assert expected["FinalizeCheckoutSession"].index("cartDetails") == 4
    assert "chargePermissionReferenceId" in expected["ChargePermission"]
    assert len(expected["Charge"]) == 18 and len(expected["Refund"]) == 7


def test_checkout_session_answers_have_amazons_keys_in_order(client, buyer, expected):
    """Create (201), Get, Update: ``Object.keys`` equal, order included; Complete too."""
    keys = expected["CheckoutSession"]
    created = client.create_checkout_session(
        {"webCheckoutDetails": {"checkoutReviewReturnUrl": "http://shop.test/checkout/review"}, "storeId": STORE_ID}
    )
    assert created.status == 201 and list(created.body) == keys
    session_id = buyer.sign_in()
    assert list(client.get_checkout_session(session_id).body) == keys
    updated = client.update_checkout_session(
        session_id,
        {
            "webCheckoutDetails": {"checkoutResultReturnUrl": RESULT_URL},
            "paymentDetails": {"paymentIntent": "Authorize", "chargeAmount": USD_10},
        },
    )
    assert list(updated.body) == keys
    assert buyer.pass_redirect(session_id).status_code == 200
    assert list(client.complete_checkout_session(session_id, {"chargeAmount": USD_10}).body) == keys


def test_finalize_answer_adds_cart_details(client, buyer, expected):
    session_id = buyer.ready_to_complete(amount="10.00")
    finalized = client.finalize_checkout_session(session_id, {"chargeAmount": USD_10})
    assert list(finalized.body) == expected["FinalizeCheckoutSession"]


def test_charge_permission_charge_and_refund_have_amazons_keys(client, buyer, expected):
    session_id = buyer.ready_to_complete(amount="10.00", intent="AuthorizeWithCapture")
    done = client.complete_checkout_session(session_id, {"chargeAmount": USD_10}).body
    permission = client.get_charge_permission(done["chargePermissionId"]).body
    assert [key for key in expected["ChargePermission"] if key not in permission] == []
    charge = client.get_charge(done["chargeId"]).body
    assert list(charge) == expected["Charge"]  # every key, and (stricter than the SDK) in order
    refund = client.create_refund({"chargeId": done["chargeId"], "refundAmount": USD_10}).body
    assert list(refund) == expected["Refund"]
