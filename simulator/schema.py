"""Request body validation with Amazon's error codes.

A schema is a dict of field name -> spec; a spec is a nested schema (an object), a
``ListOf`` or a checker function. Unknown fields answer 400 ``UnrecognizedField``, wrong
types or values 400 ``InvalidParameterValue``, a body that is not a JSON object 400
``InvalidRequestFormat``: what Amazon's "Error handling" page lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from .errors import ApiError, invalid_parameter, missing_parameter, unrecognized_field

#: Minor-unit digits per currency (ISO 4217). Ledger currencies first, then presentment ones.
CURRENCY_DIGITS = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "DKK": 2,
    "HKD": 2,
    "NOK": 2,
    "NZD": 2,
    "SEK": 2,
    "ZAR": 2,
}
#: Amazon's per-transaction maximum (Charge page: US $150,000, UK £150,000, DE €150,000, JP ¥10,000,000).
MAX_AMOUNT = {"USD": Decimal(150000), "EUR": Decimal(150000), "GBP": Decimal(150000), "JPY": Decimal(10000000)}

Checker = Callable[[Any, str], Any]


@dataclass(frozen=True)
class ListOf:
    item: Any
    max_items: int = 100


MAX_DEPTH = 16  # Amazon's deepest request object has 5 levels


def parse_body(raw: bytes | str) -> dict[str, Any]:
    """A JSON object, or 400 InvalidRequestFormat (bad UTF-8, bad JSON, too deep, not an object)."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "InvalidRequestFormat", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidRequestFormat", "The request body must be a JSON object.")
    if _depth(body) > MAX_DEPTH:
        raise ApiError(400, "InvalidRequestFormat", f"The request body is nested more than {MAX_DEPTH} levels deep.")
    return body


def _depth(value: Any) -> int:
    """Nesting depth, without recursion (a hostile body must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def validate(body: Any, schema: dict[str, Any], path: str = "") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_parameter(path or "body")
    for name, value in body.items():
        where = f"{path}.{name}" if path else name
        if name not in schema:
            raise unrecognized_field(where)
        if value is not None:
            check(value, schema[name], where)
    return body


def check(value: Any, spec: Any, where: str) -> None:
    if isinstance(spec, dict):
        validate(value, spec, where)
    elif isinstance(spec, ListOf):
        if not isinstance(value, list) or len(value) > spec.max_items:
            raise invalid_parameter(where)
        for index, item in enumerate(value):
            check(item, spec.item, f"{where}[{index}]")
    else:
        spec(value, where)


def text_field(body: dict[str, Any], name: str, required: bool = True) -> str | None:
    """A control endpoint's text field: missing (``MissingParameterValue`` if required) or a
    string (``InvalidParameterValue`` otherwise)."""
    value = body.get(name)
    if value is None:
        if required:
            raise missing_parameter(name)
        return None
    if not isinstance(value, str):
        raise invalid_parameter(name)
    return value


def require(body: dict[str, Any], dotted: str) -> Any:
    value: Any = body
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None or value == "":
        raise missing_parameter(dotted)
    return value


# -- checkers ------------------------------------------------------------------------------


def string(max_length: int = 1024) -> Checker:
    def checker(value: Any, where: str) -> None:
        if not isinstance(value, str) or len(value) > max_length:
            raise invalid_parameter(where, f"Expected a string of at most {max_length} characters.")

    return checker


def one_of(*allowed: str) -> Checker:
    def checker(value: Any, where: str) -> None:
        if value not in allowed:
            raise invalid_parameter(where, f"Allowed values: {', '.join(allowed)}.")

    return checker


def boolean(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise invalid_parameter(where, "Expected true or false.")


def url(value: Any, where: str) -> None:
    string(1024)(value, where)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise invalid_parameter(where, "Expected an absolute https URL.") from None
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise invalid_parameter(where, "Expected an absolute https URL.")


def currency(value: Any, where: str) -> None:
    if not isinstance(value, str) or value not in CURRENCY_DIGITS:
        raise invalid_parameter(where, "Unsupported currency code.")


_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,10})?$")


def amount_value(value: Any, where: str) -> None:
    """A decimal string such as "14.00" (numbers are accepted too, as Amazon does)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_parameter(where)
    text = str(value) if not isinstance(value, float) else repr(value)
    if isinstance(value, str) and not _AMOUNT.match(value):
        raise invalid_parameter(where, 'Expected a decimal amount such as "14.00".')
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise invalid_parameter(where) from None
    if not number.is_finite() or number < 0:
        raise invalid_parameter(where)


