"""Amazon's rules on money after checkout: how much a one-time Charge Permission can be charged,
how long it lives, when a capture is processed asynchronously, how much and how often a Charge
can be refunded. One place for the numbers, each with the page it comes from; ``objects.py``
and ``operations.py`` apply them (tests: tests/simulator/test_simulator_money_rules.py).

- A one-time Charge Permission can be used "to capture up to the total order amount"; it "will
  move to a Closed state after the total order amount has been captured, if it's canceled, or it
  expires after 180 days"; its buyer details can be retrieved only "in the first 30 days after
  the time the Charge Permission was created"; for a recurring one, "while the Charge Permission
  is in an Open State or for up to 30 days after the Charge Permission is closed"
  (https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html).
- "For a one-time Charge Permission, you can create up to 25 Charges as long as the total amount
  captured does not exceed the amountLimit. The Charge Permission will automatically move to a
  Closed state, once the amountBalance reaches zero"
  (https://developer.amazon.com/docs/amazon-pay-checkout/deferred-transactions.html).
- ``paymentDetails.allowOvercharge`` (settable "only ... during Checkout Session creation") makes
  Amazon "adjust the Charge Permission amountLimit to either 900% of the order amount or 500
  USD/GBP/EUR and 70000 JPY (whichever is more)"
  (https://developer.amazon.com/docs/amazon-pay-checkout/advanced-one-time-payment-options.html);
  ``extendExpiration``, also at creation only, extends the 180 days to 13 months (the same page
  in Japanese, https://developer.amazon.com/ja/docs/amazon-pay-checkout/advanced-one-time-payment-options.html,
  and https://amazonpay-onboarding.com/en/specification/object/charge-permission).
- "Payment capture - payment is captured more than 7 days after authorization" is processed
  asynchronously: the Charge is ``CaptureInitiated``, then ``Captured`` or ``Declined``; "all
  refunds are processed asynchronously": ``RefundInitiated``, then ``Refunded`` or ``Declined``
  (https://developer.amazon.com/docs/amazon-pay-checkout/asynchronous-processing.html).
- An authorization "expires after 30 days in the Authorized state"
  (https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html).
- A refund "can be either 15% or 75 USD/GBP/EUR and 8400 JPY (whichever is less) above the
  captured amount" (https://developer.amazon.com/docs/amazon-pay-api-v2/refund.html); "the
  maximum number of refunds allowed for a given charge is 10"
  (https://pay.amazon.com/help/201212360).
- Going over an amount answers ``400 TransactionAmountExceeded``, over a count
  ``TransactionCountExceeded``, both returned by Create Charge, Capture Charge and Create Refund
  (https://developer.amazon.com/docs/amazon-pay-api-v2/error-handling.html; the 422 of
  ``TransactionCountExceeded`` as an integration's copy of that table gives it).

Where the pages say nothing (currencies other than USD/GBP/EUR/JPY, what counts against the
balance, how long an asynchronous capture takes), the choice is marked SIMULATOR CHOICE here and
listed in docs/simulator.md, "Known differences".
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from decimal import Decimal

from .errors import ApiError

ONE_TIME_LIFETIME = timedelta(days=180)
EXTENDED_LIFETIME_MONTHS = 13
BUYER_DETAILS_LIFETIME = timedelta(days=30)
MAX_CHARGES_PER_ONE_TIME_PERMISSION = 25
ASYNCHRONOUS_CAPTURE_AFTER = timedelta(days=7)  # "more than 7 days after authorization"
MAX_REFUNDS_PER_CHARGE = 10

OVERCHARGE_FACTOR = Decimal(9)  # "900% of the order amount"
#: "500 USD/GBP/EUR and 70000 JPY". SIMULATOR CHOICE: 500 of any other (presentment) currency.
OVERCHARGE_MINIMUM = {"USD": Decimal(500), "GBP": Decimal(500), "EUR": Decimal(500), "JPY": Decimal(70000)}
OVERCHARGE_MINIMUM_OTHER = Decimal(500)

REFUND_OVER_CAPTURE_SHARE = Decimal("0.15")
#: "75 USD/GBP/EUR and 8400 JPY". SIMULATOR CHOICE: 75 of any other (presentment) currency.
REFUND_OVER_CAPTURE_CAP = {"USD": Decimal(75), "GBP": Decimal(75), "EUR": Decimal(75), "JPY": Decimal(8400)}
REFUND_OVER_CAPTURE_CAP_OTHER = Decimal(75)


def overcharge_limit(order_amount: Decimal, currency: str) -> Decimal:
    """The amountLimit of a one-time Charge Permission made with ``allowOvercharge: true``."""
    return max(order_amount * OVERCHARGE_FACTOR, OVERCHARGE_MINIMUM.get(currency, OVERCHARGE_MINIMUM_OTHER))


def refundable(captured: Decimal, currency: str) -> Decimal:
    """The most that may be refunded in total on a Charge that captured ``captured``."""
    cap = REFUND_OVER_CAPTURE_CAP.get(currency, REFUND_OVER_CAPTURE_CAP_OTHER)
    return captured + min(captured * REFUND_OVER_CAPTURE_SHARE, cap)


def one_time_expiry(created: datetime, extended: bool) -> datetime:
    """180 days after creation, or 13 calendar months with ``extendExpiration`` (a day that month
    lacks becomes its last day: SIMULATOR CHOICE)."""
    if not extended:
        return created + ONE_TIME_LIFETIME
    months = created.month - 1 + EXTENDED_LIFETIME_MONTHS
    year, month = created.year + months // 12, months % 12 + 1
    return created.replace(year=year, month=month, day=min(created.day, calendar.monthrange(year, month)[1]))


def amount_exceeded(message: str) -> ApiError:
    return ApiError(400, "TransactionAmountExceeded", message)


def count_exceeded(message: str) -> ApiError:
    return ApiError(422, "TransactionCountExceeded", message)
