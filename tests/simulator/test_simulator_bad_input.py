"""Bad input against the simulator: never a 500, always Amazon's error shape, never a state change.

Every case is one request with a valid signature and something wrong in it (the body, a field,
the path, the method, a header). The simulator must answer as Amazon's front door does
(https://developer.amazon.com/docs/amazon-pay-api-v2/error-handling.html): a 4xx status, a
JSON ``{"reasonCode", "message"}`` body, ``content-type: application/json`` and
``x-amz-pay-request-id`` (every SDK reads it, e.g. processRequest in
https://github.com/amzn/amazon-pay-api-sdk-java/blob/master/src/com/amazon/pay/api/AmazonPayClient.java),
and nothing it keeps may change: ``/control/counts`` and every object the case set up read back
the same afterwards.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from shop.amazon_pay import AmazonPayClient
from tests.support import ADDRESS_DETAILS, STORE_ID

USD = "USD"
TOKENS = ("open", "ready", "cp", "charge", "captured", "refund", "token")
_TOKEN = re.compile(r"<(" + "|".join(TOKENS) + r")>")
_TOKEN_BYTES = re.compile(_TOKEN.pattern.encode())

CREATE_SESSION = {
    "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://shop.test/checkout/review"},
    "storeId": STORE_ID,
}


def put(base: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with ``value`` at ``a.b.c`` (parents created as needed)."""
    out = copy.deepcopy(base)
    target = out
    *parents, last = dotted.split(".")
    for name in parents:
        target = target.setdefault(name, {})
    target[last] = value
    return out


def session_with(dotted: str, value: Any) -> dict[str, Any]:
    return put(CREATE_SESSION, dotted, value)


def amount(value: Any, currency: Any = USD) -> dict[str, Any]:
    return session_with("paymentDetails.chargeAmount", {"amount": value, "currencyCode": currency})


def charge_body(**fields: Any) -> dict[str, Any]:
    return {"chargePermissionId": "<cp>", "chargeAmount": {"amount": "1.00", "currencyCode": USD}, **fields}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # below /v2; may hold <open>, <ready>, <cp>, ... (objects made for the case)
    body: Any = None  # dict/list -> JSON; str -> its UTF-8 bytes as written; bytes as given
    status: int | tuple[int, ...] = 400
    reason: str | tuple[str, ...] = "InvalidParameterValue"
    headers: dict[str, str] = field(default_factory=dict)  # signed with the request
    unsigned: dict[str, str] = field(default_factory=dict)  # added after signing


def case(name: str, method: str, path: str, body: Any = None, status: Any = 400, reason: Any = None, **kw):
    return pytest.param(Case(method, path, body, status, reason or "InvalidParameterValue", **kw), id=name)


def bad(name: str, method: str, path: str, body: Any, reason: str = "InvalidParameterValue"):
    return case(name, method, path, body, 400, reason)


def sim_code(name: str, method: str, path: str, body: Any, code: str = "NoSuchSimulation"):
    return case(
        name,
        method,
        path,
        body,
        400,
        "InvalidSandboxSimulationSpecified",
        headers={"x-amz-pay-simulation-code": code},
    )


CS, CHARGES, REFUNDS = "/checkoutSessions", "/charges", "/refunds"
FORMAT = "InvalidRequestFormat"
UNKNOWN = "UnrecognizedField"
MISSING = "MissingParameterValue"
TOO_MUCH = "TransactionAmountExceeded"
NOT_FOUND = "ResourceNotFound"
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"storeId":' * 50_000 + '"x"' + "}" * 50_000

