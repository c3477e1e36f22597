"""Simulated buyers: their addresses and the sandbox payment instruments.

The instruments are Amazon's simulated payment methods for sandbox test buyers
(https://developer.amazon.com/docs/amazon-pay-checkout/sandbox-simulations.html):
the card ending selects the outcome when the buyer returns through amazonPayRedirectUrl.
One more is the simulator's own (SIMULATOR CHOICE, docs/simulator.md): ``0505`` pays, and every
refund on its charges is declined, as the ``AmazonRejected`` simulation string does on Create
Refund, so that a browser test (or a merchant trying the back office) can see a declined refund
without sending a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Instrument:
    last4: str
    brand: str
    outcome: str  # Success | BuyerCanceled | Declined | PendingAuthorized | PendingDeclined
    description: str
    refund_declined: str | None = None  # the reason code every refund on its charges is declined with

    @property
    def descriptor(self) -> str:
        return f"{self.brand} ****{self.last4}"


INSTRUMENTS = {
    i.last4: i
    for i in [
        Instrument("1111", "Visa", "Success", "Payment succeeds."),
        Instrument("3064", "Visa", "BuyerCanceled", "Checkout Session canceled: BuyerCanceled."),
        Instrument("3434", "Mastercard", "Declined", "Checkout Session canceled: Declined."),
        Instrument("0701", "Visa", "PendingAuthorized", "Authorization pending, then Authorized after 30 s."),
        Instrument(
            "4354", "Mastercard", "PendingDeclined", "Authorization pending, then Declined (HardDeclined) after 30 s."
        ),
        Instrument(
            "0505",
            "Visa",
            "Success",
            "Payment succeeds; every refund is Declined (AmazonRejected) after 30 s.",
            refund_declined="AmazonRejected",
        ),
    ]
}
DEFAULT_INSTRUMENT = "1111"


def _address(name, line1, city, postal, country, region=None, line2=None, phone="800-000-0000"):
    return {
        "name": name,
        "addressLine1": line1,
        "addressLine2": line2,
        "addressLine3": None,
        "city": city,
        "county": None,
        "district": None,
        "stateOrRegion": region,
        "postalCode": postal,
        "countryCode": country,
        "phoneNumber": phone,
    }


#: Address book of the test buyer; ids are what the hosted page and control endpoints use.
ADDRESSES = {
    "us-home": _address("Jane Doe", "410 Terry Ave N", "Seattle", "98109", "US", "WA"),
    "us-po-box": _address("Jane Doe", "PO Box 1234", "Seattle", "98111", "US", "WA"),
    "us-alaska": _address("Jane Doe", "1 Glacier Rd", "Juneau", "99801", "US", "AK"),
    "ca-home": _address("Jane Doe", "120 Bremner Blvd", "Toronto", "M5J 0A8", "CA", "ON"),
    "de-home": _address("Erika Mustermann", "Marcel-Breuer-Str. 12", "München", "80807", "DE"),
    "de-packstation": _address("Erika Mustermann", "Packstation 101", "Berlin", "10117", "DE", line2="1234567"),
    "uk-home": _address("John Smith", "1 Principal Place", "London", "EC2A 2FA", "GB"),
    "fr-home": _address("Marie Dupont", "67 Boulevard du Général Leclerc", "Clichy", "92110", "FR"),
    "jp-home": _address("山田 太郎", "目黒区下目黒1-8-1", "東京都", "153-0064", "JP", phone="03-0000-0000"),
}

#: The test buyer per region, and the address they choose unless told otherwise.
BUYERS = {
    "na": {
        "buyerId": "amzn1.account.SIMULATORBUYERNA0000000000",
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
        "phoneNumber": "800-000-0000",
        "defaultAddress": "us-home",
    },
    "eu": {
        "buyerId": "amzn1.account.SIMULATORBUYEREU0000000000",
        "name": "Erika Mustermann",
        "email": "erika@example.de",
        "phoneNumber": "030-000000",
        "defaultAddress": "de-home",
    },
    "jp": {
        "buyerId": "amzn1.account.SIMULATORBUYERJP0000000000",
        "name": "山田 太郎",
        "email": "taro@example.jp",
        "phoneNumber": "03-0000-0000",
        "defaultAddress": "jp-home",
    },
}

_PO_BOX = re.compile(r"\bP\.?\s*O\.?\s*BOX\b|\bPOST\s*OFFICE\s*BOX\b", re.IGNORECASE)
_PACKSTATION = re.compile(r"\b(PACKSTATION|POSTFILIALE)\b", re.IGNORECASE)


def buyer_for_region(region: str) -> dict[str, Any]:
    return BUYERS.get(region.lower(), BUYERS["na"])


def address_allowed(address: dict[str, Any], delivery_specifications: dict[str, Any] | None) -> bool:
    """Whether Amazon would let the buyer pick this address (address-restriction-samples page)."""
    specs = delivery_specifications or {}
    lines = " ".join(filter(None, (address.get("addressLine1"), address.get("addressLine2"))))
    special = specs.get("specialRestrictions") or []
    if "RestrictPOBoxes" in special and _PO_BOX.search(lines):
        return False
    if "RestrictPackstations" in special and _PACKSTATION.search(lines):
        return False
    restrictions = specs.get("addressRestrictions") or {}
    rules = restrictions.get("restrictions") or {}
    if not rules:
        return True
    matched = _matches(address, rules)
    return matched if restrictions.get("type") == "Allowed" else not matched


def _matches(address: dict[str, Any], rules: dict[str, Any]) -> bool:
    rule = rules.get(address.get("countryCode") or "")
    if rule is None:
        return False
    if not isinstance(rule, dict):
        return True
    states, zips = rule.get("statesOrRegions") or [], rule.get("zipCodes") or []
    if not states and not zips:
        return True  # the whole country
    if address.get("stateOrRegion") in states:
        return True
    return any(str(address.get("postalCode", "")).startswith(str(z)) for z in zips)


def address_id(address: dict[str, Any] | None) -> str | None:
    """The address book id of an address the simulator handed out, if any."""
    if address is None:
        return None
    return next((key for key, known in ADDRESSES.items() if known == address), None)