def price(value: Any, where: str) -> None:
    """An ``{amount, currencyCode}`` object: both present, digits within the currency's."""
    validate(value, {"amount": amount_value, "currencyCode": currency}, where)
    if value.get("amount") is None:
        raise missing_parameter(f"{where}.amount")
    code = value.get("currencyCode")
    if code is None:
        raise missing_parameter(f"{where}.currencyCode")
    amount = value["amount"]
    text = repr(amount) if isinstance(amount, float) else str(amount)
    number = Decimal(text)
    if number >= Decimal(10) ** 12:
        raise ApiError(
            400, "TransactionAmountExceeded", f"The amount in {where} exceeds the maximum allowed for {code}."
        )
    # Written digits count, not the value: Amazon refuses JPY "705.00" ("The value '705.00' provided
    # for 'chargeAmount.Amount' is invalid": woocommerce-gateway-amazon-pay #148,
    # https://github.com/woocommerce/woocommerce-gateway-amazon-pay/issues/148; amazon-pay-api-sdk-php
    # #31, https://github.com/amzn/amazon-pay-api-sdk-php/issues/31). SIMULATOR CHOICE: more decimals
    # than any currency has (USD "14.000") are refused the same way.
    if -number.as_tuple().exponent > CURRENCY_DIGITS[code]:
        raise ApiError(
            400,
            "InvalidParameterValue",
            f"The value '{text}' provided for '{where}.amount' is invalid. {code} amounts have "
            f"{CURRENCY_DIGITS[code]} decimal places.",
        )


def to_decimal(price_object: dict[str, Any]) -> Decimal:
    return Decimal(str(price_object["amount"]))


def price_json(amount: Decimal, code: str) -> dict[str, str]:
    """Amounts are strings in responses, with the currency's digits ("14.00", "500")."""
    digits = CURRENCY_DIGITS.get(code, 2)
    return {"amount": str(amount.quantize(Decimal(1).scaleb(-digits))), "currencyCode": code}


def check_maximum(price_object: dict[str, Any], where: str) -> None:
    code = price_object["currencyCode"]
    if code in MAX_AMOUNT and to_decimal(price_object) > MAX_AMOUNT[code]:
        raise ApiError(
            400, "TransactionAmountExceeded", f"The amount in {where} exceeds the maximum allowed for {code}."
        )


# -- shared pieces of the operation schemas --------------------------------------------------

MERCHANT_METADATA = {
    "merchantReferenceId": string(256),
    "merchantStoreName": string(50),
    "noteToBuyer": string(255),
    "customInformation": string(4096),
}
PROVIDER_METADATA = {"providerReferenceId": string(256)}
PAYMENT_INTENT = one_of("Confirm", "Authorize", "AuthorizeWithCapture")
CHARGE_PERMISSION_TYPE = one_of("OneTime", "Recurring", "PaymentMethodOnFile")


def frequency_value(value: Any, where: str) -> None:
    """``recurringMetadata.frequency.value``: a string such as "1", or a number, as the .NET SDK
    sends it (``int? Value``,
    https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/WebStore/Types/Frequency.cs)."""
    if isinstance(value, bool) or not isinstance(value, str | int) or len(str(value)) > 8:
        raise invalid_parameter(where, 'Expected a whole number such as "1".')


RECURRING_METADATA = {
    "frequency": {"unit": one_of("Year", "Month", "Week", "Day", "Variable"), "value": frequency_value},
    "amount": price,
}
PAYMENT_METHOD_ON_FILE_METADATA = {"setupOnly": boolean}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REGION_RULE = {"statesOrRegions": ListOf(string(64)), "zipCodes": ListOf(string(32))}


def address_restrictions(value: Any, where: str) -> None:
    """``{"US": {"statesOrRegions": [...], "zipCodes": [...]}, ...}`` keyed by ISO country code."""
    if not isinstance(value, dict) or len(value) > 300:
        raise invalid_parameter(where)
    for country, rule in value.items():
        if not _COUNTRY.match(country):
            raise invalid_parameter(f"{where}.{country[:8]}", "Expected an ISO 3166 country code.")
        if rule is not None:
            validate(rule, _REGION_RULE, f"{where}.{country}")