CASES = [
    # -- Create Checkout Session: bodies that are not a JSON object -----------------------------------
    bad("create-cs/malformed-json", "POST", CS, '{"storeId": ', FORMAT),
    bad("create-cs/trailing-garbage", "POST", CS, json.dumps(CREATE_SESSION) + "}", FORMAT),
    bad("create-cs/single-quotes", "POST", CS, "{'storeId': 'x'}", FORMAT),
    bad("create-cs/array", "POST", CS, [CREATE_SESSION], FORMAT),
    bad("create-cs/string", "POST", CS, '"storeId"', FORMAT),
    bad("create-cs/number", "POST", CS, "42", FORMAT),
    bad("create-cs/null", "POST", CS, "null", FORMAT),
    bad("create-cs/true", "POST", CS, "true", FORMAT),
    bad("create-cs/non-utf8", "POST", CS, b'{"storeId": "\xff\xfe\xfd"}', FORMAT),
    bad("create-cs/latin1", "POST", CS, '{"storeId": "Café"}'.encode("latin-1"), FORMAT),
    bad("create-cs/utf16", "POST", CS, json.dumps(CREATE_SESSION).encode("utf-16"), FORMAT),
    bad("create-cs/deeply-nested-array", "POST", CS, DEEP, FORMAT),
    bad("create-cs/deeply-nested-object", "POST", CS, DEEP_OBJECT, FORMAT),
    case("create-cs/oversized-body", "POST", CS, b"{" + b" " * (1024 * 1024 + 1) + b"}", 413, "InvalidRequest"),
    # -- Create Checkout Session: missing, unknown and mistyped fields ----------------------------------
    bad("create-cs/empty-body", "POST", CS, b"", MISSING),
    bad("create-cs/empty-object", "POST", CS, {}, MISSING),
    bad("create-cs/no-store-id", "POST", CS, {"webCheckoutDetails": CREATE_SESSION["webCheckoutDetails"]}, MISSING),
    bad("create-cs/empty-store-id", "POST", CS, session_with("storeId", ""), MISSING),
    bad("create-cs/no-review-url", "POST", CS, session_with("webCheckoutDetails", {}), MISSING),
    bad(
        "create-cs/process-order-no-result-url",
        "POST",
        CS,
        session_with("webCheckoutDetails", {"checkoutMode": "ProcessOrder"}),
        MISSING,
    ),
    bad("create-cs/unknown-top-field", "POST", CS, session_with("isBogus", True), UNKNOWN),
    bad(
        "create-cs/unknown-nested-field", "POST", CS, session_with("webCheckoutDetails.bogusUrl", "https://a/"), UNKNOWN
    ),
    bad("create-cs/unknown-deep-field", "POST", CS, session_with("paymentDetails.chargeAmount.tax", "1"), UNKNOWN),
    bad("create-cs/store-id-number", "POST", CS, session_with("storeId", 12345)),
    bad("create-cs/store-id-object", "POST", CS, session_with("storeId", {"id": STORE_ID})),
    bad("create-cs/store-id-too-long", "POST", CS, session_with("storeId", "x" * 257)),
    bad("create-cs/web-details-string", "POST", CS, session_with("webCheckoutDetails", "https://a/")),
    bad("create-cs/web-details-list", "POST", CS, session_with("webCheckoutDetails", ["https://a/"])),
    bad("create-cs/url-number", "POST", CS, session_with("webCheckoutDetails.checkoutReviewReturnUrl", 443)),
    bad("create-cs/url-object", "POST", CS, session_with("webCheckoutDetails.checkoutReviewReturnUrl", {"$gt": ""})),
    bad("create-cs/url-relative", "POST", CS, session_with("webCheckoutDetails.checkoutReviewReturnUrl", "/review")),
    bad("create-cs/url-javascript", "POST", CS, session_with("webCheckoutDetails.checkoutCancelUrl", "javascript:1")),
    bad("create-cs/url-ftp", "POST", CS, session_with("webCheckoutDetails.checkoutReviewReturnUrl", "ftp://a/r")),
    bad(
        "create-cs/url-bad-ipv6", "POST", CS, session_with("webCheckoutDetails.checkoutReviewReturnUrl", "http://[::1")
    ),
    bad(
        "create-cs/url-too-long",
        "POST",
        CS,
        session_with("webCheckoutDetails.checkoutReviewReturnUrl", "https://a/" + "x" * 2048),
    ),
    bad("create-cs/checkout-mode-enum", "POST", CS, session_with("webCheckoutDetails.checkoutMode", "Express")),
    bad("create-cs/scopes-string", "POST", CS, session_with("scopes", "name")),
    bad("create-cs/scopes-enum", "POST", CS, session_with("scopes", ["name", "shoeSize"])),
    bad("create-cs/scopes-numbers", "POST", CS, session_with("scopes", [1, 2])),
    bad("create-cs/scopes-too-many", "POST", CS, session_with("scopes", ["name"] * 101)),
    bad("create-cs/intent-enum", "POST", CS, session_with("paymentDetails.paymentIntent", "Capture")),
    bad("create-cs/intent-list", "POST", CS, session_with("paymentDetails.paymentIntent", ["Authorize"])),
    bad("create-cs/pending-string", "POST", CS, session_with("paymentDetails.canHandlePendingAuthorization", "true")),
    bad("create-cs/pending-number", "POST", CS, session_with("paymentDetails.canHandlePendingAuthorization", 1)),
    bad("create-cs/soft-descriptor-long", "POST", CS, session_with("paymentDetails.softDescriptor", "x" * 17)),
    bad("create-cs/presentment-enum", "POST", CS, session_with("paymentDetails.presentmentCurrency", "XBT")),
    bad("create-cs/presentment-list", "POST", CS, session_with("paymentDetails.presentmentCurrency", [USD])),
    bad("create-cs/charge-type-enum", "POST", CS, session_with("chargePermissionType", "Sometimes")),
    bad("create-cs/frequency-enum", "POST", CS, session_with("recurringMetadata.frequency", {"unit": "Fortnight"})),
    # A number is fine (the .NET SDK sends one); a fraction or a boolean is not.
    bad("create-cs/frequency-value-fraction", "POST", CS, session_with("recurringMetadata.frequency.value", 1.5)),
    bad("create-cs/frequency-value-boolean", "POST", CS, session_with("recurringMetadata.frequency.value", True)),
    bad("create-cs/metadata-string", "POST", CS, session_with("merchantMetadata", "order-1")),
    bad("create-cs/reference-too-long", "POST", CS, session_with("merchantMetadata.merchantReferenceId", "x" * 257)),
    bad("create-cs/note-number", "POST", CS, session_with("merchantMetadata.noteToBuyer", 7)),
    bad(
        "create-cs/special-restrictions-string",
        "POST",
        CS,
        session_with("deliverySpecifications", {"specialRestrictions": "RestrictPOBoxes"}),
    ),
    bad(
        "create-cs/special-restrictions-enum",
        "POST",
        CS,
        session_with("deliverySpecifications", {"specialRestrictions": ["NoMoon"]}),
    ),
    bad(
        "create-cs/restriction-type-enum",
        "POST",
        CS,
        session_with("deliverySpecifications.addressRestrictions", {"type": "Maybe"}),
    ),
    bad(
        "create-cs/restrictions-list",
        "POST",
        CS,
        session_with("deliverySpecifications.addressRestrictions.restrictions", ["US"]),
    ),
    bad(
        "create-cs/restrictions-states-number",
        "POST",
        CS,
        session_with(
            "deliverySpecifications.addressRestrictions",
            {"type": "Allowed", "restrictions": {"US": {"statesOrRegions": 5}}},
        ),
    ),
    bad("create-cs/address-name-number", "POST", CS, session_with("addressDetails", {"name": 12})),
    bad("create-cs/setup-only-string", "POST", CS, session_with("paymentMethodOnFileMetadata", {"setupOnly": "yes"})),
    bad("create-cs/provider-metadata-string", "POST", CS, session_with("providerMetadata", "p-1")),
    bad("create-cs/platform-id-too-long", "POST", CS, session_with("platformId", "p" * 65)),
    bad("create-cs/nested-garbage", "POST", CS, session_with("paymentDetails", [[{"chargeAmount": [None]}]])),
    # -- Create Checkout Session: amounts -----------------------------------------------------------------
    bad("amount/string-not-object", "POST", CS, session_with("paymentDetails.chargeAmount", "10.00")),
    bad("amount/negative", "POST", CS, amount("-1.00")),
    bad("amount/nan-string", "POST", CS, amount("NaN")),
    bad("amount/infinity-string", "POST", CS, amount("Infinity")),
    bad(
        "amount/nan-literal",
        "POST",
        CS,
        json.dumps(CREATE_SESSION)[:-1] + ',"paymentDetails":{"chargeAmount":{"amount":NaN,"currencyCode":"USD"}}}',
    ),
    bad(
        "amount/1e400-literal",
        "POST",
        CS,
        json.dumps(CREATE_SESSION)[:-1] + ',"paymentDetails":{"chargeAmount":{"amount":1e400,"currencyCode":"USD"}}}',
    ),
    case("amount/1e400-string", "POST", CS, amount("1e400"), 400, ("InvalidParameterValue", TOO_MUCH)),
    bad("amount/empty", "POST", CS, amount("")),
    bad("amount/words", "POST", CS, amount("ten dollars")),
    bad("amount/hex", "POST", CS, amount("0x10")),
    bad("amount/underscore", "POST", CS, amount("1_000.00")),
    bad("amount/non-ascii-digits", "POST", CS, amount("١٢.٠٠")),
    bad("amount/boolean", "POST", CS, amount(True)),
    bad("amount/object", "POST", CS, amount({"value": "1"})),
    bad("amount/too-many-decimals", "POST", CS, amount("10.001")),
    bad("amount/jpy-decimals", "POST", CS, amount("100.5", "JPY")),
    # Amazon refuses JPY "705.00": "The value '705.00' provided for 'chargeAmount.Amount' is invalid"
    # (https://github.com/woocommerce/woocommerce-gateway-amazon-pay/issues/148,
    # https://github.com/amzn/amazon-pay-api-sdk-php/issues/31).
    bad("amount/jpy-zero-decimals", "POST", CS, amount("705.00", "JPY")),
    bad("amount/jpy-float", "POST", CS, amount(705.0, "JPY")),
    bad("amount/usd-three-zero-decimals", "POST", CS, amount("10.000")),
    bad("amount/exponent-decimals", "POST", CS, amount(1e-05)),
    bad("amount/unknown-currency", "POST", CS, amount("10.00", "XYZ")),
    bad("amount/lowercase-currency", "POST", CS, amount("10.00", "usd")),
    bad("amount/numeric-currency", "POST", CS, amount("10.00", 840)),
    bad("amount/currency-list", "POST", CS, amount("10.00", [USD])),
    bad("amount/currency-object", "POST", CS, amount("10.00", {"code": USD})),
    bad("amount/no-currency", "POST", CS, session_with("paymentDetails.chargeAmount", {"amount": "1.00"}), MISSING),
    bad("amount/no-amount", "POST", CS, session_with("paymentDetails.chargeAmount", {"currencyCode": USD}), MISSING),
    bad("amount/over-usd-maximum", "POST", CS, amount("150000.01"), TOO_MUCH),
    bad("amount/over-jpy-maximum", "POST", CS, amount("10000001", "JPY"), TOO_MUCH),
    bad("amount/huge-number", "POST", CS, amount(1e300), TOO_MUCH),
    # -- headers every operation reads -----------------------------------------------------------------
    case(
        "create-cs/idempotency-key-too-long",
        "POST",
        CS,
        CREATE_SESSION,
        400,
        "InvalidHeaderValue",
        headers={"x-amz-pay-idempotency-key": "k" * 33},
    ),
    case(
        "create-cs/idempotency-key-bad-characters",
        "POST",
        CS,
        CREATE_SESSION,
        400,
        "InvalidHeaderValue",
        headers={"x-amz-pay-idempotency-key": "order 1/2.3"},
    ),
    case(
        "create-cs/idempotency-key-non-ascii",
        "POST",
        CS,
        CREATE_SESSION,
        400,
        "InvalidHeaderValue",
        headers={"x-amz-pay-idempotency-key": "caf\xe9"},
    ),
    sim_code("create-cs/unknown-simulation-code", "POST", CS, CREATE_SESSION),
    case(
        # PHP does not sign it: getPostSignedHeaders in
        # https://github.com/amzn/amazon-pay-api-sdk-php/blob/master/Amazon/Pay/API/Client.php
        "create-cs/unknown-simulation-code-unsigned",
        "POST",
        CS,
        CREATE_SESSION,
        400,
        "InvalidSandboxSimulationSpecified",
        unsigned={"x-amz-pay-simulation-code": "NoSuchSimulation"},
    ),
    sim_code("create-cs/simulation-code-of-another-operation", "POST", CS, CREATE_SESSION, "AmazonClosed"),
    # -- paths and methods -------------------------------------------------------------------------------
    case("path/root", "GET", "/", status=404, reason=NOT_FOUND),
    case("path/unknown-resource", "GET", "/orders/1", status=404, reason=NOT_FOUND),
    case("path/typo", "POST", "/checkoutSession", CREATE_SESSION, 404, NOT_FOUND),
    case("path/wrong-case", "POST", "/CHECKOUTSESSIONS", CREATE_SESSION, 404, NOT_FOUND),
    case("path/unknown-action", "POST", "/checkoutSessions/<ready>/approve", {}, 404, NOT_FOUND),
    case("path/extra-segment", "GET", "/charges/<charge>/capture/now", status=404, reason=NOT_FOUND),
    # Outside /v2 (the client normalises /v2/../v3 to /v3): not found, or Amazon's InvalidAPIVersion.
    case("path/api-v3", "GET", "/../v3/checkoutSessions/<open>", None, (404, 400), (NOT_FOUND, "InvalidAPIVersion")),
    case("path/api-v1", "POST", "/../sandbox/v1/checkoutSessions", {}, (404, 400), (NOT_FOUND, "InvalidAPIVersion")),
    case("method/put-collection", "PUT", CS, CREATE_SESSION, 405, "RequestNotSupported"),
    case("method/get-collection", "GET", CS, status=405, reason="RequestNotSupported"),
    case("method/delete-session", "DELETE", "/checkoutSessions/<open>", {}, 405, "RequestNotSupported"),
    case("method/post-charge", "POST", "/charges/<charge>", {}, 405, "RequestNotSupported"),
    case("method/get-capture", "GET", "/charges/<charge>/capture", status=405, reason="RequestNotSupported"),
    case("method/patch-refund", "PATCH", "/refunds/<refund>", {}, 405, "RequestNotSupported"),
    case("method/post-buyer", "POST", "/buyers/<token>", {}, 405, "RequestNotSupported"),
    case("method/options", "OPTIONS", CS, status=405, reason="RequestNotSupported"),
    # -- ids with odd characters ---------------------------------------------------------------------------
    case("id/encoded-slash", "GET", "/checkoutSessions/a%2Fb", status=404, reason=NOT_FOUND),
    case("id/encoded-dot-dot", "GET", "/checkoutSessions/%2E%2E", status=404, reason=NOT_FOUND),
    case("id/encoded-traversal", "GET", "/charges/..%2F..%2Frefunds%2F<refund>", status=404, reason=NOT_FOUND),
    case("id/unicode", "GET", "/checkoutSessions/%E2%98%83%F0%9F%92%B3", status=404, reason=NOT_FOUND),
    case("id/nul-byte", "GET", "/charges/S01%00", status=404, reason=NOT_FOUND),
    case("id/space-and-plus", "GET", "/refunds/S01%20+1", status=404, reason=NOT_FOUND),
    case("id/very-long", "GET", "/chargePermissions/" + "S" * 6000, status=404, reason=NOT_FOUND),
    case("id/script", "GET", "/checkoutSessions/%3Cscript%3E", status=404, reason=NOT_FOUND),
    case("id/other-kind", "GET", "/charges/<cp>", status=404, reason=NOT_FOUND),
    # -- Get / Update / Complete / Finalize Checkout Session -------------------------------------------------
    sim_code("get-cs/unknown-simulation-code", "GET", "/checkoutSessions/<open>", None),
    bad("update-cs/malformed-json", "PATCH", "/checkoutSessions/<open>", "{,}", FORMAT),
    bad("update-cs/array", "PATCH", "/checkoutSessions/<open>", [], FORMAT),
    bad("update-cs/non-utf8", "PATCH", "/checkoutSessions/<open>", b'{"platformId": "\x80"}', FORMAT),
    bad("update-cs/store-id-not-updatable", "PATCH", "/checkoutSessions/<open>", {"storeId": STORE_ID}, UNKNOWN),
    bad("update-cs/unknown-nested", "PATCH", "/checkoutSessions/<open>", {"paymentDetails": {"tip": "1"}}, UNKNOWN),
    bad("update-cs/url", "PATCH", "/checkoutSessions/<open>", {"webCheckoutDetails": {"checkoutResultReturnUrl": "x"}}),
    bad("update-cs/intent-enum", "PATCH", "/checkoutSessions/<open>", {"paymentDetails": {"paymentIntent": "Now"}}),
    bad("update-cs/supplementary-number", "PATCH", "/checkoutSessions/<open>", {"supplementaryData": 1}),
    bad(
        "update-cs/currency-list",
        "PATCH",
        "/checkoutSessions/<open>",
        {"paymentDetails": {"chargeAmount": {"amount": "1.00", "currencyCode": ["EUR"]}}},
    ),
    bad(
        "update-cs/over-maximum",
        "PATCH",
        "/checkoutSessions/<open>",
        {"paymentDetails": {"chargeAmount": {"amount": "150000.01", "currencyCode": USD}}},
        TOO_MUCH,
    ),
    case("update-cs/unknown-id", "PATCH", "/checkoutSessions/nope", {}, 404, NOT_FOUND),
    sim_code("update-cs/unknown-simulation-code", "PATCH", "/checkoutSessions/<open>", {}),
    bad("complete/malformed-json", "POST", "/checkoutSessions/<ready>/complete", "{", FORMAT),
    bad("complete/string-body", "POST", "/checkoutSessions/<ready>/complete", '"25.00"', FORMAT),
    bad("complete/no-charge-amount", "POST", "/checkoutSessions/<ready>/complete", {}, MISSING),
    bad("complete/charge-amount-string", "POST", "/checkoutSessions/<ready>/complete", {"chargeAmount": "25.00"}),
    bad(
        "complete/negative",
        "POST",
        "/checkoutSessions/<ready>/complete",
        {"chargeAmount": {"amount": "-25.00", "currencyCode": USD}},
    ),
    bad(
        "complete/unknown-field",
        "POST",
        "/checkoutSessions/<ready>/complete",
        {"chargeAmount": {"amount": "25.00", "currencyCode": USD}, "captureNow": True},
        UNKNOWN,
    ),
    bad(
        "complete/total-currency",
        "POST",
        "/checkoutSessions/<ready>/complete",
        {
            "chargeAmount": {"amount": "25.00", "currencyCode": USD},
            "totalOrderAmount": {"amount": "1", "currencyCode": 1},
        },
    ),
    sim_code(
        "complete/unknown-simulation-code",
        "POST",
        "/checkoutSessions/<ready>/complete",
        {"chargeAmount": {"amount": "25.00", "currencyCode": USD}},
    ),
    sim_code(
        "complete/simulation-code-of-capture",
        "POST",
        "/checkoutSessions/<ready>/complete",
        {"chargeAmount": {"amount": "25.00", "currencyCode": USD}},
        "CaptureInitiated",
    ),
    case("complete/unknown-id", "POST", "/checkoutSessions/nope/complete", {}, 404, NOT_FOUND),
    bad("finalize/array", "POST", "/checkoutSessions/<ready>/finalize", [1, 2], FORMAT),
    bad("finalize/address-string", "POST", "/checkoutSessions/<ready>/finalize", {"shippingAddress": "Main St"}),
    bad(
        "finalize/country-number",
        "POST",
        "/checkoutSessions/<ready>/finalize",
        {"billingAddress": {"countryCode": 840}},
    ),
    bad("finalize/intent-enum", "POST", "/checkoutSessions/<ready>/finalize", {"paymentIntent": "Later"}),
    bad("finalize/unknown-field", "POST", "/checkoutSessions/<ready>/finalize", {"orderId": "1"}, UNKNOWN),
    sim_code("finalize/unknown-simulation-code", "POST", "/checkoutSessions/<ready>/finalize", {}),
    # -- Charge Permission -------------------------------------------------------------------------------------
    sim_code("get-cp/unknown-simulation-code", "GET", "/chargePermissions/<cp>", None),
    bad("update-cp/malformed-json", "PATCH", "/chargePermissions/<cp>", "{merchantMetadata:{}}", FORMAT),
    bad("update-cp/metadata-string", "PATCH", "/chargePermissions/<cp>", {"merchantMetadata": "x"}),
    bad("update-cp/state-not-updatable", "PATCH", "/chargePermissions/<cp>", {"statusDetails": {}}, UNKNOWN),
    bad(
        "update-cp/recurring-amount",
        "PATCH",
        "/chargePermissions/<cp>",
        {"recurringMetadata": {"amount": {"amount": "x", "currencyCode": USD}}},
    ),
    sim_code("update-cp/unknown-simulation-code", "PATCH", "/chargePermissions/<cp>", {}),
    bad("close-cp/array", "DELETE", "/chargePermissions/<cp>/close", ["closureReason"], FORMAT),
    bad("close-cp/reason-number", "DELETE", "/chargePermissions/<cp>/close", {"closureReason": 1}),
    bad("close-cp/reason-too-long", "DELETE", "/chargePermissions/<cp>/close", {"closureReason": "x" * 256}),
    bad("close-cp/cancel-string", "DELETE", "/chargePermissions/<cp>/close", {"cancelPendingCharges": "yes"}),
    bad("close-cp/unknown-field", "DELETE", "/chargePermissions/<cp>/close", {"force": True}, UNKNOWN),
    sim_code("close-cp/unknown-simulation-code", "DELETE", "/chargePermissions/<cp>/close", {"closureReason": "x"}),
    case("close-cp/unknown-id", "DELETE", "/chargePermissions/S01-0000000-0000000/close", {}, 404, NOT_FOUND),
    # -- Charge --------------------------------------------------------------------------------------------------
    bad("create-charge/empty", "POST", CHARGES, {}, MISSING),
    bad("create-charge/number-body", "POST", CHARGES, "3.14", FORMAT),
    bad("create-charge/cp-number", "POST", CHARGES, charge_body(chargePermissionId=1)),
    bad("create-charge/no-amount", "POST", CHARGES, {"chargePermissionId": "<cp>"}, MISSING),
    bad(
        "create-charge/amount-jpy", "POST", CHARGES, charge_body(chargeAmount={"amount": "1.5", "currencyCode": "JPY"})
    ),
    bad(
        "create-charge/over-maximum",
        "POST",
        CHARGES,
        charge_body(chargeAmount={"amount": "150000.01", "currencyCode": USD}),
        TOO_MUCH,
    ),
    bad("create-charge/capture-now-string", "POST", CHARGES, charge_body(captureNow="true")),
    bad("create-charge/initiator-enum", "POST", CHARGES, charge_body(chargeInitiator="ME")),
    bad("create-charge/channel-enum", "POST", CHARGES, charge_body(channel="Fax")),
    bad("create-charge/result-url", "POST", CHARGES, charge_body(webCheckoutDetails={"checkoutResultReturnUrl": "no"})),
    bad(
        "create-charge/review-url-unknown",
        "POST",
        CHARGES,
        charge_body(webCheckoutDetails={"checkoutReviewReturnUrl": "https://a/"}),
        UNKNOWN,
    ),
    bad(
        "create-charge/soft-descriptor-without-capture",
        "POST",
        CHARGES,
        charge_body(softDescriptor="SHOP"),
        "InvalidParameterCombination",
    ),
    bad(
        "create-charge/currency-mismatch",
        "POST",
        CHARGES,
        charge_body(chargeAmount={"amount": "1.00", "currencyCode": "EUR"}),
        "CurrencyMismatch",
    ),
    case(
        "create-charge/unknown-cp",
        "POST",
        CHARGES,
        charge_body(chargePermissionId="S01-0000000-0000000"),
        404,
        NOT_FOUND,
    ),
    sim_code("create-charge/unknown-simulation-code", "POST", CHARGES, charge_body()),
    sim_code("create-charge/simulation-code-of-close", "POST", CHARGES, charge_body(), "AmazonClosed"),
    sim_code("get-charge/unknown-simulation-code", "GET", "/charges/<charge>", None),
    bad("capture/empty", "POST", "/charges/<charge>/capture", {}, MISSING),
    bad("capture/amount-string", "POST", "/charges/<charge>/capture", {"captureAmount": "25.00"}),
    bad(
        "capture/over-authorized",
        "POST",
        "/charges/<charge>/capture",
        {"captureAmount": {"amount": "25.01", "currencyCode": USD}},
        TOO_MUCH,
    ),
    bad(
        "capture/currency-mismatch",
        "POST",
        "/charges/<charge>/capture",
        {"captureAmount": {"amount": "1.00", "currencyCode": "GBP"}},
        "CurrencyMismatch",
    ),
    bad(
        "capture/soft-descriptor-long",
        "POST",
        "/charges/<charge>/capture",
        {"captureAmount": {"amount": "1.00", "currencyCode": USD}, "softDescriptor": "x" * 17},
    ),
    bad("capture/unknown-field", "POST", "/charges/<charge>/capture", {"amount": "1.00"}, UNKNOWN),
    sim_code(
        "capture/unknown-simulation-code",
        "POST",
        "/charges/<charge>/capture",
        {"captureAmount": {"amount": "1.00", "currencyCode": USD}},
    ),
    bad("cancel/malformed-json", "DELETE", "/charges/<charge>/cancel", "{]", FORMAT),
    bad("cancel/reason-number", "DELETE", "/charges/<charge>/cancel", {"cancellationReason": 1}),
    bad("cancel/reason-too-long", "DELETE", "/charges/<charge>/cancel", {"cancellationReason": "x" * 256}),
    bad("cancel/unknown-field", "DELETE", "/charges/<charge>/cancel", {"reason": "x"}, UNKNOWN),
    sim_code("cancel/unknown-simulation-code", "DELETE", "/charges/<charge>/cancel", {}),
    # -- Refund and Buyer -------------------------------------------------------------------------------------------
    bad("create-refund/empty", "POST", REFUNDS, {}, MISSING),
    bad("create-refund/charge-id-list", "POST", REFUNDS, {"chargeId": ["<captured>"]}),
    bad("create-refund/no-amount", "POST", REFUNDS, {"chargeId": "<captured>"}, MISSING),
    bad(
        "create-refund/negative",
        "POST",
        REFUNDS,
        {"chargeId": "<captured>", "refundAmount": {"amount": "-1.00", "currencyCode": USD}},
    ),
    bad(
        "create-refund/over-refundable",
        "POST",
        REFUNDS,
        {"chargeId": "<captured>", "refundAmount": {"amount": "5.76", "currencyCode": USD}},
        TOO_MUCH,
    ),
    bad(
        "create-refund/unknown-field",
        "POST",
        REFUNDS,
        {"chargeId": "<captured>", "refundAmount": {"amount": "1.00", "currencyCode": USD}, "reason": "x"},
        UNKNOWN,
    ),
    sim_code(
        "create-refund/unknown-simulation-code",
        "POST",
        REFUNDS,
        {"chargeId": "<captured>", "refundAmount": {"amount": "1.00", "currencyCode": USD}},
    ),
    sim_code("get-refund/unknown-simulation-code", "GET", "/refunds/<refund>", None),
    bad("get-buyer/unknown-token", "GET", "/buyers/nope", None),
    bad("get-buyer/odd-token", "GET", "/buyers/%E2%98%83%00" + "A" * 3000, None),
    sim_code("get-buyer/unknown-simulation-code", "GET", "/buyers/<token>", None),
]


