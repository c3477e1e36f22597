"""What each Amazon Pay operation does to the simulator's state.

Every public method is one API operation (or one buyer step on Amazon's pages) and runs
under the store's lock, so concurrent requests see a consistent state. Rules and their sources:
- operations, states and reason codes: Amazon's API reference,
  https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html (and charge-permission.html,
  charge.html, refund.html beside it);
- Complete Checkout Session's 200 / 202 / CheckoutSessionCanceled:
  https://developer.amazon.com/docs/amazon-pay-checkout/verify-and-complete-checkout.html;
- errors: https://developer.amazon.com/docs/amazon-pay-api-v2/error-handling.html;
- sandbox simulations: https://developer.amazon.com/docs/amazon-pay-checkout/sandbox-simulations.html;
- money after checkout (amount limits, 180-day expiry, asynchronous captures, refund limits):
  money.py, with its sources.
Where Amazon publishes nothing, the choice is marked SIMULATOR CHOICE and listed in
docs/simulator.md.
"""

from __future__ import annotations

import copy
import logging
import secrets
from collections import Counter
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from . import money, schema
from .buyers import ADDRESSES, DEFAULT_INSTRUMENT, INSTRUMENTS, address_allowed, address_id, buyer_for_region
from .clock import Clock
from .domains import ReturnUrls
from .errors import ApiError, invalid_parameter, invalid_status, missing_parameter, not_found
from .faults import Faults
from .ipn import Notifications, SettlingLock
from .objects import (
    Charge,
    ChargePermission,
    CheckoutSession,
    Refund,
    new_charge_permission_id,
    new_checkout_session_id,
)

log = logging.getLogger(__name__)

#: x-amz-pay-simulation-code values accepted per operation
#: (https://developer.amazon.com/docs/amazon-pay-checkout/sandbox-simulations.html).
SIMULATION_CODES = {
    "CompleteCheckoutSession": {"BuyerCanceled", "AmazonCanceled", "Declined", "AuthorizationInitiated"},
    "CreateCharge": {
        "SoftDeclined",
        "HardDeclined",
        "AmazonRejected",
        "TransactionTimedOut",
        "ProcessingFailure",
        "AuthorizationInitiated",
        "CaptureInitiated",
    },
    "CaptureCharge": {"CaptureInitiated", "AmazonRejected"},
    "CloseChargePermission": {"AmazonClosed"},
    "CreateRefund": {"AmazonRejected"},
}
SYNCHRONOUS_DECLINES = {"SoftDeclined", "HardDeclined", "AmazonRejected", "TransactionTimedOut", "ProcessingFailure"}
BUYER_TOKEN_LIFETIME_SECONDS = 24 * 3600
#: Charge Permission reason codes per state, for the test-control endpoint
#: (https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html; the codes as in
#: https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/Types/ReasonCodes.cs).
CHARGE_PERMISSION_REASONS = {
    "Chargeable": (),
    "NonChargeable": (
        "PaymentMethodInvalid",
        "PaymentMethodDeleted",
        "BillingAddressDeleted",
        "PaymentMethodExpired",
        "PaymentMethodNotAllowed",
        "PaymentMethodNotSet",
        "ChargeInProgress",
        "MFAFailed",
    ),
    "Closed": ("BuyerClosed", "MerchantClosed", "AmazonCanceled", "AmazonClosed", "Expired"),
}
#: The ledger currency of a Charge Permission made without an amount (a setupOnly wallet).
REGION_CURRENCY = {"na": "USD", "eu": "EUR", "jp": "JPY"}


def check_simulation_code(operation: str, code: str | None, env: str) -> str | None:
    """The code to apply, or None. Codes are a Sandbox feature; Live ignores the header."""
    if not code or env != "Sandbox":
        return None
    if code not in SIMULATION_CODES.get(operation, set()):
        raise ApiError(
            400,
            "InvalidSandboxSimulationSpecified",
            "You have attempted an invalid operation for the Sandbox environment.",
        )
    return code


#: Sign in with Amazon's ``signInScopes`` values, and what Get Buyer returns without any.
SIGN_IN_SCOPES = ("name", "email", "postalCode", "shippingAddress", "billingAddress", "phoneNumber", "primeStatus")
DEFAULT_SIGN_IN_SCOPES = frozenset({"name", "email"})


def sign_in_scopes_of(requested: Any) -> frozenset[str]:
    """The scopes a sign-in button's payload asked for (``signInScopes``); none given: name, email."""
    if not isinstance(requested, list) or not requested:
        return DEFAULT_SIGN_IN_SCOPES
    return frozenset(scope for scope in requested if scope in SIGN_IN_SCOPES)


