"""What passes against the simulator must pass against Amazon, and the reverse (issue #15).

One test per behaviour where the simulator and Amazon differed, each citing where Amazon's
behaviour comes from (its docs, an official SDK, or a public issue that quotes Amazon's answer).
Requests go over real HTTP with the shop's AmazonPayClient (``client``), the buyer's steps through
the test controls (``buyer``). What could not be established is under "Known differences" in
docs/simulator.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import requests

from shop.amazon_pay import AmazonPayError
from tests.support import ADDRESS_DETAILS, STORE_ID

USD_10 = {"amount": "10.00", "currencyCode": "USD"}
RESULT_URL = "http://shop.test/checkout/result"
ADDRESS = ADDRESS_DETAILS


def error_of(call, *args, **kwargs) -> AmazonPayError:
    with pytest.raises(AmazonPayError) as caught:
        call(*args, **kwargs)
    return caught.value


def session_body(**extra) -> dict:
    return {
        "webCheckoutDetails": {"checkoutReviewReturnUrl": "http://shop.test/checkout/review"},
        "storeId": STORE_ID,
        **extra,
    }


def process_order(**extra) -> dict:
    """An end-of-checkout (ProcessOrder) payload with everything Amazon requires."""
    body = {
        "webCheckoutDetails": {"checkoutResultReturnUrl": RESULT_URL, "checkoutMode": "ProcessOrder"},
        "storeId": STORE_ID,
        "paymentDetails": {"paymentIntent": "AuthorizeWithCapture", "chargeAmount": USD_10},
        "addressDetails": ADDRESS,
    }
    body.update(extra)
    return {key: value for key, value in body.items() if value is not None}


# -- 2. JPY amounts have no decimals -------------------------------------------------------------


@pytest.mark.parametrize("amount", ["705.00", "705.0", 705.0])
def test_jpy_amount_with_decimals_is_refused_as_amazon_does(client, amount):
    """Amazon: InvalidParameterValue "The value '705.00' provided for 'chargeAmount.Amount' is
    invalid" (https://github.com/woocommerce/woocommerce-gateway-amazon-pay/issues/148,
    https://github.com/amzn/amazon-pay-api-sdk-php/issues/31)."""
    body = session_body(paymentDetails={"chargeAmount": {"amount": amount, "currencyCode": "JPY"}})
    error = error_of(client.create_checkout_session, body)
    assert (error.status, error.reason_code) == (400, "InvalidParameterValue")
    assert f"The value '{amount}' provided for 'paymentDetails.chargeAmount.amount' is invalid" in error.message
    whole = session_body(paymentDetails={"chargeAmount": {"amount": "705", "currencyCode": "JPY"}})
    assert client.create_checkout_session(whole).status == 201


# -- 3. Get Buyer returns what signInScopes asked for --------------------------------------------


def sign_in(client, sim, scopes) -> dict:
    payload = {"signInReturnUrl": "http://shop.test/account/signed-in", "storeId": STORE_ID}
    if scopes is not None:
        payload["signInScopes"] = scopes
    text = json.dumps(payload)
    body = {
        "payloadJSON": text,
        "publicKeyId": client.public_key_id,
        "signature": client.generate_button_signature(text),
    }
    answer = requests.post(f"{sim.url}/control/sign-in", json=body, timeout=5)
    assert answer.status_code == 200, answer.text
    return client.get_buyer(answer.json()["buyerToken"]).body


@pytest.mark.parametrize(
    ("scopes", "given"),
    [
        (None, {"name", "email"}),
        (["name", "email"], {"name", "email"}),
        (["email"], {"email"}),
        (["name", "email", "postalCode"], {"name", "email", "postalCode", "countryCode"}),
        (
            ["name", "email", "phoneNumber", "shippingAddress", "billingAddress"],
            {"name", "email", "phoneNumber", "shippingAddress", "billingAddress", "postalCode", "countryCode"},
        ),
    ],
)
def test_get_buyer_returns_what_sign_in_scopes_requested(client, sim, scopes, given):
    """ "Retrieve Buyer Details, including buyerId and other buyer information requested in
    signInScopes. If no signInScopes are set, we will return name, email by default"
    (https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile-signinandsetup/verify-and-complete-checkout.html)."""
    buyer = sign_in(client, sim, scopes)
    assert buyer["buyerId"].startswith("amzn1.account.")
    present = {key for key, value in buyer.items() if value is not None} - {"buyerId"}
    assert present == given


