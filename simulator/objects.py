"""The Amazon Pay objects the simulator keeps, and how each renders as JSON.

Checkout Session, Charge Permission, Charge and Refund, with the states and reason codes of
Amazon's API reference (https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html
and its charge-permission, charge and refund pages). Field names and shapes follow responses of
the real sandbox, as the Node.js SDK's sandbox tests check them
(https://github.com/amzn/amazon-pay-api-sdk-nodejs/blob/master/tst/webStoreClientTest.js):
amounts are strings, timestamps ISO 8601 basic, and
``statusDetails`` carries ``reasons[]`` for a Charge Permission but ``reasonCode`` elsewhere.
Time-driven transitions (24 h expiry, 30 s pending authorizations, Amazon's rules on money after
checkout in ``money.py``) happen in ``refresh(now)``. A Charge Permission holds its Charges and a
Charge its Refunds, so what is charged, captured and refunded is read from their states: a
declined or canceled one uses up nothing.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import money
from .buyers import Instrument
from .clock import amazon_timestamp
from .schema import price_json

CHECKOUT_SESSION_LIFETIME = timedelta(hours=24)
PENDING_DELAY = timedelta(seconds=30)  # sandbox: pending authorizations resolve after 30 s
AUTHORIZATION_LIFETIME = timedelta(days=30)
CHARGE_PERMISSION_LIFETIME = timedelta(days=180)
#: What a Charge uses of its Charge Permission's amount, by state (SIMULATOR CHOICE: Amazon's
#: amountBalance is documented, not how it is computed): an authorization its amount, a capture
#: what it captured, a declined or canceled Charge nothing.
AUTHORIZING_STATES = ("AuthorizationInitiated", "Authorized")
CAPTURING_STATES = ("CaptureInitiated", "Captured")

CONSTRAINT_TEXT = {
    "BuyerNotAssociated": "There is no buyer associated with the Checkout Session. Return the checkout "
    "session id to the Amazon Pay Button to allow buyer to login.",
    "ChargeAmountNotSet": "chargeAmount is not set.",
    "CheckoutResultReturnUrlNotSet": "checkoutResultReturnUrl is not set.",
    "PaymentIntentNotSet": "paymentIntent is not set.",
}


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def new_checkout_session_id() -> str:
    return str(uuid.uuid4())


def new_charge_permission_id(env: str) -> str:
    prefix = "S01" if env == "Sandbox" else "P01"
    return f"{prefix}-{_digits(7)}-{_digits(7)}"


def status_details(state: str, reason: str | None, updated: datetime, description: str | None = None):
    return {
        "state": state,
        "reasonCode": reason,
        "reasonDescription": description,
        "lastUpdatedTimestamp": amazon_timestamp(updated),
    }


@dataclass
class CheckoutSession:
    id: str
    env: str
    created: datetime
    details: dict[str, Any]  # what the merchant set: webCheckoutDetails, paymentDetails, ...
    product_type: str = "PayAndShip"
    region: str = "na"  # na | eu | jp: which test buyer signs in
    state: str = "Open"
    reason: str | None = None
    reason_description: str | None = None
    updated: datetime | None = None
    buyer: dict[str, Any] | None = None
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    instrument: Instrument | None = None
    confirmed: bool = False  # the buyer went through amazonPayRedirectUrl
    pending_outcome: str | None = None
    charge_permission_id: str | None = None
    charge_id: str | None = None

    @property
    def expires(self) -> datetime:
        return self.created + CHECKOUT_SESSION_LIFETIME

    def web(self) -> dict[str, Any]:
        return self._part("webCheckoutDetails")

    def payment(self) -> dict[str, Any]:
        return self._part("paymentDetails")

    def _part(self, name: str) -> dict[str, Any]:
        if not isinstance(self.details.get(name), dict):
            self.details[name] = {}
        return self.details[name]

    def refresh(self, now: datetime) -> None:
        if self.state == "Open" and now >= self.expires:
            self.cancel("Expired", now, "The Checkout Session expired: it was not completed within 24 hours.")

    def cancel(self, reason: str, now: datetime, description: str | None = None) -> None:
        self.state, self.reason, self.reason_description, self.updated = "Canceled", reason, description, now

    def constraints(self) -> list[str]:
        if self.state != "Open":
            return []
        names = []
        if self.buyer is None:
            names.append("BuyerNotAssociated")
        if not self.payment().get("chargeAmount") and self.payment().get("paymentIntent") != "Confirm":
            names.append("ChargeAmountNotSet")
        if not self.web().get("checkoutResultReturnUrl"):
            names.append("CheckoutResultReturnUrlNotSet")
        if not self.payment().get("paymentIntent"):
            names.append("PaymentIntentNotSet")
        return names

    def to_json(self, base_url: str, finalized: bool = False) -> dict[str, Any]:
        """Keys in the order of Amazon's answers, as the official Node SDK's sandbox test checks them
        (``Object.keys`` compared with ``deepStrictEqual``;
        https://github.com/amzn/amazon-pay-api-sdk-nodejs/blob/master/tst/webStoreClientTest.js); a
        Finalize Checkout Session answer has ``cartDetails`` after ``paymentDetails`` (``finalized``)."""
        web, pay, meta = self.web(), self.payment(), self.details.get("merchantMetadata") or {}
        constraints = self.constraints()
        redirect = None
        if self.state == "Open" and not constraints:
            redirect = f"{base_url}/checkout/processing?amazonCheckoutSessionId={self.id}"
        scopes = self.details.get("scopes")
        payment_preferences = [None]
        if self.instrument is not None:
            payment_preferences = [{"paymentDescriptor": self.instrument.descriptor}]
        answer = {
            "checkoutSessionId": self.id,
            "webCheckoutDetails": {
                "checkoutReviewReturnUrl": web.get("checkoutReviewReturnUrl"),
                "checkoutResultReturnUrl": web.get("checkoutResultReturnUrl"),
                "checkoutCancelUrl": web.get("checkoutCancelUrl"),
                "amazonPayRedirectUrl": redirect,
                "checkoutMode": web.get("checkoutMode"),
            },
            "productType": self.product_type,
            "paymentDetails": {
                "paymentIntent": pay.get("paymentIntent"),
                "canHandlePendingAuthorization": bool(pay.get("canHandlePendingAuthorization")),
                "chargeAmount": pay.get("chargeAmount"),
                "totalOrderAmount": pay.get("totalOrderAmount"),
                "softDescriptor": pay.get("softDescriptor"),
                "presentmentCurrency": pay.get("presentmentCurrency")
                or (pay.get("chargeAmount") or {}).get("currencyCode"),
                "allowOvercharge": pay.get("allowOvercharge"),
                "extendExpiration": pay.get("extendExpiration"),
            },
            "chargePermissionType": self.details.get("chargePermissionType") or "OneTime",
            "orderType": None,
            "recurringMetadata": self.details.get("recurringMetadata"),
            "paymentMethodOnFileMetadata": self.details.get("paymentMethodOnFileMetadata"),
            "merchantDetails": None,  # SIMULATOR CHOICE: what Amazon fills in here is not published
            "merchantMetadata": {
                key: meta.get(key)
                for key in ("merchantReferenceId", "merchantStoreName", "noteToBuyer", "customInformation")
            },
            "supplementaryData": self.details.get("supplementaryData"),
            "buyer": _scoped_buyer(self.buyer, scopes),
            "billingAddress": self.billing_address if _in_scope(scopes, "billingAddress") else None,
            "paymentPreferences": payment_preferences,
            "statusDetails": status_details(
                self.state, self.reason, self.updated or self.created, self.reason_description
            ),
            "shippingAddress": self.shipping_address,
            "platformId": self.details.get("platformId"),
            "chargePermissionId": self.charge_permission_id or self.details.get("chargePermissionId"),
            "chargeId": self.charge_id,
            "constraints": [{"constraintId": c, "description": CONSTRAINT_TEXT[c]} for c in constraints],
            "creationTimestamp": amazon_timestamp(self.created),
            "expirationTimestamp": amazon_timestamp(self.expires),
            "storeId": self.details.get("storeId"),
            "providerMetadata": {
                "providerReferenceId": (self.details.get("providerMetadata") or {}).get("providerReferenceId")
            },
            "releaseEnvironment": self.env,
            "checkoutButtonText": None,
            "deliverySpecifications": self.details.get("deliverySpecifications"),
            "tokens": None,
        }
        if not finalized:
            return answer
        keys = list(answer)
        keys.insert(keys.index("paymentDetails") + 1, "cartDetails")
        return {key: answer.get(key) for key in keys}  # cartDetails: null (no Buy Now cart here)


def _in_scope(scopes: list[str] | None, name: str) -> bool:
    return not scopes or name in scopes  # no scopes given: Amazon returns the default set


def _scoped_buyer(buyer: dict[str, Any] | None, scopes: list[str] | None) -> dict[str, Any] | None:
    if buyer is None:
        return None
    return {
        "buyerId": buyer["buyerId"],
        "name": buyer["name"] if _in_scope(scopes, "name") else None,
        "email": buyer["email"] if _in_scope(scopes, "email") else None,
        "phoneNumber": buyer["phoneNumber"] if _in_scope(scopes, "phoneNumber") else None,
        "primeMembershipTypes": None,
    }


@dataclass
class ChargePermission:
    id: str
    env: str
    type: str
    created: datetime
    currency: str
    buyer: dict[str, Any]
    shipping_address: dict[str, Any] | None
    billing_address: dict[str, Any] | None
    instrument: Instrument
    amount_limit: Decimal | None
    merchant_metadata: dict[str, Any] = field(default_factory=dict)
    platform_id: str | None = None
    state: str = "Chargeable"
    reasons: list[str] = field(default_factory=list)
    updated: datetime | None = None
    charge_ids: list[str] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    extended: bool = False  # paymentDetails.extendExpiration at checkout: 13 months instead of 180 days
    recurring_metadata: dict[str, Any] | None = None  # a Recurring one's frequency and amount
    payment_method_on_file_metadata: dict[str, Any] | None = None  # a saved wallet's setupOnly
    buyer_details_hidden: bool = False  # set by refresh(): past the 30 days buyer details can be read

    @property
    def one_time(self) -> bool:
        return self.type == "OneTime"

    @property
    def expires(self) -> datetime:
        if self.one_time:
            return money.one_time_expiry(self.created, self.extended)
        return self.created + CHARGE_PERMISSION_LIFETIME

    def used(self) -> Decimal:
        """What its Charges hold of the amount: authorized, or captured (money.py)."""
        return sum((charge.uses() for charge in self.charges), Decimal(0))

    def balance(self) -> Decimal | None:
        if self.amount_limit is None:
            return None
        return max(self.amount_limit - self.used(), Decimal(0))

    def close(self, reason: str, at: datetime) -> None:
        self.state, self.reasons, self.updated = "Closed", [reason], at

    def refresh(self, now: datetime, charges: bool = True) -> None:
        """Due transitions of its Charges (and their Refunds), then its own: a one-time Charge
        Permission closes once its amountLimit is captured (``AmazonClosed``, when the last
        capture completed) or when it expires (``Expired``), whichever came first."""
        if charges:
            for charge in self.charges:
                charge.refresh(now)
        if self.one_time and self.state != "Closed":
            captured = [c for c in self.charges if c.state == "Captured"]
            total = sum((c.captured or c.amount for c in captured), Decimal(0))
            if self.amount_limit is not None and captured and total >= self.amount_limit:
                at = max(c.updated or c.created for c in captured)
                if at <= self.expires:
                    self.close("AmazonClosed", at)
            if self.state != "Closed" and now >= self.expires:
                self.close("Expired", self.expires)
        if self.one_time:
            self.buyer_details_hidden = now >= self.created + money.BUYER_DETAILS_LIFETIME
        elif self.type == "Recurring":
            self.buyer_details_hidden = (
                self.state == "Closed" and now >= (self.updated or self.created) + money.BUYER_DETAILS_LIFETIME
            )

    def to_json(self) -> dict[str, Any]:
        """Key order and null shapes as in Amazon's sandbox answers that the .NET SDK's tests keep
        (``ChargePermissionResponseTests``,
        https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK.Tests/WebStore/ChargePermission/ChargePermissionResponseTests.cs):
        ``limits`` and ``recurringMetadata`` are objects with null members when unused, a saved
        wallet has ``paymentMethodOnFileMetadata`` and no expiry, ``paymentPreferences`` items carry
        only ``paymentDescriptor``."""
        limit = self.amount_limit
        hidden = self.buyer_details_hidden  # SIMULATOR CHOICE: past 30 days, buyer and addresses are null
        recurring = self.recurring_metadata or {}
        answer: dict[str, Any] = {
            "chargePermissionId": self.id,
            "amazonPayToken": None,  # SIMULATOR CHOICE: no PSP / API-only integration token
            "chargePermissionReferenceId": self.merchant_metadata.get("merchantReferenceId"),
            "platformId": self.platform_id,
            "buyer": None
            if hidden
            else {
                "name": self.buyer["name"],
                "email": self.buyer["email"],
                "buyerId": self.buyer["buyerId"],
                "primeMembershipTypes": None,
                "phoneNumber": self.buyer.get("phoneNumber"),
            },
            "shippingAddress": None if hidden else self.shipping_address,
            "billingAddress": None if hidden else self.billing_address,
            "paymentPreferences": [{"paymentDescriptor": self.instrument.descriptor}],
            "statusDetails": {
                "state": self.state,
                "reasons": [{"reasonCode": r, "reasonDescription": None} for r in self.reasons] or None,
                "lastUpdatedTimestamp": amazon_timestamp(self.updated or self.created),
            },
            "creationTimestamp": amazon_timestamp(self.created),
            # A saved wallet does not expire: it is Closed only when canceled
            # (https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/charge-permission.html).
            "expirationTimestamp": None if self.type == "PaymentMethodOnFile" else amazon_timestamp(self.expires),
        }
        if self.type == "PaymentMethodOnFile":
            answer["paymentMethodOnFileMetadata"] = self.payment_method_on_file_metadata
        answer |= {
            "merchantMetadata": {
                key: self.merchant_metadata.get(key)
                for key in ("merchantReferenceId", "merchantStoreName", "noteToBuyer", "customInformation")
            },
            "releaseEnvironment": self.env,
            "limits": {
                "amountLimit": price_json(limit, self.currency) if limit is not None else None,
                "amountBalance": price_json(self.balance(), self.currency) if limit is not None else None,
            },
            "chargePermissionType": self.type,
            "recurringMetadata": {
                "frequency": recurring.get("frequency"),
                "amount": recurring.get("amount"),
            },
            "presentmentCurrency": self.currency,
        }
        return answer


@dataclass
class Charge:
    id: str
    env: str
    charge_permission_id: str
    amount: Decimal
    currency: str
    created: datetime
    state: str = "Authorized"
    reason: str | None = None
    updated: datetime | None = None
    capture_now: bool = False
    pending_until: datetime | None = None
    pending_outcome: str | None = None  # state reached when the pending period ends
    pending_reason: str | None = None
    captured: Decimal | None = None
    soft_descriptor: str | None = None
    merchant_metadata: dict[str, Any] = field(default_factory=dict)
    charge_initiator: str | None = None
    channel: str | None = None
    authorized_at: datetime | None = None  # when it became Authorized (or Captured at once)
    refunds: list[Refund] = field(default_factory=list)

    def set_state(self, state: str, now: datetime, reason: str | None = None) -> None:
        self.state, self.reason, self.updated = state, reason, now
        if state in ("Authorized", "Captured") and self.authorized_at is None:
            self.authorized_at = now
        if state == "Captured" and self.captured is None:
            self.captured = self.amount

    def uses(self) -> Decimal:
        """What it holds of its Charge Permission's amount (see AUTHORIZING_STATES)."""
        if self.state in AUTHORIZING_STATES:
            return self.amount
        if self.state in CAPTURING_STATES:
            return self.captured if self.captured is not None else self.amount
        return Decimal(0)

    @property
    def refunded(self) -> Decimal:
        """Refunds asked for and not declined: a declined refund gives its amount back."""
        return sum((r.amount for r in self.refunds if r.state != "Declined"), Decimal(0))

    def start_pending(self, state: str, now: datetime, outcome: str, reason: str | None = None) -> None:
        self.set_state(state, now)
        self.pending_until, self.pending_outcome, self.pending_reason = now + PENDING_DELAY, outcome, reason

    def refresh(self, now: datetime) -> None:
        if self.pending_until is not None and now >= self.pending_until:
            at, self.pending_until = self.pending_until, None
            self.set_state(self.pending_outcome, at, self.pending_reason)
        if self.state == "Authorized" and now >= self.created + AUTHORIZATION_LIFETIME:
            self.set_state("Canceled", self.created + AUTHORIZATION_LIFETIME, "ExpiredUnused")
        for refund in self.refunds:
            if refund.state == "RefundInitiated":
                refund.refresh(now)

    def to_json(self) -> dict[str, Any]:
        return {
            "chargeId": self.id,
            "chargeAmount": price_json(self.amount, self.currency),
            "chargePermissionId": self.charge_permission_id,
            "captureAmount": price_json(self.captured, self.currency) if self.captured is not None else None,
            "refundedAmount": price_json(self.refunded, self.currency) if self.refunded else None,
            "softDescriptor": self.soft_descriptor,
            "providerMetadata": {"providerReferenceId": None},
            "convertedAmount": None,
            "conversionRate": None,
            "channel": self.channel,
            "chargeInitiator": self.charge_initiator,
            "statusDetails": status_details(self.state, self.reason, self.updated or self.created),
            "creationTimestamp": amazon_timestamp(self.created),
            "expirationTimestamp": amazon_timestamp(self.created + AUTHORIZATION_LIFETIME),
            "releaseEnvironment": self.env,
            "merchantMetadata": {
                key: self.merchant_metadata.get(key)
                for key in ("merchantReferenceId", "merchantStoreName", "noteToBuyer", "customInformation")
            },
            "platformId": None,
            "webCheckoutDetails": None,
        }


@dataclass
class Refund:
    id: str
    env: str
    charge_id: str
    amount: Decimal
    currency: str
    created: datetime
    outcome: str = "Refunded"
    outcome_reason: str | None = None
    soft_descriptor: str | None = None
    state: str = "RefundInitiated"
    reason: str | None = None
    updated: datetime | None = None

    def refresh(self, now: datetime) -> None:
        if self.state == "RefundInitiated" and now >= self.created + PENDING_DELAY:
            self.state, self.reason, self.updated = self.outcome, self.outcome_reason, self.created + PENDING_DELAY

    def to_json(self) -> dict[str, Any]:
        return {
            "refundId": self.id,
            "chargeId": self.charge_id,
            "creationTimestamp": amazon_timestamp(self.created),
            "refundAmount": price_json(self.amount, self.currency),
            "statusDetails": status_details(self.state, self.reason, self.updated or self.created),
            "softDescriptor": self.soft_descriptor,
            "releaseEnvironment": self.env,
        }