DELIVERY_SPECIFICATIONS = {
    "specialRestrictions": ListOf(one_of("RestrictPOBoxes", "RestrictPackstations")),
    "addressRestrictions": {"type": one_of("Allowed", "NotAllowed"), "restrictions": address_restrictions},
}
#: Amazon's Address type and its maximum lengths (Checkout Session reference, "Type: Address",
#: https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html).
ADDRESS_LIMITS = {
    "name": 50,
    "addressLine1": 180,
    "addressLine2": 60,
    "addressLine3": 60,
    "city": 50,
    "county": 50,
    "district": 50,
    "stateOrRegion": 50,
    "postalCode": 20,
    "countryCode": 3,
    "phoneNumber": 20,
}
ADDRESS = {name: string(limit) for name, limit in ADDRESS_LIMITS.items()}
#: ``addressDetails`` of an end-of-checkout (ProcessOrder) payload: the Address type, whose county
#: and district are one ``districtOrCounty`` there
#: (https://developer.amazon.com/docs/amazon-pay-checkout/address-formatting-and-validation.html;
#: ``AddressDetails.DistrictOrCounty`` in
#: https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/WebStore/Types/AddressDetails.cs).
ADDRESS_DETAILS = {**ADDRESS, "districtOrCounty": string(50)}
PAYMENT_DETAILS = {
    "paymentIntent": PAYMENT_INTENT,
    "canHandlePendingAuthorization": boolean,
    "chargeAmount": price,
    "totalOrderAmount": price,
    "softDescriptor": string(16),
    "presentmentCurrency": currency,
    "allowOvercharge": boolean,
    "extendExpiration": boolean,
    "estimateOrderTotal": price,
}
WEB_CHECKOUT_DETAILS = {
    "checkoutReviewReturnUrl": url,
    "checkoutResultReturnUrl": url,
    "checkoutCancelUrl": url,
    "checkoutMode": one_of("ProcessOrder"),
}
SCOPES = ListOf(
    one_of("name", "email", "phoneNumber", "billingAddress", "shippingAddress", "postalCode", "primeStatus")
)

CREATE_CHECKOUT_SESSION = {
    "webCheckoutDetails": WEB_CHECKOUT_DETAILS,
    "storeId": string(256),
    "scopes": SCOPES,
    "chargePermissionType": CHARGE_PERMISSION_TYPE,
    "recurringMetadata": RECURRING_METADATA,
    "paymentDetails": PAYMENT_DETAILS,
    "merchantMetadata": MERCHANT_METADATA,
    "deliverySpecifications": DELIVERY_SPECIFICATIONS,
    "addressDetails": ADDRESS_DETAILS,
    "platformId": string(64),
    "providerMetadata": PROVIDER_METADATA,
    "paymentMethodOnFileMetadata": PAYMENT_METHOD_ON_FILE_METADATA,
    "chargePermissionId": string(64),
}
UPDATE_CHECKOUT_SESSION = {
    "webCheckoutDetails": WEB_CHECKOUT_DETAILS,
    "paymentDetails": PAYMENT_DETAILS,
    "merchantMetadata": MERCHANT_METADATA,
    "supplementaryData": string(4096),
    "platformId": string(64),
    "providerMetadata": PROVIDER_METADATA,
    "chargePermissionType": CHARGE_PERMISSION_TYPE,
    "recurringMetadata": RECURRING_METADATA,
    "paymentMethodOnFileMetadata": PAYMENT_METHOD_ON_FILE_METADATA,
    # PayAndShipMultiAddress: the address ids and amounts the buyer chose (the .NET SDK's
    # UpdateCheckoutSessionRequest.MultiAddressesCheckoutMetadataList,
    # https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/WebStore/CheckoutSession/UpdateCheckoutSessionRequest.cs).
    "multiAddressesCheckoutMetadata": ListOf({"addressId": string(256), "price": price}),
}
COMPLETE_CHECKOUT_SESSION = {"chargeAmount": price, "totalOrderAmount": price}
FINALIZE_CHECKOUT_SESSION = {
    "shippingAddress": ADDRESS,
    "billingAddress": ADDRESS,
    "chargeAmount": price,
    "totalOrderAmount": price,
    "paymentIntent": PAYMENT_INTENT,
    "canHandlePendingAuthorization": boolean,
    "supplementaryData": string(4096),
}
UPDATE_CHARGE_PERMISSION = {"merchantMetadata": MERCHANT_METADATA, "recurringMetadata": RECURRING_METADATA}
CLOSE_CHARGE_PERMISSION = {"closureReason": string(255), "cancelPendingCharges": boolean}
CREATE_CHARGE = {
    "chargePermissionId": string(64),
    "chargeAmount": price,
    "captureNow": boolean,
    "softDescriptor": string(16),
    "canHandlePendingAuthorization": boolean,
    "merchantMetadata": MERCHANT_METADATA,
    "platformId": string(64),
    "providerMetadata": PROVIDER_METADATA,
    "chargeInitiator": one_of("CITU", "MITU", "CITR", "MITR"),
    "channel": one_of("Web", "Phone", "App", "Alexa", "PointOfSale", "FireTv", "Offline", "Amazon"),
    "webCheckoutDetails": {"checkoutResultReturnUrl": url},
}
CAPTURE_CHARGE = {"captureAmount": price, "softDescriptor": string(16)}
CANCEL_CHARGE = {"cancellationReason": string(255)}
CREATE_REFUND = {"chargeId": string(64), "refundAmount": price, "softDescriptor": string(16)}