# -- 5. ProcessOrder payloads carry chargeAmount and, for PayAndShip, addressDetails --------------


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"addressDetails": None}, "addressDetails"),
        ({"paymentDetails": {"paymentIntent": "Authorize"}}, "paymentDetails.chargeAmount"),
    ],
)
def test_process_order_payload_needs_amount_and_address(buyer, change, missing):
    """ "You must populate addressDetails with the shipping address provided by the buyer if you set
    checkoutMode to ProcessOrder with productType PayAndShip"
    (https://developer.amazon.com/docs/amazon-pay-checkout/address-formatting-and-validation.html);
    chargeAmount is part of the end-of-checkout payload
    (https://developer.amazon.com/docs/amazon-pay-checkout/end-of-checkout.html)."""
    refused = buyer.click_button(json.dumps(process_order(**change)))
    assert refused.status_code == 400 and refused.json()["reasonCode"] == "MissingParameterValue"
    assert missing in refused.json()["message"]
    assert buyer.click_button(json.dumps(process_order())).status_code == 201


def test_pay_only_process_order_needs_no_address(buyer):
    answer = buyer.click_button(json.dumps(process_order(addressDetails=None)), productType="PayOnly")
    assert answer.status_code == 201, answer.text


# -- 6. Address fields have Amazon's lengths -------------------------------------------------------


@pytest.mark.parametrize(("field", "limit"), [("name", 50), ("addressLine1", 180), ("postalCode", 20)])
def test_address_fields_have_amazons_maximum_lengths(buyer, field, limit):
    """Amazon's Address type: name 50 characters, addressLine1 180, ... (Checkout Session
    reference, https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html)."""
    too_long = buyer.click_button(json.dumps(process_order(addressDetails={**ADDRESS, field: "x" * (limit + 1)})))
    assert too_long.status_code == 400 and too_long.json()["reasonCode"] == "InvalidParameterValue"
    assert field in too_long.json()["message"]
    at_limit = buyer.click_button(json.dumps(process_order(addressDetails={**ADDRESS, field: "x" * limit})))
    assert at_limit.status_code == 201, at_limit.text


# -- 7. softDescriptor only with AuthorizeWithCapture ------------------------------------------------


@pytest.mark.parametrize("intent", ["Authorize", "Confirm"])
def test_soft_descriptor_only_with_authorize_with_capture(client, buyer, intent):
    """ "Description shown on the buyer payment instrument statement, if PaymentIntent is set to
    AuthorizeWithCapture. Do not use if PaymentIntent is set to Confirm or Authorize" (the .NET SDK,
    https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/WebStore/Types/PaymentDetails.cs)."""
    session_id = buyer.sign_in()
    details = {"paymentIntent": intent, "chargeAmount": USD_10, "softDescriptor": "SHOP"}
    error = error_of(client.update_checkout_session, session_id, {"paymentDetails": details})
    assert (error.status, error.reason_code) == (400, "InvalidParameterCombination")
    # Set apart, the combination is caught too, and AuthorizeWithCapture takes it.
    client.update_checkout_session(session_id, {"paymentDetails": {"softDescriptor": "SHOP"}})
    error = error_of(client.update_checkout_session, session_id, {"paymentDetails": {"paymentIntent": intent}})
    assert error.reason_code == "InvalidParameterCombination"
    details["paymentIntent"] = "AuthorizeWithCapture"
    assert client.update_checkout_session(session_id, {"paymentDetails": details}).status == 200


# -- 9, 10. What the official SDKs send is accepted ---------------------------------------------------


