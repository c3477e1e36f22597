"""The Instant Payment Notification endpoint: ``POST /amazon-pay/ipn``, the URL a merchant
enters in Seller Central (Integration > Integration Central > IPN, per environment).

Amazon Pay step: **IPN**
(https://developer.amazon.com/docs/amazon-pay-checkout/setting-up-instant-payment-notifications.html).
The SNS envelope is verified (``shop.amazon_pay.ipn``); the message is only a hint, so the
object it names is read from Amazon and applied to the order by the same code as every other
path (``reconcile.settle_notified``; a refund, or a further charge of a split shipment, by the
back office's ``settle_refund`` and ``settle_charge``, as the reconcile pass). Each
NotificationId is handled once; duplicates and out-of-order deliveries change nothing (Amazon's
state is read fresh each time).

Answers: 200 for a genuine message (also for an object the shop does not know, and when
Amazon could not be read: the reconcile pass settles the order later), 400 for a message
that is not a genuine SNS notification. No CSRF token: the signature is the proof. Never a 500.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request

from ..amazon_pay import AmazonPayError, within
from ..amazon_pay.ipn import IpnError, Notification, SnsVerifier
from ..lifecycle import backoffice, orders, reconcile

log = logging.getLogger(__name__)
bp = Blueprint("ipn", __name__, url_prefix="/amazon-pay")
CSRF_EXEMPT = True

#: Seconds an IPN may spend reading Amazon: SNS wants a quick answer.
READ_DEADLINE = 8.0


def verifier() -> SnsVerifier:
    return current_app.extensions["amazon_pay_ipn"]


@bp.record_once
def _make_verifier(state) -> None:
    config = state.app.config
    # Only the offline simulator's own certificate origin is ever trusted besides AWS's hosts,
    # and only in simulator mode: never in sandbox or live.
    simulated = config["AMAZON_PAY_MODE"] == "simulator"
    origin = (config.get("AMAZON_PAY_IPN_CERT_ORIGIN") or config.get("AMAZON_PAY_ENDPOINT")) if simulated else None
    state.app.extensions["amazon_pay_ipn"] = SnsVerifier(
        topic_arns=tuple(config.get("AMAZON_PAY_IPN_TOPICS") or ()), trusted_cert_origin=origin
    )


@bp.post("/ipn")
def receive():
    try:
        notification = verifier().verify(request.get_data(cache=False))
    except IpnError as error:
        log.warning("IPN refused: %s", error)
        return {"error": str(error)}, 400
    if notification.type == "SubscriptionConfirmation":
        return _confirm(notification)
    if notification.type != "Notification":
        log.info("IPN: %s for %s, nothing to do", notification.type, notification.topic_arn)
        return {"status": "ignored"}, 200
    return _handle(notification)


def _handle(notification: Notification):
    message = notification.message
    object_type, object_id = message["ObjectType"], message["ObjectId"]
    if not orders.first_notice(notification.notification_id, object_type, object_id):
        log.info("IPN %s: a duplicate, already handled", notification.notification_id)
        return {"status": "duplicate"}, 200
    try:
        with within(READ_DEADLINE):
            if object_type == "REFUND":
                outcome = backoffice.settle_refund(object_id)
            elif object_type == "CHARGE" and backoffice.is_further_charge(object_id):
                outcome = backoffice.settle_charge(object_id)  # a split shipment's later charge
            else:
                outcome = reconcile.settle_notified(object_type, object_id, message.get("ChargePermissionId"))
    except AmazonPayError as error:
        # Not found at Amazon (another environment's object), or no answer: the reconcile
        # pass settles any order this concerns. Answering 200 stops pointless redelivery.
        log.warning(
            "IPN %s %s %s: Amazon Pay said %s %s",
            notification.notification_id,
            object_type,
            object_id,
            error.status,
            error.reason_code,
        )
        return {"status": "not read"}, 200
    log.info("IPN %s %s %s: %s", notification.notification_id, object_type, object_id, outcome)
    return {"status": "handled"}, 200


def _confirm(notification: Notification):
    """SNS asks to confirm a subscription: visit SubscribeURL, for a topic the shop expects only
    (https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html)."""
    if not verifier().allowed_topic(notification.topic_arn) or not notification.subscribe_url:
        log.warning("IPN subscription for %s not confirmed: not in AMAZON_PAY_IPN_TOPICS", notification.topic_arn)
        return {"status": "not confirmed"}, 200
    try:
        verifier().http.get(notification.subscribe_url, timeout=verifier().timeout).raise_for_status()
    except Exception as error:  # noqa: BLE001 - any failure: SNS asks again later
        log.warning("IPN subscription for %s: confirming failed (%s)", notification.topic_arn, type(error).__name__)
        return {"status": "confirmation failed"}, 200
    log.info("IPN subscription for %s confirmed", notification.topic_arn)
    return {"status": "confirmed"}, 200