# -- the objects a case needs, made through the API and the control endpoints ------------------------------------


class World:
    """Objects made on demand: ``<open>`` an Open session, ``<ready>`` one ready to complete,
    ``<cp>``/``<charge>`` a Charge Permission and its Authorized 25.00 USD Charge, ``<captured>``
    a Captured 5.00 USD Charge, ``<refund>`` a Refund of it, ``<token>`` a buyer token."""

    def __init__(self, sim, client, buyer):
        self.sim, self.client, self.buyer = sim, client, buyer
        self.ids: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self.ids:
            self.ids[name] = getattr(self, f"_make_{name}")()
        return self.ids[name]

    def _make_open(self) -> str:
        return self.client.create_checkout_session(CREATE_SESSION).body["checkoutSessionId"]

    def _make_ready(self) -> str:
        return self.buyer.ready_to_complete()

    def _make_cp(self) -> str:
        # A 25.00 Charge of a 50.00 order: ``<captured>`` is another Charge on its one-time Charge
        # Permission, which takes no more than the total order amount.
        session_id = self.buyer.sign_in()
        self.client.update_checkout_session(
            session_id,
            {
                "webCheckoutDetails": {"checkoutResultReturnUrl": "http://shop.test/checkout/result"},
                "paymentDetails": {
                    "paymentIntent": "Authorize",
                    "chargeAmount": {"amount": "25.00", "currencyCode": USD},
                    "totalOrderAmount": {"amount": "50.00", "currencyCode": USD},
                },
            },
        )
        assert self.buyer.pass_redirect(session_id).status_code == 200
        done = self.client.complete_checkout_session(
            session_id, {"chargeAmount": {"amount": "25.00", "currencyCode": USD}}
        ).body
        self.ids["charge"] = done["chargeId"]
        return done["chargePermissionId"]

    def _make_charge(self) -> str:
        self["cp"]
        return self.ids["charge"]

    def _make_captured(self) -> str:
        body = {"chargePermissionId": self["cp"], "chargeAmount": {"amount": "5.00", "currencyCode": USD}}
        return self.client.create_charge({**body, "captureNow": True}).body["chargeId"]

    def _make_refund(self) -> str:
        body = {"chargeId": self["captured"], "refundAmount": {"amount": "1.00", "currencyCode": USD}}
        return self.client.create_refund(body).body["refundId"]

    def _make_token(self) -> str:
        payload = json.dumps({"signInReturnUrl": "https://shop.test/signin", "storeId": STORE_ID})
        body = {
            "payloadJSON": payload,
            "signature": self.client.generate_button_signature(payload),
            "publicKeyId": self.client.public_key_id,
        }
        with requests.post(f"{self.sim.url}/control/sign-in", json=body, timeout=5) as response:
            assert response.status_code == 200, response.text
            return response.json()["buyerToken"]

    def fill(self, text: str) -> str:
        return _TOKEN.sub(lambda found: self[found.group(1)], text)

    def snapshot(self) -> dict[str, Any]:
        """What the simulator keeps, as a merchant and a tester can read it."""
        getters = {
            "open": "/checkoutSessions/",
            "ready": "/checkoutSessions/",
            "cp": "/chargePermissions/",
            "charge": "/charges/",
            "captured": "/charges/",
            "refund": "/refunds/",
            "token": "/buyers/",
        }
        seen: dict[str, Any] = {"counts": self.sim.counts()}
        for name, object_id in sorted(self.ids.items()):
            with send(self.sim, self.client, "GET", getters[name] + object_id) as response:
                seen[name] = (response.status_code, response.json())
        return seen