def test_recurring_frequency_value_may_be_a_number(client):
    """The .NET SDK sends ``frequency.value`` as a number (``int? Value``,
    https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/WebStore/Types/Frequency.cs)."""
    body = session_body(
        chargePermissionType="Recurring",
        recurringMetadata={"frequency": {"unit": "Month", "value": 1}, "amount": USD_10},
    )
    assert client.create_checkout_session(body).status == 201


def test_address_details_district_or_county_is_known(buyer):
    """``addressDetails.districtOrCounty`` (the .NET SDK's AddressDetails,
    https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/WebStore/Types/AddressDetails.cs;
    https://developer.amazon.com/docs/amazon-pay-checkout/address-formatting-and-validation.html)."""
    payload = process_order(addressDetails={**ADDRESS, "districtOrCounty": "King"})
    assert buyer.click_button(json.dumps(payload)).status_code == 201


def test_multi_addresses_checkout_metadata_is_known(client, buyer):
    """``multiAddressesCheckoutMetadata`` on Update Checkout Session (the .NET SDK's
    UpdateCheckoutSessionRequest,
    https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/WebStore/CheckoutSession/UpdateCheckoutSessionRequest.cs)."""
    session_id = buyer.sign_in()
    metadata = [{"addressId": "amzn1.address.ABC", "price": USD_10}]
    assert client.update_checkout_session(session_id, {"multiAddressesCheckoutMetadata": metadata}).status == 200
    bad = [{"addressId": "amzn1.address.ABC", "price": {"amount": "1.001", "currencyCode": "USD"}}]
    error = error_of(client.update_checkout_session, session_id, {"multiAddressesCheckoutMetadata": bad})
    assert error.reason_code == "InvalidParameterValue"


# -- 11. Update Charge Permission on a Closed one -------------------------------------------------


def completed(client, buyer, payload=None, intent="Confirm") -> dict:
    session_id = buyer.sign_in(payload=payload)
    client.update_checkout_session(
        session_id,
        {
            "webCheckoutDetails": {"checkoutResultReturnUrl": RESULT_URL},
            "paymentDetails": {"paymentIntent": intent, "chargeAmount": USD_10},
            "merchantMetadata": {"merchantReferenceId": "order-1"},
        },
    )
    assert buyer.pass_redirect(session_id).status_code == 200
    return client.complete_checkout_session(session_id, {"chargeAmount": USD_10}).body


def test_closed_one_time_charge_permission_takes_metadata_it_lacks(client, buyer):
    """ "You can update merchantMetadata child parameters if the Charge Permission is in a Closed
    state only if chargePermissionType is Onetime and if the child parameter value to be updated is
    either null or an empty string"
    (https://developer.amazon.com/docs/amazon-pay-checkout/update-info-post-checkout.html)."""
    cp_id = completed(client, buyer)["chargePermissionId"]
    client.close_charge_permission(cp_id, {"closureReason": "done"})
    updated = client.update_charge_permission(cp_id, {"merchantMetadata": {"customInformation": "invoice 7"}})
    assert updated.body["merchantMetadata"]["customInformation"] == "invoice 7"
    error = error_of(client.update_charge_permission, cp_id, {"merchantMetadata": {"merchantReferenceId": "other"}})
    assert (error.status, error.reason_code) == (422, "ChargePermissionNotModifiable")
    assert "merchantReferenceId" in error.message
    assert client.get_charge_permission(cp_id).body["merchantMetadata"]["merchantReferenceId"] == "order-1"


def test_closed_recurring_charge_permission_takes_no_update(client, buyer):
    payload = buyer.button_payload(
        chargePermissionType="Recurring", recurringMetadata={"frequency": {"unit": "Month", "value": "1"}}
    )
    cp_id = completed(client, buyer, payload)["chargePermissionId"]
    client.close_charge_permission(cp_id, {"closureReason": "done"})
    error = error_of(client.update_charge_permission, cp_id, {"merchantMetadata": {"noteToBuyer": "hi"}})
    assert (error.status, error.reason_code) == (422, "ChargePermissionNotModifiable")


# -- 13, 14. Charge Permission and Checkout Session shapes -------------------------------------------

