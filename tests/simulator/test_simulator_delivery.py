"""Create Delivery Tracker, as Amazon documents it
(https://developer.amazon.com/docs/amazon-pay-api-v2/delivery-tracker.html): a charge
permission and its shipments' carrier and tracking numbers; 200 with the same; an unknown
charge permission, an unknown carrier or a tracking number used already: 400
InvalidParameterValue ("tracking codes can only be used once")."""

from __future__ import annotations

import pytest

from shop.amazon_pay import AmazonPayError


def charge_permission(client, buyer) -> str:
    session_id = buyer.ready_to_complete()
    answer = client.complete_checkout_session(session_id, {"chargeAmount": {"amount": "25.00", "currencyCode": "USD"}})
    return answer.body["chargePermissionId"]


def tracker(permission_id: str, tracking: str = "1Z999AA10123456784", carrier: str = "UPS") -> dict:
    return {
        "chargePermissionId": permission_id,
        "deliveryDetails": [{"trackingNumber": tracking, "carrierCode": carrier}],
    }


def test_a_delivery_tracker_is_created_and_answered_with_the_same(client, buyer):
    permission_id = charge_permission(client, buyer)
    answer = client.delivery_trackers(tracker(permission_id))
    assert answer.status == 200 and answer.body == tracker(permission_id)


@pytest.mark.parametrize(
    "change",
    [
        lambda p: tracker("S01-0000000-0000000"),
        lambda p: tracker(p, carrier="PIGEON"),
        lambda p: {"chargePermissionId": p, "deliveryDetails": []},
        lambda p: {"chargePermissionId": p, "deliveryDetails": [{"carrierCode": "UPS"}]},
    ],
    ids=["unknown charge permission", "unknown carrier", "no details", "no tracking number"],
)
def test_bad_trackers_are_refused(client, buyer, change):
    permission_id = charge_permission(client, buyer)
    with pytest.raises(AmazonPayError) as caught:
        client.delivery_trackers(change(permission_id))
    assert caught.value.status == 400 and caught.value.reason_code in ("InvalidParameterValue", "MissingParameterValue")


def test_a_tracking_code_can_be_used_once(client, buyer):
    first, second = charge_permission(client, buyer), charge_permission(client, buyer)
    client.delivery_trackers(tracker(first))
    client.delivery_trackers(tracker(first))  # the same shipment told again: fine
    with pytest.raises(AmazonPayError) as caught:
        client.delivery_trackers(tracker(second))
    assert (caught.value.status, caught.value.reason_code) == (400, "InvalidParameterValue")