def encode(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def send(sim, client, method: str, resource: str, body: bytes = b"", headers=None, unsigned=None):
    """One request signed as our client signs it (``/v2`` + ``SANDBOX-`` key), sent byte for byte."""
    path = "/v2" + resource
    sent = client.signed_headers(method, path, body, None, headers, now=sim.clock.request_time())
    sent.update(unsigned or {})
    return requests.request(method, sim.url + path, data=body, headers=sent, timeout=10)


def assert_amazon_error(response: requests.Response, status: Any, reason: Any) -> dict[str, Any]:
    """Amazon's error answer: the status, JSON ``{"reasonCode", "message"}``, a request id."""
    assert response.status_code < 500, response.text
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.text[:500]
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    assert response.headers.get("x-amz-pay-request-id"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"reasonCode", "message"}, body
    assert isinstance(body["message"], str) and body["message"], body
    reasons = (reason,) if isinstance(reason, str) else reason
    assert body["reasonCode"] in reasons, body
    return body


@pytest.fixture
def world(sim, client, buyer) -> World:
    """A new, empty store and clock for every case (so no case can spoil another), objects on demand."""
    return World(sim, client, buyer)


@pytest.mark.parametrize("bad_case", CASES)
def test_bad_request_is_an_amazon_error_and_changes_nothing(world, bad_case: Case):
    sim, client = world.sim, world.client
    resource = world.fill(bad_case.path)
    body = _TOKEN_BYTES.sub(lambda found: world[found.group(1).decode()].encode(), encode(bad_case.body))
    before = world.snapshot()

    with send(sim, client, bad_case.method, resource, body, bad_case.headers, bad_case.unsigned) as response:
        assert_amazon_error(response, bad_case.status, bad_case.reason)

    assert world.snapshot() == before


# -- null for an optional object: the same as leaving it out, never a broken session --------------------------


@pytest.mark.parametrize(
    "method, resource, body",
    [
        ("POST", CS, session_with("paymentDetails", None)),
        ("POST", CS, session_with("merchantMetadata", None)),
        ("POST", CS, {**session_with("deliverySpecifications", None), "recurringMetadata": None, "scopes": None}),
        ("PATCH", "/checkoutSessions/<open>", {"webCheckoutDetails": None}),
        ("PATCH", "/checkoutSessions/<open>", {"paymentDetails": None}),
        ("PATCH", "/checkoutSessions/<open>", {"merchantMetadata": None, "recurringMetadata": None}),
        ("PATCH", "/checkoutSessions/<open>", {"paymentDetails": {"chargeAmount": None, "paymentIntent": None}}),
    ],
    ids=[
        "create-payment",
        "create-metadata",
        "create-others",
        "update-web",
        "update-payment",
        "update-metadata",
        "update-inner",
    ],
)
def test_null_optional_objects_never_break_a_session(world, method, resource, body):
    sim, client = world.sim, world.client
    with send(sim, client, method, world.fill(resource), encode(body)) as response:
        assert response.status_code < 500, response.text
        answer = response.json()
    if response.status_code >= 400:
        assert set(answer) == {"reasonCode", "message"}
        return
    with send(sim, client, "GET", f"/checkoutSessions/{answer['checkoutSessionId']}") as again:
        assert again.status_code == 200, again.text
        assert again.json()["checkoutSessionId"] == answer["checkoutSessionId"]


# -- the control endpoints (the buyer and the tester, no signature) --------------------------------------------


def signed(payload: Any, **extra: Any):
    """A control body carrying ``payload`` signed as a button payload, built when the case runs."""

    def build(client: AmazonPayClient) -> dict[str, Any]:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        body = {
            "payloadJSON": text,
            "signature": client.generate_button_signature(text),
            "publicKeyId": client.public_key_id,
        }
        body.update(extra)
        return body

    return build


BUTTON = {
    "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://shop.test/checkout/review"},
    "storeId": STORE_ID,
}
SIGN_IN = {"signInReturnUrl": "https://shop.test/signin", "storeId": STORE_ID}
JSON = "application/json"