def add_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class Store:
    def __init__(self, clock: Clock):
        self.clock = clock
        #: Re-entrant; when its outermost holder lets go, state changes become IPN events (ipn.py).
        self.lock = SettlingLock(self._settled)
        self.sessions: dict[str, CheckoutSession] = {}
        self.charge_permissions: dict[str, ChargePermission] = {}
        self.charges: dict[str, Charge] = {}
        self.refunds: dict[str, Refund] = {}
        self.buyer_tokens: dict[str, tuple[dict[str, Any], Any, frozenset[str]]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = {}
        self.counts: Counter[str] = Counter()
        #: What the hosted pages remember per Checkout Session id (or sign-in id): the page the
        #: buyer came from, the button's language and ledger (hosted.py).
        self.hosted: dict[str, dict[str, Any]] = {}
        #: Fault-injection rules and counters (faults.py, ``/control/faults``); none in a fresh store.
        self.faults = Faults()
        #: Delivery Trackers sent: (carrierCode, trackingNumber) -> charge permission (delivery.py).
        self.delivery_trackers: dict[tuple[str, str], str] = {}
        #: Registered domains set by a test per public key id (``/control/merchants/<id>/domains``),
        #: in place of the key's ``.domains`` file (domains.py).
        self.domain_overrides: dict[str, list[str]] = {}
        #: Instant Payment Notifications: states seen, settings, delivery log (ipn.py, ``/control/ipn``).
        self.ipn = Notifications()

    def _settled(self, lock: SettlingLock) -> None:
        """Every change made under the lock is done: note the state changes to notify (one place)."""
        if lock is not self.lock:  # reset (``__init__`` again) while the old lock was held
            return
        try:
            self.ipn.collect(self)
        except Exception:  # never fail an API call because of notifications
            log.exception("simulator ipn: collecting state changes failed")

    def refresh_timed(self) -> None:
        """Apply every time-driven transition that is due (as reading the object would): pending
        authorizations and captures, ``ExpiredUnused`` authorizations, pending refunds, then one-time
        Charge Permissions (captured in full, or 180 days old). Called under the lock by the IPN
        ticker, so changes by time are notified without anyone reading."""
        now = self.clock.now()
        for charge in self.charges.values():
            if charge.state in ("AuthorizationInitiated", "CaptureInitiated", "Authorized"):
                charge.refresh(now)
        for refund in self.refunds.values():
            if refund.state == "RefundInitiated":
                refund.refresh(now)
        for cp in self.charge_permissions.values():
            if cp.one_time and cp.state != "Closed":
                cp.refresh(now, charges=False)  # its Charges were refreshed just above

    # -- lookups ---------------------------------------------------------------------------

    def session(self, env: str, session_id: str) -> CheckoutSession:
        found = self.sessions.get(session_id)
        if found is None or found.env != env:
            raise not_found("Checkout Session", session_id)
        found.refresh(self.clock.now())
        return found

    def charge_permission(self, env: str, cp_id: str) -> ChargePermission:
        found = self.charge_permissions.get(cp_id)
        if found is None or found.env != env:
            raise not_found("Charge Permission", cp_id)
        found.refresh(self.clock.now())
        return found

    def wallet_to_update(
        self, env: str, cp_id: str, buyer: dict[str, Any] | None = None, operation: str = "the update page"
    ) -> ChargePermission:
        """The saved wallet a setupOnly payload's ``chargePermissionId`` names: it must exist, be a
        PaymentMethodOnFile Charge Permission that is not Closed and, once a buyer is signed in,
        be that buyer's (Amazon's hosted update page; the checks are SIMULATOR CHOICE)."""
        cp = self.charge_permission(env, cp_id)
        if cp.type != "PaymentMethodOnFile":
            raise invalid_parameter(
                "chargePermissionId",
                f"{cp_id} is a {cp.type} Charge Permission: only a PaymentMethodOnFile one can be updated.",
            )
        if cp.state == "Closed":
            raise invalid_status("Charge Permission", f"Closed ({', '.join(cp.reasons)})", operation)
        if buyer is not None and cp.buyer.get("buyerId") != buyer["buyerId"]:
            raise invalid_parameter(
                "chargePermissionId", f"{cp_id} belongs to another buyer than the one signed in ({buyer['email']})."
            )
        return cp

    def charge(self, env: str, charge_id: str) -> Charge:
        found = self.charges.get(charge_id)
        if found is None or found.env != env:
            raise not_found("Charge", charge_id)
        self._refresh_with_permission(found)
        return found

    def _refresh_with_permission(self, charge: Charge) -> None:
        """The Charge's due transitions, and its Charge Permission's that follow from them (a
        capture that completes the amount closes a one-time Charge Permission at once)."""
        cp = self.charge_permissions.get(charge.charge_permission_id)
        if cp is None:
            charge.refresh(self.clock.now())
        else:
            cp.refresh(self.clock.now())

    def refund(self, env: str, refund_id: str) -> Refund:
        found = self.refunds.get(refund_id)
        if found is None or found.env != env:
            raise not_found("Refund", refund_id)
        found.refresh(self.clock.now())
        return found

    # -- Checkout Session ------------------------------------------------------------------

    def create_checkout_session(
        self, env: str, body: dict[str, Any], product_type: str = "PayAndShip", *, urls: ReturnUrls | None = None
    ) -> CheckoutSession:
        """``urls``: the domains the calling key registered; every caller of the API, the button and
        the control endpoints passes them (None only where a test builds state directly)."""
        schema.validate(body, schema.CREATE_CHECKOUT_SESSION)
        schema.require(body, "storeId")
        process_order = (body.get("webCheckoutDetails") or {}).get("checkoutMode") == "ProcessOrder"
        if process_order:
            schema.require(body, "webCheckoutDetails.checkoutResultReturnUrl")
            schema.require(body, "paymentDetails.paymentIntent")
        else:
            schema.require(body, "webCheckoutDetails.checkoutReviewReturnUrl")
        if urls is not None:
            urls.check_checkout(body)
        self._check_amounts(body.get("paymentDetails") or {})
        self._check_wallet_fields(env, body)
        if process_order:
            self._check_process_order(body, product_type)
        _check_soft_descriptor(body.get("paymentDetails") or {})
        now = self.clock.now()
        session = CheckoutSession(new_checkout_session_id(), env, now, _normalised(body), product_type, updated=now)
        self.sessions[session.id] = session
        self.counts["checkoutSessions"] += 1
        return session

    def update_checkout_session(
        self, env: str, session_id: str, body: dict[str, Any], *, urls: ReturnUrls | None = None
    ) -> CheckoutSession:
        session = self.session(env, session_id)
        schema.validate(body, schema.UPDATE_CHECKOUT_SESSION)
        if urls is not None:
            urls.check_checkout(body)
        if session.state != "Open":
            raise invalid_status("Checkout Session", session.state, "Update Checkout Session")
        if session.confirmed:
            # SIMULATOR CHOICE: the buyer already approved the payment for the old details.
            raise invalid_status("Checkout Session", "Open (payment confirmed by the buyer)", "Update Checkout Session")
        self._check_amounts(body.get("paymentDetails") or {})
        self._check_creation_only(session, body.get("paymentDetails") or {})
        merged = copy.deepcopy(session.details)
        _merge(merged, _normalised(body))
        self._check_wallet_fields(env, merged, check_target=False)
        _check_soft_descriptor(merged.get("paymentDetails") or {})
        session.details = merged
        session.updated = self.clock.now()
        return session

    def complete_checkout_session(
        self, env: str, session_id: str, body: dict[str, Any], simulation_code: str | None
    ) -> tuple[int, CheckoutSession]:
        session = self.session(env, session_id)
        schema.validate(body, schema.COMPLETE_CHECKOUT_SESSION)
        self._check_can_finish(session, "Complete Checkout Session")
        if _setup_only(session.details):
            self._check_setup_only_complete(body)
        else:
            charge_amount = schema.require(body, "chargeAmount")
            self._check_same_amount(session.payment().get("chargeAmount"), charge_amount, "chargeAmount")
            if session.payment().get("totalOrderAmount") and body.get("totalOrderAmount"):
                self._check_same_amount(
                    session.payment()["totalOrderAmount"], body["totalOrderAmount"], "totalOrderAmount"
                )
        code = check_simulation_code("CompleteCheckoutSession", simulation_code, env)
        if code in ("BuyerCanceled", "AmazonCanceled", "Declined"):
            session.cancel(code, self.clock.now())
        elif code == "AuthorizationInitiated":
            session.pending_outcome = "PendingAuthorized"
        return self._finish(session, "Complete Checkout Session")

    @staticmethod
    def _check_setup_only_complete(body: dict[str, Any]) -> None:
        """A saved wallet set up or updated without a payment (``setupOnly: true``) is confirmed
        with Complete Checkout Session and the body ``{}``: "chargeAmount is not required for
        Saved Wallet setup intent flow"
        (https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile-setupintent/verify-and-complete-checkout.html,
        https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/steps-to-integrate-with-amazon-pay-hosted-update-page.html).
        SIMULATOR CHOICE: an amount there is refused (nothing is charged, and Amazon's answer to one
        is not published), so a shop sends the documented body."""
        for name in ("chargeAmount", "totalOrderAmount"):
            if body.get(name) is not None:
                raise ApiError(
                    400,
                    "InvalidParameterCombination",
                    f"{name} is not sent to complete a setupOnly Checkout Session (nothing is charged): "
                    "send the body {}.",
                )

    def finalize_checkout_session(self, env: str, session_id: str, body: dict[str, Any]) -> tuple[int, CheckoutSession]:
        session = self.session(env, session_id)
        schema.validate(body, schema.FINALIZE_CHECKOUT_SESSION)
        self._check_can_finish(session, "Finalize Checkout Session")
        if body.get("chargeAmount") and session.payment().get("chargeAmount"):
            self._check_same_amount(session.payment()["chargeAmount"], body["chargeAmount"], "chargeAmount")
        if _setup_only(session.details) and body.get("paymentIntent") not in (None, "Confirm"):
            raise _setup_only_intent_error()
        for name in ("paymentIntent", "canHandlePendingAuthorization", "chargeAmount", "totalOrderAmount"):
            if body.get(name) is not None:
                session.payment()[name] = body[name]
        return self._finish(session, "Finalize Checkout Session")

    def _check_can_finish(self, session: CheckoutSession, operation: str) -> None:
        if session.state == "Canceled":
            raise ApiError(
                422,
                "CheckoutSessionCanceled",
                f"The Checkout Session is in Canceled state with reason code {session.reason}. "
                "Get Checkout Session for details.",
            )
        if session.state != "Open" or not session.confirmed:
            state = (
                session.state if session.state != "Open" else "Open (buyer has not returned from amazonPayRedirectUrl)"
            )
            raise invalid_status("Checkout Session", state, operation)

    def _finish(self, session: CheckoutSession, operation: str) -> tuple[int, CheckoutSession]:
        """Create the Charge Permission and Charge once the buyer has approved; 202 if pending."""
        if session.state == "Canceled":
            raise ApiError(
                422,
                "CheckoutSessionCanceled",
                f"The Checkout Session is in Canceled state with reason code {session.reason}.",
            )
        now = self.clock.now()
        pay = session.payment()
        existing = session.details.get("chargePermissionId")
        if existing:  # the hosted update page of a saved wallet (setupOnly): no new object, no charge
            cp = self.wallet_to_update(session.env, existing, session.buyer, operation)
            cp.instrument = session.instrument or cp.instrument
            if session.shipping_address is not None:  # SIMULATOR CHOICE: PayOnly keeps the saved address
                cp.shipping_address = session.shipping_address
            cp.billing_address = session.billing_address or cp.billing_address
            cp.state, cp.reasons, cp.updated = "Chargeable", [], now
        else:
            cp = self._new_charge_permission(session)
        session.charge_permission_id = cp.id
        status = 200
        intent = pay.get("paymentIntent")
        setup_only = _setup_only(session.details)
        if intent in ("Authorize", "AuthorizeWithCapture") and pay.get("chargeAmount") and not setup_only:
            charge = self._new_charge(
                cp,
                Decimal(pay["chargeAmount"]["amount"]),
                capture_now=intent == "AuthorizeWithCapture",
                merchant_metadata=session.details.get("merchantMetadata") or {},
            )
            outcome = session.pending_outcome
            if outcome:
                final = (
                    "Declined" if outcome == "PendingDeclined" else ("Captured" if charge.capture_now else "Authorized")
                )
                charge.start_pending(
                    "AuthorizationInitiated", now, final, "HardDeclined" if final == "Declined" else None
                )
                status = 202
            elif charge.capture_now:
                charge.set_state("Captured", now)
            session.charge_id = charge.id
        session.state, session.reason, session.updated = "Completed", None, now
        cp.refresh(now)  # AuthorizeWithCapture of the whole order amount closes a one-time Charge Permission
        return status, session

    def _new_charge_permission(self, session: CheckoutSession) -> ChargePermission:
        pay = session.payment()
        amount = pay.get("totalOrderAmount") or pay.get("chargeAmount")
        currency = (
            (amount or {}).get("currencyCode")
            or pay.get("presentmentCurrency")
            or REGION_CURRENCY.get(session.region, "USD")
        )
        kind = session.details.get("chargePermissionType") or "OneTime"
        if kind == "PaymentMethodOnFile":
            amount = None  # a saved wallet has no amount limit of its own
        limit = Decimal(amount["amount"]) if amount else None
        if limit is not None and kind == "OneTime" and pay.get("allowOvercharge") is True:
            limit = money.overcharge_limit(limit, currency)
        cp = ChargePermission(
            id=new_charge_permission_id(session.env),
            env=session.env,
            type=kind,
            created=self.clock.now(),
            currency=currency,
            buyer=session.buyer or {},
            shipping_address=session.shipping_address,
            billing_address=session.billing_address,
            instrument=session.instrument or INSTRUMENTS[DEFAULT_INSTRUMENT],
            amount_limit=limit,
            merchant_metadata=dict(session.details.get("merchantMetadata") or {}),
            platform_id=session.details.get("platformId"),
            extended=kind == "OneTime" and pay.get("extendExpiration") is True,
            recurring_metadata=_recurring_metadata(session.details) if kind == "Recurring" else None,
            payment_method_on_file_metadata=dict(session.details.get("paymentMethodOnFileMetadata") or {})
            if kind == "PaymentMethodOnFile"
            else None,
        )
        self.charge_permissions[cp.id] = cp
        self.counts["chargePermissions"] += 1
        return cp

    def _new_charge(self, cp: ChargePermission, amount: Decimal, capture_now: bool, **extra: Any) -> Charge:
        charge = Charge(
            id=_unused_id(f"{cp.id}-C", self.charges),
            env=cp.env,
            charge_permission_id=cp.id,
            amount=amount,
            currency=cp.currency,
            created=self.clock.now(),
            capture_now=capture_now,
            **extra,
        )
        self.charges[charge.id] = charge
        cp.charge_ids.append(charge.id)
        cp.charges.append(charge)
        self.counts["charges"] += 1
        return charge

    # -- the buyer on Amazon's pages (button, sign-in, amazonPayRedirectUrl) ------------------

    def associate_buyer(
        self, session: CheckoutSession, region: str, address_key: str | None = None, instrument: str | None = None
    ) -> CheckoutSession:
        """The buyer signs in on Amazon's page and picks an address and a payment method."""
        if session.state != "Open" or session.confirmed:
            raise invalid_status("Checkout Session", session.state, "sign-in")
        buyer = buyer_for_region(region)
        if instrument is not None and instrument not in INSTRUMENTS:
            raise invalid_parameter("instrument", f"Simulated instruments: {', '.join(INSTRUMENTS)}.")
        wallet = None
        if session.details.get("chargePermissionId"):
            wallet = self.wallet_to_update(session.env, session.details["chargePermissionId"], buyer)
        current = session.instrument or (wallet.instrument if wallet else None)
        chosen = INSTRUMENTS[instrument or (current.last4 if current else DEFAULT_INSTRUMENT)]
        home = ADDRESSES[buyer["defaultAddress"]]
        shipping = None
        if session.product_type != "PayOnly":
            key = address_key or self._first_allowed_address(buyer, session, wallet)
            if key not in ADDRESSES:
                raise invalid_parameter("address", f"Simulated addresses: {', '.join(ADDRESSES)}.")
            if not address_allowed(ADDRESSES[key], session.details.get("deliverySpecifications")):
                raise ApiError(
                    400,
                    "AddressNotAllowed",
                    f"The address {key} is excluded by the deliverySpecifications of this Checkout Session.",
                )
            shipping = dict(ADDRESSES[key])
        session.buyer, session.instrument = buyer, chosen
        session.shipping_address, session.billing_address = shipping, dict(home)
        session.updated = self.clock.now()
        return session

    @staticmethod
    def _first_allowed_address(
        buyer: dict[str, Any], session: CheckoutSession, wallet: ChargePermission | None = None
    ) -> str:
        """The buyer's default address (a saved wallet's own address first), or, when the
        merchant's deliverySpecifications exclude it, the first one they allow (Amazon then
        shows the chooser instead of "Continue as")."""
        specifications = session.details.get("deliverySpecifications")
        saved = address_id(wallet.shipping_address) if wallet else None
        candidates = [key for key in (saved, buyer["defaultAddress"]) if key] + list(ADDRESSES)
        return next((key for key in candidates if address_allowed(ADDRESSES[key], specifications)), candidates[0])

    def process_payment(self, session: CheckoutSession, outcome: str | None = None) -> str:
        """The buyer passes through amazonPayRedirectUrl; returns where Amazon sends them next."""
        if session.state == "Open" and not session.confirmed:
            if session.constraints():
                raise ApiError(
                    400,
                    "InvalidCheckoutSessionStatus",
                    "The Checkout Session still has constraints: " + ", ".join(session.constraints()),
                )
            if outcome is None and _setup_only(session.details):
                # SIMULATOR CHOICE: saving a payment method charges nothing, so the instrument's
                # outcome waits for the first Create Charge (a 3434 wallet then declines there).
                outcome = "Success"
            outcome = outcome or (session.instrument.outcome if session.instrument else "Success")
            pay, now = session.payment(), self.clock.now()
            authorizes = pay.get("paymentIntent") in ("Authorize", "AuthorizeWithCapture")
            if outcome in ("BuyerCanceled", "Declined"):
                session.cancel(outcome, now)
            elif outcome.startswith("Pending") and authorizes:
                if pay.get("canHandlePendingAuthorization"):
                    session.pending_outcome = outcome
                else:
                    # SIMULATOR CHOICE: Amazon requires canHandlePendingAuthorization for these
                    # instruments (sandbox-simulations page); without it the payment fails.
                    session.cancel("Declined", now, "The authorization could not complete synchronously.")
            session.confirmed = True
            session.updated = now
        elif session.state == "Completed" or not session.confirmed:
            raise invalid_status("Checkout Session", session.state, "amazonPayRedirectUrl")
        return add_query(session.web()["checkoutResultReturnUrl"], amazonCheckoutSessionId=session.id)

    def issue_buyer_token(self, region: str, sign_in_scopes: Any = None) -> str:
        """A buyer token for Sign in with Amazon, remembering what the button's ``signInScopes``
        asked for (Get Buyer returns only that)."""
        token = secrets.token_urlsafe(32)
        self.buyer_tokens[token] = (buyer_for_region(region), self.clock.now(), sign_in_scopes_of(sign_in_scopes))
        return token

    def get_buyer(self, token: str) -> dict[str, Any]:
        """Get Buyer returns the buyerId and what ``signInScopes`` requested: "Retrieve Buyer Details,
        including buyerId and other buyer information requested in signInScopes. If no signInScopes
        are set, we will return name, email by default"
        (https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile-signinandsetup/verify-and-complete-checkout.html).
        Fields not requested are null (SIMULATOR CHOICE: Amazon's sample shows every key)."""
        entry = self.buyer_tokens.get(token)
        if entry is None or (self.clock.now() - entry[1]).total_seconds() > BUYER_TOKEN_LIFETIME_SECONDS:
            raise invalid_parameter("buyerToken", "The token is unknown or has expired (tokens last 24 hours).")
        buyer, _issued, scopes = entry
        address = ADDRESSES[buyer["defaultAddress"]]
        postal = "postalCode" in scopes or "shippingAddress" in scopes
        return {
            "buyerId": buyer["buyerId"],
            "name": buyer["name"] if "name" in scopes else None,
            "email": buyer["email"] if "email" in scopes else None,
            "postalCode": address["postalCode"] if postal else None,
            "countryCode": address["countryCode"] if postal else None,
            "phoneNumber": buyer["phoneNumber"] if "phoneNumber" in scopes else None,
            "shippingAddress": dict(address) if "shippingAddress" in scopes else None,
            "billingAddress": dict(address) if "billingAddress" in scopes else None,
            "primeMembershipTypes": None,
        }

    # -- Charge Permission -----------------------------------------------------------------

    def update_charge_permission(self, env: str, cp_id: str, body: dict[str, Any]) -> ChargePermission:
        """merchantMetadata may change while the Charge Permission is Chargeable or NonChargeable;
        once Closed "only if chargePermissionType is Onetime and if the child parameter value to be
        updated is either null or an empty string"; a Recurring one's recurringMetadata too
        (https://developer.amazon.com/docs/amazon-pay-checkout/update-info-post-checkout.html)."""
        cp = self.charge_permission(env, cp_id)
        schema.validate(body, schema.UPDATE_CHARGE_PERMISSION)
        changes = {k: v for k, v in (body.get("merchantMetadata") or {}).items() if v is not None}
        if cp.state == "Closed":
            set_already = [name for name in changes if cp.merchant_metadata.get(name) not in (None, "")]
            if not cp.one_time or body.get("recurringMetadata") or set_already:
                raise ApiError(
                    422,
                    "ChargePermissionNotModifiable",
                    "A Closed Charge Permission can only be given merchantMetadata values it does not have yet, "
                    "and only if it is OneTime" + (f" ({', '.join(set_already)} already set)." if set_already else "."),
                )
        cp.merchant_metadata.update(changes)
        if body.get("recurringMetadata") and cp.type == "Recurring":
            merged = cp.recurring_metadata or {}
            _merge(merged, _normalised({"recurringMetadata": body["recurringMetadata"]})["recurringMetadata"])
            cp.recurring_metadata = merged
        cp.updated = self.clock.now()
        return cp

    def set_charge_permission_status(self, cp_id: str, state: str, reasons: list[str]) -> ChargePermission:
        """Test control: what Amazon does to a saved wallet on its own (a card expires, the buyer
        deletes it, or closes the wallet in their Amazon account). Closed is final."""
        cp = self.charge_permissions.get(cp_id)
        if cp is None:
            raise not_found("Charge Permission", cp_id[:64])
        if state not in CHARGE_PERMISSION_REASONS:
            raise invalid_parameter("state", "Use Chargeable, NonChargeable or Closed.")
        allowed = CHARGE_PERMISSION_REASONS[state]
        if state == "Chargeable" and reasons:
            raise invalid_parameter("reason", "A Chargeable Charge Permission has no reasons.")
        if state != "Chargeable" and not reasons:
            raise missing_parameter(f"reason (for {state}: {', '.join(allowed)})")
        for reason in reasons:
            if reason not in allowed:
                raise invalid_parameter("reason", f"For {state} use one of {', '.join(allowed)}.")
        cp.refresh(self.clock.now())
        if cp.state == "Closed":
            raise invalid_status("Charge Permission", cp.state, "a status change")
        cp.state, cp.reasons, cp.updated = state, list(dict.fromkeys(reasons)), self.clock.now()
        return cp

    def close_charge_permission(self, env: str, cp_id: str, body: dict[str, Any], simulation_code: str | None):
        cp = self.charge_permission(env, cp_id)
        schema.validate(body, schema.CLOSE_CHARGE_PERMISSION)
        code = check_simulation_code("CloseChargePermission", simulation_code, env)
        if cp.state == "Closed":
            raise invalid_status("Charge Permission", cp.state, "Close Charge Permission")
        now = self.clock.now()
        if body.get("cancelPendingCharges"):
            for charge_id in cp.charge_ids:
                charge = self.charge(env, charge_id)
                if charge.state in ("AuthorizationInitiated", "Authorized"):
                    charge.pending_until = None
                    charge.set_state("Canceled", now, "ChargePermissionCanceled")
        cp.state, cp.reasons, cp.updated = "Closed", [code or "MerchantClosed"], now
        return cp

    # -- Charge ----------------------------------------------------------------------------

    def create_charge(
        self, env: str, body: dict[str, Any], simulation_code: str | None, *, urls: ReturnUrls | None = None
    ) -> Charge:
        schema.validate(body, schema.CREATE_CHARGE)
        if urls is not None:
            urls.check_checkout(body)
        cp = self.charge_permission(env, schema.require(body, "chargePermissionId"))
        price = schema.require(body, "chargeAmount")
        if body.get("softDescriptor") and not body.get("captureNow"):
            raise ApiError(
                400, "InvalidParameterCombination", "softDescriptor can only be set when captureNow is true."
            )
        schema.check_maximum(price, "chargeAmount")
        if price["currencyCode"] != cp.currency:
            raise ApiError(
                400,
                "CurrencyMismatch",
                f"The currency {price['currencyCode']} does not match the Charge Permission's currency {cp.currency}.",
            )
        code = check_simulation_code("CreateCharge", simulation_code, env)
        if cp.state != "Chargeable":
            raise invalid_status("Charge Permission", cp.state, "Create Charge")
        self._check_one_time_limits(cp, schema.to_decimal(price))
        pending_ok = bool(body.get("canHandlePendingAuthorization"))
        # A simulation code overrides the instrument
        # (https://developer.amazon.com/docs/amazon-pay-checkout/sandbox-simulations.html).
        # Instruments as at checkout: 3434 (Declined) declines at once; 4354 (PendingDeclined) is
        # pending then declined for a merchant that can handle pending authorizations, else
        # declined at once.
        outcome = None if code else cp.instrument.outcome
        if code in SYNCHRONOUS_DECLINES or outcome == "Declined" or (outcome == "PendingDeclined" and not pending_ok):
            decline = code or "HardDeclined"
            raise ApiError(422, decline, f"The charge was declined ({decline}).")
        now = self.clock.now()
        charge = self._new_charge(
            cp,
            schema.to_decimal(price),
            bool(body.get("captureNow")),
            soft_descriptor=body.get("softDescriptor"),
            merchant_metadata=dict(body.get("merchantMetadata") or {}),
            charge_initiator=body.get("chargeInitiator"),
            channel=body.get("channel"),
        )
        settled = "Captured" if charge.capture_now else "Authorized"
        if code == "AuthorizationInitiated" or (pending_ok and outcome in ("PendingDeclined", "PendingAuthorized")):
            declined = outcome == "PendingDeclined"
            charge.start_pending(
                "AuthorizationInitiated", now, "Declined" if declined else settled, "HardDeclined" if declined else None
            )
        elif code == "CaptureInitiated" and charge.capture_now:
            charge.start_pending("CaptureInitiated", now, "Captured")
        else:
            charge.set_state(settled, now)
        return charge

    def capture_charge(self, env: str, charge_id: str, body: dict[str, Any], simulation_code: str | None) -> Charge:
        charge = self.charge(env, charge_id)
        schema.validate(body, schema.CAPTURE_CHARGE)
        price = schema.require(body, "captureAmount")
        code = check_simulation_code("CaptureCharge", simulation_code, env)
        if charge.state != "Authorized":
            raise invalid_status("Charge", charge.state, "Capture Charge")
        if price["currencyCode"] != charge.currency:
            raise ApiError(400, "CurrencyMismatch", "captureAmount.currencyCode does not match the Charge.")
        if schema.to_decimal(price) > charge.amount:
            raise ApiError(400, "TransactionAmountExceeded", "captureAmount exceeds the authorized amount.")
        now = self.clock.now()
        charge.soft_descriptor = body.get("softDescriptor") or charge.soft_descriptor
        charge.captured = schema.to_decimal(price)
        # "Payment capture - payment is captured more than 7 days after authorization" is processed
        # asynchronously (asynchronous-processing.html): CaptureInitiated, then Captured 30 s later
        # on the simulator's clock (SIMULATOR CHOICE: Amazon gives no duration).
        late = now - (charge.authorized_at or charge.created) > money.ASYNCHRONOUS_CAPTURE_AFTER
        if code == "AmazonRejected":
            charge.start_pending("CaptureInitiated", now, "Declined", "AmazonRejected")
        elif code == "CaptureInitiated" or late:
            charge.start_pending("CaptureInitiated", now, "Captured")
        else:
            charge.set_state("Captured", now)
        self._refresh_with_permission(charge)  # a capture of the whole amountLimit closes it
        return charge

    def cancel_charge(self, env: str, charge_id: str, body: dict[str, Any]) -> Charge:
        charge = self.charge(env, charge_id)
        schema.validate(body, schema.CANCEL_CHARGE)
        if charge.state not in ("AuthorizationInitiated", "Authorized"):
            raise invalid_status("Charge", charge.state, "Cancel Charge")
        charge.pending_until = None
        charge.set_state("Canceled", self.clock.now(), "MerchantCanceled")
        return charge

    # -- Refund ----------------------------------------------------------------------------

    def create_refund(self, env: str, body: dict[str, Any], simulation_code: str | None) -> Refund:
        schema.validate(body, schema.CREATE_REFUND)
        charge = self.charge(env, schema.require(body, "chargeId"))
        price = schema.require(body, "refundAmount")
        code = check_simulation_code("CreateRefund", simulation_code, env)
        if charge.state != "Captured":
            raise invalid_status("Charge", charge.state, "Create Refund")
        if price["currencyCode"] != charge.currency:
            raise ApiError(400, "CurrencyMismatch", "refundAmount.currencyCode does not match the Charge.")
        amount = schema.to_decimal(price)
        # At most 10 refunds per Charge (https://pay.amazon.com/help/201212360); SIMULATOR CHOICE:
        # every refund asked for counts, a declined one too ("submitted").
        if len(charge.refunds) >= money.MAX_REFUNDS_PER_CHARGE:
            raise money.count_exceeded(
                f"The Charge already has {len(charge.refunds)} refunds, the most allowed "
                f"({money.MAX_REFUNDS_PER_CHARGE})."
            )
        # Refund page: up to 15% or 75 USD/EUR/GBP (8,400 JPY) more than captured, whichever is
        # less, in total; refunds declined meanwhile do not count.
        limit = money.refundable(charge.captured, charge.currency)
        if charge.refunded + amount > limit:
            raise money.amount_exceeded(
                f"refundAmount exceeds the refundable amount of the Charge: {limit - charge.refunded} "
                f"{charge.currency} left of {limit} (captured {charge.captured}, plus at most "
                f"{limit - charge.captured} over it)."
            )
        # A simulation string decides; else the instrument (0505 declines refunds: buyers.py).
        cp = self.charge_permissions.get(charge.charge_permission_id)
        declined = code or (cp.instrument.refund_declined if cp else None)
        refund = Refund(
            id=_unused_id(f"{charge.charge_permission_id}-R", self.refunds),
            env=env,
            charge_id=charge.id,
            amount=amount,
            currency=charge.currency,
            created=self.clock.now(),
            outcome="Declined" if declined else "Refunded",
            outcome_reason=declined,
            soft_descriptor=body.get("softDescriptor"),
        )
        self.refunds[refund.id] = refund
        charge.refunds.append(refund)
        self.counts["refunds"] += 1
        return refund

    # -- helpers ---------------------------------------------------------------------------

    def _check_wallet_fields(self, env: str, details: dict[str, Any], check_target: bool = True) -> None:
        """A saved-wallet payload must hang together: ``chargePermissionId`` only with a
        setupOnly PaymentMethodOnFile payload (the update page), setupOnly only with paymentIntent
        Confirm (nothing is charged). SIMULATOR CHOICE: Amazon's exact errors are unpublished."""
        cp_id = details.get("chargePermissionId")
        kind = details.get("chargePermissionType") or "OneTime"
        if _setup_only(details) and kind != "PaymentMethodOnFile":
            raise ApiError(
                400,
                "InvalidParameterCombination",
                "paymentMethodOnFileMetadata.setupOnly needs chargePermissionType PaymentMethodOnFile.",
            )
        if _setup_only(details) and (details.get("paymentDetails") or {}).get("paymentIntent") not in (None, "Confirm"):
            raise _setup_only_intent_error()
        if cp_id is None:
            return
        if kind != "PaymentMethodOnFile" or not _setup_only(details):
            raise ApiError(
                400,
                "InvalidParameterCombination",
                "chargePermissionId (update a saved wallet) needs chargePermissionType PaymentMethodOnFile and "
                "paymentMethodOnFileMetadata.setupOnly true.",
            )
        if check_target:
            self.wallet_to_update(env, cp_id, operation="Create Checkout Session")

    @staticmethod
    def _check_process_order(body: dict[str, Any], product_type: str) -> None:
        """An end-of-checkout payload (``checkoutMode: ProcessOrder``) carries what the buyer would
        otherwise confirm on the merchant's review page (``checkoutResultReturnUrl`` and
        ``paymentIntent`` are checked first): ``chargeAmount`` (https://developer.amazon.com/docs/amazon-pay-checkout/end-of-checkout.html),
        and for PayAndShip the buyer's ``addressDetails``: "You must populate addressDetails with the
        shipping address provided by the buyer if you set checkoutMode to ProcessOrder with
        productType PayAndShip"
        (https://developer.amazon.com/docs/amazon-pay-checkout/address-formatting-and-validation.html).
        A setupOnly saved-wallet payload charges nothing and the buyer picks the address on Amazon's
        page, so it needs neither (the hosted update page's payload,
        https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/steps-to-integrate-with-amazon-pay-hosted-update-page.html)."""
        if _setup_only(body):
            return
        schema.require(body, "paymentDetails.chargeAmount")
        if product_type == "PayAndShip":
            schema.require(body, "addressDetails")

    @staticmethod
    def _check_creation_only(session: CheckoutSession, payment_details: dict[str, Any]) -> None:
        """``allowOvercharge`` and ``extendExpiration`` can "only [be set] during Checkout Session
        creation" (advanced-one-time-payment-options.html). SIMULATOR CHOICE: Update Checkout
        Session with another value than the session has answers 400 InvalidParameterValue (Amazon's
        answer is not published); the same value again is fine."""
        for name in ("allowOvercharge", "extendExpiration"):
            if name in payment_details and payment_details[name] is not None:
                if bool(payment_details[name]) != bool(session.payment().get(name)):
                    raise invalid_parameter(
                        f"paymentDetails.{name}", "It can only be set when the Checkout Session is created."
                    )

    @staticmethod
    def _check_one_time_limits(cp: ChargePermission, amount: Decimal) -> None:
        """A one-time Charge Permission takes at most 25 Charges, and no more than its amountBalance
        (money.py; deferred-transactions.html, charge-permission.html)."""
        if not cp.one_time or cp.amount_limit is None:
            return
        if len(cp.charges) >= money.MAX_CHARGES_PER_ONE_TIME_PERMISSION:
            raise money.count_exceeded(
                f"The Charge Permission already has {len(cp.charges)} Charges, the most a one-time Charge "
                f"Permission allows ({money.MAX_CHARGES_PER_ONE_TIME_PERMISSION})."
            )
        balance = cp.balance()
        if amount > balance:
            raise money.amount_exceeded(
                f"chargeAmount {amount} {cp.currency} exceeds the Charge Permission's amountBalance "
                f"{balance} {cp.currency} (amountLimit {cp.amount_limit} {cp.currency})."
            )

    def _check_amounts(self, payment_details: dict[str, Any]) -> None:
        for name in ("chargeAmount", "totalOrderAmount"):
            if payment_details.get(name):
                schema.check_maximum(payment_details[name], f"paymentDetails.{name}")

    @staticmethod
    def _check_same_amount(expected: dict[str, Any] | None, given: dict[str, Any], where: str) -> None:
        if not expected:
            raise missing_parameter(f"paymentDetails.{where} (set it with Update Checkout Session)")
        if expected["currencyCode"] != given["currencyCode"]:
            raise ApiError(
                400,
                "CurrencyMismatch",
                f"{where}.currencyCode {given['currencyCode']} differs from the Checkout Session's "
                f"{expected['currencyCode']}.",
            )
        if schema.to_decimal(expected) != schema.to_decimal(given):
            raise ApiError(
                409,
                "AmountMismatch",
                f"The {where} {given['amount']} {given['currencyCode']} does not match the Checkout "
                f"Session's {expected['amount']} {expected['currencyCode']}.",
            )


def _unused_id(prefix: str, taken: dict[str, Any]) -> str:
    """Amazon's ids end in a number: a new one, not taken by another object."""
    while True:
        candidate = f"{prefix}{secrets.randbelow(10**6):06d}"
        if candidate not in taken:
            return candidate


def _setup_only(details: dict[str, Any]) -> bool:
    return (details.get("paymentMethodOnFileMetadata") or {}).get("setupOnly") is True


def _recurring_metadata(details: dict[str, Any]) -> dict[str, Any] | None:
    """A Recurring Charge Permission's frequency and amount, as the Checkout Session had them."""
    metadata = _without_nulls(details.get("recurringMetadata") or {})
    if isinstance(metadata.get("amount"), dict):
        metadata["amount"] = schema.price_json(
            schema.to_decimal(metadata["amount"]), metadata["amount"]["currencyCode"]
        )
    return metadata or None


def _check_soft_descriptor(payment_details: dict[str, Any]) -> None:
    """``paymentDetails.softDescriptor`` is for ``AuthorizeWithCapture`` only: "Do not use if
    PaymentIntent is set to Confirm or Authorize" (the .NET SDK's PaymentDetails,
    https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/WebStore/Types/PaymentDetails.cs).
    Checked once both are known (they may be set by different calls)."""
    intent = payment_details.get("paymentIntent")
    if payment_details.get("softDescriptor") and intent is not None and intent != "AuthorizeWithCapture":
        raise ApiError(
            400,
            "InvalidParameterCombination",
            f"paymentDetails.softDescriptor can only be set with paymentIntent AuthorizeWithCapture, not {intent}.",
        )


def _setup_only_intent_error() -> ApiError:
    return ApiError(
        400,
        "InvalidParameterCombination",
        "paymentMethodOnFileMetadata.setupOnly saves a payment method without a payment: use paymentIntent Confirm.",
    )


def _normalised(body: dict[str, Any]) -> dict[str, Any]:
    """What to store: nulls dropped (null means "not given"), amounts as Amazon returns them."""
    out = {key: _without_nulls(value) for key, value in body.items() if value is not None}
    pay = out.get("paymentDetails")
    if isinstance(pay, dict):
        for name in ("chargeAmount", "totalOrderAmount", "estimateOrderTotal"):
            if isinstance(pay.get(name), dict):
                pay[name] = schema.price_json(schema.to_decimal(pay[name]), pay[name]["currencyCode"])
    return out


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
