"""Delivery Trackers: the merchant tells Amazon a shipment's carrier and tracking number, so that
Amazon can notify the buyer on Alexa when it is out for delivery and delivered
(https://developer.amazon.com/docs/amazon-pay-api-v2/delivery-tracker.html).

``POST /v2/deliveryTrackers`` with ``chargePermissionId`` (or a v1 ``amazonOrderReferenceId``)
and ``deliveryDetails: [{trackingNumber, carrierCode}]``; 200 with the same. Amazon: "tracking
codes can only be used once"; a charge permission it does not know, or a malformed detail, is
``400 InvalidParameterValue``.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, invalid_parameter, missing_parameter

#: A subset of Amazon's carrier code list (the full list is a download on the page above):
#: SIMULATOR CHOICE, the carriers a reference shop ships with in its four regions.
CARRIERS = {
    "UPS",
    "USPS",
    "FEDEX",
    "DHL",
    "DHL_PAKET",
    "DHL_EXPRESS",
    "DPD",
    "HERMES",
    "GLS",
    "ROYAL_MAIL",
    "PARCELFORCE",
    "DEUTSCHE_POST",
    "COLISSIMO",
    "CHRONOPOST",
    "POSTNL",
    "YAMATO",
    "SAGAWA",
    "JAPAN_POST",
}


def create_delivery_tracker(state, env: str, body: dict[str, Any]) -> dict[str, Any]:
    permission_id = body.get("chargePermissionId") or body.get("amazonOrderReferenceId")
    if not isinstance(permission_id, str) or not permission_id:
        raise missing_parameter("chargePermissionId")
    details = body.get("deliveryDetails")
    if not isinstance(details, list) or not details or len(details) > 10:
        raise invalid_parameter("deliveryDetails")
    permission = state.charge_permissions.get(permission_id)
    if permission is None or permission.env != env:
        raise ApiError(400, "InvalidParameterValue", f"The chargePermissionId {permission_id[:64]} is invalid.")
    for index, detail in enumerate(details):
        tracking, carrier = (detail or {}).get("trackingNumber"), (detail or {}).get("carrierCode")
        if not isinstance(tracking, str) or not 0 < len(tracking) <= 64:
            raise invalid_parameter(f"deliveryDetails[{index}].trackingNumber")
        if carrier not in CARRIERS:
            raise invalid_parameter(f"deliveryDetails[{index}].carrierCode")
        used = state.delivery_trackers.get((carrier, tracking))
        if used is not None and used != permission_id:
            raise ApiError(400, "InvalidParameterValue", "The trackingNumber has been used already.")
    for detail in details:
        state.delivery_trackers[(detail["carrierCode"], detail["trackingNumber"])] = permission_id
    key = "chargePermissionId" if "chargePermissionId" in body else "amazonOrderReferenceId"
    return {key: permission_id, "deliveryDetails": [dict(detail) for detail in details]}