def ctl(name, method, path, body, status=400, reason="InvalidParameterValue", content_type=JSON, stateless=True):
    """``status`` None: any answer but a 5xx will do. ``stateless``: /control/counts must not move."""
    return pytest.param(method, path, body, content_type, status, reason, stateless, id=name)


CONTROL_CASES = [
    ctl("clock/malformed-json", "POST", "/control/clock", '{"advanceSeconds": ', reason=FORMAT),
    ctl("clock/not-json", "POST", "/control/clock", "advanceSeconds=60", reason=FORMAT, content_type="text/plain"),
    ctl("clock/non-utf8", "POST", "/control/clock", b'{"advanceSeconds": "\xff"}', reason=FORMAT),
    ctl("clock/array", "POST", "/control/clock", "[60]", reason=FORMAT),
    ctl("clock/deeply-nested", "POST", "/control/clock", DEEP, reason=FORMAT),
    ctl("clock/missing", "POST", "/control/clock", "{}"),
    ctl("clock/string", "POST", "/control/clock", '{"advanceSeconds": "60"}'),
    ctl("clock/boolean", "POST", "/control/clock", '{"advanceSeconds": true}'),
    ctl("clock/negative", "POST", "/control/clock", '{"advanceSeconds": -1}'),
    ctl("clock/nan", "POST", "/control/clock", '{"advanceSeconds": NaN}'),
    ctl("clock/infinity", "POST", "/control/clock", '{"advanceSeconds": Infinity}'),
    ctl("clock/1e300", "POST", "/control/clock", '{"advanceSeconds": 1e300}'),
    ctl("clock/past-year-9999", "POST", "/control/clock", '{"advanceSeconds": 1e12}'),
    ctl("clock/wrong-method", "PUT", "/control/clock", '{"advanceSeconds": 1}', 405, "RequestNotSupported"),
    ctl("control/unknown-path", "POST", "/control/teleport", "{}", 404, NOT_FOUND),
    ctl("button/malformed-json", "POST", "/control/button-checkout", "{", reason=FORMAT),
    ctl("button/string", "POST", "/control/button-checkout", '"click"', reason=FORMAT),
    ctl("button/empty", "POST", "/control/button-checkout", "{}", reason=MISSING),
    ctl("button/payload-number", "POST", "/control/button-checkout", signed(BUTTON, payloadJSON=5)),
    ctl("button/signature-list", "POST", "/control/button-checkout", signed(BUTTON, signature=["x"])),
    ctl("button/key-id-object", "POST", "/control/button-checkout", signed(BUTTON, publicKeyId={})),
    ctl("button/algorithm-number", "POST", "/control/button-checkout", signed(BUTTON, algorithm=2)),
    ctl(
        "button/bad-signature",
        "POST",
        "/control/button-checkout",
        signed(BUTTON, signature="AAAA"),
        reason="InvalidSignatureError",
    ),
    ctl(
        "button/signature-not-base64",
        "POST",
        "/control/button-checkout",
        signed(BUTTON, signature="%%%"),
        reason="InvalidSignatureError",
    ),
    ctl(
        "button/unknown-key",
        "POST",
        "/control/button-checkout",
        signed(BUTTON, publicKeyId="SANDBOX-NOSUCHKEY"),
        reason="InvalidSignatureError",
    ),
    ctl(
        "button/unknown-algorithm",
        "POST",
        "/control/button-checkout",
        signed(BUTTON, algorithm="RSA-MD5"),
        reason="InvalidSignatureError",
    ),
    ctl("button/payload-not-json", "POST", "/control/button-checkout", signed("{storeId}"), reason=FORMAT),
    ctl("button/payload-array", "POST", "/control/button-checkout", signed([BUTTON]), reason=FORMAT),
    ctl("button/payload-deep", "POST", "/control/button-checkout", signed(DEEP), reason=FORMAT),
    ctl("button/payload-unknown-field", "POST", "/control/button-checkout", signed({**BUTTON, "x": 1}), reason=UNKNOWN),
    ctl(
        "button/payload-no-store",
        "POST",
        "/control/button-checkout",
        signed({**BUTTON, "storeId": None}),
        reason=MISSING,
    ),
    ctl(
        "button/payload-bad-url",
        "POST",
        "/control/button-checkout",
        signed(put(BUTTON, "webCheckoutDetails.checkoutReviewReturnUrl", "http://[::1")),
    ),
    ctl(
        "button/payload-currency-list",
        "POST",
        "/control/button-checkout",
        signed(put(BUTTON, "paymentDetails.presentmentCurrency", ["EUR"])),
    ),
    ctl("button/product-type-enum", "POST", "/control/button-checkout", signed(BUTTON, productType="PayLater")),
    ctl("button/product-type-number", "POST", "/control/button-checkout", signed(BUTTON, productType=1)),
    ctl("button/region-list", "POST", "/control/button-checkout", signed(BUTTON, region=["eu"]), stateless=False),
    ctl("button/address-number", "POST", "/control/button-checkout", signed(BUTTON, address=5)),
    ctl("button/address-unknown", "POST", "/control/button-checkout", signed(BUTTON, address="mars"), stateless=False),
    ctl(
        "button/instrument-unknown",
        "POST",
        "/control/button-checkout",
        signed(BUTTON, instrument="0000"),
        stateless=False,
    ),
    ctl(
        "button/process-order-payload",
        "POST",
        "/control/button-checkout",
        signed(
            {
                "webCheckoutDetails": {
                    "checkoutResultReturnUrl": "https://shop.test/checkout/result",
                    "checkoutMode": "ProcessOrder",
                },
                "storeId": STORE_ID,
                "addressDetails": ADDRESS_DETAILS,
                "paymentDetails": {
                    "paymentIntent": "Authorize",
                    "chargeAmount": {"amount": "10.00", "currencyCode": USD},
                },
            }
        ),
        None,
        stateless=False,
    ),
    ctl(
        "button/payload-payment-details-null",
        "POST",
        "/control/button-checkout",
        signed({**BUTTON, "paymentDetails": None}),
        None,
        stateless=False,
    ),
    ctl("sign-in/empty", "POST", "/control/sign-in", "{}", reason=MISSING),
    ctl("sign-in/array", "POST", "/control/sign-in", "[]", reason=FORMAT),
    ctl("sign-in/no-return-url", "POST", "/control/sign-in", signed({"storeId": STORE_ID}), reason=MISSING),
    ctl("sign-in/return-url-number", "POST", "/control/sign-in", signed({"signInReturnUrl": 5}), reason=MISSING),
    ctl(
        "sign-in/bad-signature",
        "POST",
        "/control/sign-in",
        signed(SIGN_IN, signature="AAAA"),
        reason="InvalidSignatureError",
    ),
    ctl("sign-in/region-unknown", "POST", "/control/sign-in", signed(SIGN_IN, region="mars")),
    ctl("buyer/unknown-session", "POST", "/control/checkout-sessions/nope/buyer", "{}", 404, NOT_FOUND),
    ctl("buyer/array", "POST", "/control/checkout-sessions/<open>/buyer", "[]", reason=FORMAT),
    ctl("buyer/deep", "POST", "/control/checkout-sessions/<open>/buyer", DEEP_OBJECT, reason=FORMAT),
    ctl("buyer/address-unknown", "POST", "/control/checkout-sessions/<open>/buyer", '{"address": "mars"}'),
    ctl("buyer/instrument-number", "POST", "/control/checkout-sessions/<open>/buyer", '{"instrument": 1111}'),
    ctl("buyer/region-list", "POST", "/control/checkout-sessions/<open>/buyer", '{"region": ["jp"]}'),
    ctl("buyer/odd-id", "POST", "/control/checkout-sessions/%E2%98%83%00/buyer", "{}", 404, NOT_FOUND),
    ctl("redirect/unknown-session", "POST", "/control/checkout-sessions/nope/redirect", "{}", 404, NOT_FOUND),
    ctl("redirect/malformed-json", "POST", "/control/checkout-sessions/<open>/redirect", "{{", reason=FORMAT),
    ctl("redirect/outcome-enum", "POST", "/control/checkout-sessions/<open>/redirect", '{"outcome": "Maybe"}'),
    ctl("redirect/outcome-number", "POST", "/control/checkout-sessions/<open>/redirect", '{"outcome": 3}'),
    ctl(
        "redirect/buyer-not-signed-in",
        "POST",
        "/control/checkout-sessions/<open>/redirect",
        "{}",
        reason="InvalidCheckoutSessionStatus",
    ),
]