NET_FIXTURE = (
    "https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/"
    "Amazon.Pay.API.SDK.Tests/WebStore/ChargePermission/ChargePermissionResponseTests.cs"
)


def test_charge_permission_null_shapes_are_amazons(client, buyer):
    """In Amazon's answers kept by the .NET SDK's tests (NET_FIXTURE) ``limits`` is
    ``{"amountLimit": null, "amountBalance": null}`` and ``recurringMetadata``
    ``{"frequency": null, "amount": null}`` when unused, ``amazonPayToken`` is a key, a saved
    wallet has ``paymentMethodOnFileMetadata`` and ``expirationTimestamp: null``, and
    ``paymentPreferences`` items carry only ``paymentDescriptor``."""
    one_time = client.get_charge_permission(completed(client, buyer)["chargePermissionId"]).body
    assert one_time["recurringMetadata"] == {"frequency": None, "amount": None}
    assert one_time["limits"]["amountLimit"] == USD_10 and "amazonPayToken" in one_time
    assert "paymentMethodOnFileMetadata" not in one_time and one_time["expirationTimestamp"] is not None
    assert one_time["paymentPreferences"] == [{"paymentDescriptor": "Visa ****1111"}]

    save = buyer.button_payload(
        chargePermissionType="PaymentMethodOnFile", paymentMethodOnFileMetadata={"setupOnly": False}
    )
    wallet = client.get_charge_permission(completed(client, buyer, save, "Authorize")["chargePermissionId"]).body
    assert wallet["limits"] == {"amountLimit": None, "amountBalance": None}
    assert wallet["expirationTimestamp"] is None and wallet["paymentMethodOnFileMetadata"] == {"setupOnly": False}
    assert list(wallet)[:4] == ["chargePermissionId", "amazonPayToken", "chargePermissionReferenceId", "platformId"]


def test_recurring_charge_permission_keeps_its_recurring_metadata(client, buyer):
    """The recurringMetadata of the checkout, and Update Charge Permission's changes to it
    (https://developer.amazon.com/docs/amazon-pay-checkout/update-info-post-checkout.html)."""
    frequency = {"unit": "Month", "value": "1"}
    payload = buyer.button_payload(chargePermissionType="Recurring", recurringMetadata={"frequency": frequency})
    cp_id = completed(client, buyer, payload)["chargePermissionId"]
    assert client.get_charge_permission(cp_id).body["recurringMetadata"] == {"frequency": frequency, "amount": None}
    changed = client.update_charge_permission(cp_id, {"recurringMetadata": {"amount": USD_10}}).body
    assert changed["recurringMetadata"] == {"frequency": frequency, "amount": USD_10}


def test_checkout_session_payment_preferences_carry_only_the_descriptor(client, buyer):
    """No Amazon sample has a billingAddress inside paymentPreferences (NET_FIXTURE; the Checkout
    Session reference, https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html)."""
    session = client.get_checkout_session(buyer.sign_in()).body
    assert session["paymentPreferences"] == [{"paymentDescriptor": "Visa ****1111"}]
    assert "merchantDetails" in session


# -- 15. checkout.js: bindUpgradeAction and switchAccount -------------------------------------------