@pytest.mark.parametrize("method, path, body, content_type, status, reason, stateless", CONTROL_CASES)
def test_control_endpoints_never_fail_on_garbage(world, method, path, body, content_type, status, reason, stateless):
    sim, client = world.sim, world.client
    data = encode(body(client) if callable(body) else body)
    url = sim.url + world.fill(path)
    before = world.snapshot()

    with requests.request(method, url, data=data, headers={"content-type": content_type}, timeout=10) as response:
        assert response.status_code < 500, response.text
        if status is not None:
            assert response.status_code == status, response.text
        assert response.headers.get("content-type", "").startswith("application/json"), response.headers
        answer = response.json()
        if response.status_code >= 400:
            assert set(answer) == {"reasonCode", "message"}, answer
            assert answer["reasonCode"] == reason, answer
    if stateless:
        assert world.snapshot() == before

    # Still healthy afterwards: the merchant can create a Checkout Session and read it back.
    session_id = world.client.create_checkout_session(CREATE_SESSION).body["checkoutSessionId"]
    assert world.client.get_checkout_session(session_id).body["statusDetails"]["state"] == "Open"


@pytest.mark.parametrize(
    "restrictions",
    [
        {"US": {"statesOrRegions": 5}},
        {"US": {"zipCodes": 98109}},
        {"US": {"statesOrRegions": [None, {}], "zipCodes": [[]]}},
        {"US": "everywhere", "CA": ["ON"]},
    ],
    ids=["states-number", "zip-codes-number", "nested-garbage", "rule-not-object"],
)
def test_garbage_address_restrictions_never_crash_the_buyer_step(world, restrictions):
    """Either Create Checkout Session refuses them (400), or the buyer can still sign in (no 5xx)."""
    sim, client = world.sim, world.client
    body = session_with("deliverySpecifications.addressRestrictions", {"type": "Allowed", "restrictions": restrictions})
    with send(sim, client, "POST", CS, encode(body)) as created:
        assert created.status_code in (201, 400), created.text
        if created.status_code == 400:
            assert created.json()["reasonCode"] == "InvalidParameterValue"
            return
        session_id = created.json()["checkoutSessionId"]
    url = f"{sim.url}/control/checkout-sessions/{session_id}/buyer"
    with requests.post(url, json={"address": "us-home"}, timeout=10) as response:
        assert response.status_code < 500, response.text