# checkout.js in Node with a minimal DOM: one element (#upgrade), a fetch that answers signout, and
# every hidden form the script submits.
NODE_DOM = r"""
const fs = require("fs"), vm = require("vm");
const [scriptFile, callsFile] = process.argv.slice(1);
const submitted = [], listeners = {};
function element(tag) {
  return {
    tagName: tag.toUpperCase(), style: {}, children: [], setAttribute() {}, getAttribute() { return null; },
    insertAdjacentElement() {}, removeAttribute() {}, querySelector() { return null; },
    appendChild(child) { this.children.push(child); return child; },
    addEventListener(type, handler) { listeners[type] = handler; }, removeEventListener() {},
    submit() {
      const fields = {};
      this.children.forEach((input) => { fields[input.name] = input.value; });
      submitted.push({action: this.action, fields});
    },
  };
}
const target = element("button");
const context = {
  console: {error() {}, log() {}},
  document: {
    currentScript: {src: "http://sim.test/static-na/checkout.js"}, cookie: "", createElement: element,
    body: element("body"), getElementsByTagName: () => [],
    querySelector: (selector) => (selector === "#upgrade" ? target : null),
  },
  location: {href: "http://shop.test/account", hostname: "shop.test", origin: "http://shop.test"},
  navigator: {languages: ["en-US"]},
  fetch: () => Promise.resolve({json: () => ({result: true})}),
  URL, URLSearchParams,
};
context.window = context;
vm.createContext(context);
vm.runInContext(fs.readFileSync(scriptFile, "utf8"), context);
(async () => {
  const results = [];
  for (const [api, args] of JSON.parse(fs.readFileSync(callsFile, "utf8"))) {
    const before = submitted.length;
    try {
      await context.amazon.Pay[api](...args);
      if (listeners.click) { listeners.click({preventDefault() {}}); delete listeners.click; }
      results.push({submitted: submitted.slice(before)});
    } catch (thrown) {
      results.push({error: String(thrown)});
    }
  }
  console.log(JSON.stringify({apis: Object.keys(context.amazon.Pay).sort(), results}));
})();
"""


def run_checkout_js(sim, tmp_path, calls: list) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the checkout.js tests need Node.js.")
    script, calls_file = tmp_path / "checkout.js", tmp_path / "calls.json"
    script.write_text(requests.get(f"{sim.url}/static-na/checkout.js", timeout=5).text, encoding="utf-8")
    calls_file.write_text(json.dumps(calls), encoding="utf-8")
    done = subprocess.run(
        [node, "-e", NODE_DOM, str(script), str(calls_file)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def signed(client, payload: dict) -> dict:
    text = json.dumps(payload)
    return {
        "payloadJSON": text,
        "signature": client.generate_button_signature(text),
        "publicKeyId": client.public_key_id,
        "algorithm": client.algorithm,
    }


def test_checkout_js_has_bind_upgrade_action_and_switch_account(client, sim, tmp_path):
    """Amazon's published builds of checkout.js register bindUpgradeAction (its options
    ``payloadJSON``, ``signature``, ``publicKeyId``, ``upgradeAction``: recurringUpgrade or
    recurringUpdate; a click posts them to /checkout/initiate), and the newer EU build switchAccount
    (https://static-na.payments-amazon.com/checkout.js, https://static-eu.payments-amazon.com/checkout.js)."""
    upgrade = {**signed(client, {"storeId": STORE_ID}), "upgradeAction": "recurringUpgrade"}
    sign_in = signed(client, {"signInReturnUrl": "http://shop.test/account/signed-in", "storeId": STORE_ID})
    switch = {"merchantId": "A1SIMULATORMERCHANT", "SignInConfig": sign_in, "placement": "Other", "sandbox": True}
    answer = run_checkout_js(
        sim,
        tmp_path,
        [
            ["bindUpgradeAction", ["#upgrade", upgrade]],
            ["bindUpgradeAction", ["#upgrade", {**upgrade, "upgradeAction": "downgrade"}]],
            ["switchAccount", [switch]],
        ],
    )
    assert {"bindUpgradeAction", "switchAccount"} <= set(answer["apis"])
    posted, refused, switched = answer["results"]
    (form,) = posted["submitted"]
    assert form["action"] == "http://sim.test/checkout/initiate"
    assert (
        form["fields"]["upgradeAction"] == "recurringUpgrade"
        and form["fields"]["payloadJSON"] == upgrade["payloadJSON"]
    )
    assert "Invalid value 'downgrade' for 'upgradeAction'" in refused["error"]
    (sign_in_form,) = switched["submitted"]  # signed out, then Sign in with Amazon again
    assert sign_in_form["fields"]["productType"] == "SignIn"
    assert sign_in_form["fields"]["payloadJSON"] == sign_in["payloadJSON"]
    # The simulator says plainly that it does not simulate the upgrade itself.
    page = requests.post(f"{sim.url}/checkout/initiate", data=form["fields"], timeout=5)
    assert page.status_code == 400 and "not simulated" in page.text
