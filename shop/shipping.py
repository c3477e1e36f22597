"""Where the shop ships, and what shipping and tax cost: one simple, documented rule.

- The shop ships within its region's countries (``SHIPS_TO``), never to PO boxes or
  Packstations, and, in the US, not to Alaska or Hawaii.
- Shipping: a flat rate per currency, free from a threshold; nothing for digital-only carts.
- Tax: US sales tax by state from ``US_SALES_TAX`` on goods and shipping, added to the
  total. Elsewhere prices include VAT / consumption tax: nothing is added, and the tax the
  total contains is shown (``included_tax``), at the standard rate of the country it ships to
  (``VAT_RATES``; the shop's home country for downloads). Rates: the EU's
  https://europa.eu/youreurope/business/taxation/vat/vat-rules-rates/index_en.htm, the UK's
  https://www.gov.uk/vat-rates, Japan's https://www.nta.go.jp/english/taxes/consumption_tax/index.htm.
  How the pages word it per region: ``regions.TaxWording``.

Amazon Pay step: the button's ``deliverySpecifications`` tell Amazon which addresses to
offer. They cannot say everything (a type is either Allowed or NotAllowed, so "the US but
not AK or HI" does not fit), and Amazon's docs tell merchants to re-check the address
anyway: ``quote()`` is that re-check, run on the review page and again at Place Order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .money import Totals

SHIPS_TO = {"us": ["US"], "eu": ["DE", "FR", "IT", "ES", "AT", "NL", "BE"], "uk": ["GB"], "jp": ["JP"]}
US_EXCLUDED_STATES = {"AK": "Alaska", "HI": "Hawaii"}
FLAT_RATE = {"USD": Decimal("5.00"), "EUR": Decimal("4.90"), "GBP": Decimal("3.95"), "JPY": Decimal("500")}
FREE_FROM = {"USD": Decimal("50"), "EUR": Decimal("50"), "GBP": Decimal("40"), "JPY": Decimal("6000")}
US_SALES_TAX = {"WA": Decimal("0.101"), "NY": Decimal("0.08875"), "CA": Decimal("0.0725")}
#: Standard VAT / consumption tax rates, contained in the prices of the EU, UK and JP shops.
VAT_RATES = {
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "IT": Decimal("0.22"),
    "ES": Decimal("0.21"),
    "AT": Decimal("0.20"),
    "NL": Decimal("0.21"),
    "BE": Decimal("0.21"),
    "GB": Decimal("0.20"),
    "JP": Decimal("0.10"),
}
HOME_COUNTRY = {"us": "US", "eu": "DE", "uk": "GB", "jp": "JP"}
_PO_BOX = re.compile(r"\bP\.?\s*O\.?\s*BOX\b|\bPACKSTATION\b", re.IGNORECASE)


@dataclass(frozen=True)
class Quote:
    can_ship: bool
    shipping: Decimal
    tax: Decimal
    problem: str | None = None  # said to the buyer when can_ship is False
    included_tax: Decimal = Decimal(0)  # VAT / consumption tax the prices contain (not added)


def delivery_specifications(region: str) -> dict[str, Any]:
    """What Amazon's address picker should allow: the countries we ship to, no PO boxes."""
    return {
        "specialRestrictions": ["RestrictPOBoxes", "RestrictPackstations"] if region == "eu" else ["RestrictPOBoxes"],
        "addressRestrictions": {"type": "Allowed", "restrictions": {country: {} for country in SHIPS_TO[region]}},
    }


def quote(region: str, address: dict[str, Any] | None, subtotal: Decimal, currency: str, digital_only: bool) -> Quote:
    if digital_only:
        return Quote(True, Decimal(0), Decimal(0), included_tax=contained_tax(HOME_COUNTRY[region], subtotal))
    if not address:
        return Quote(False, Decimal(0), Decimal(0), "Amazon Pay did not give us a shipping address.")
    country, state = address.get("countryCode") or "", address.get("stateOrRegion") or ""
    lines = " ".join(filter(None, (address.get("addressLine1"), address.get("addressLine2"))))
    if country not in SHIPS_TO[region]:
        return Quote(False, Decimal(0), Decimal(0), f"We do not ship to {country or 'this country'} from this store.")
    if _PO_BOX.search(lines):
        return Quote(False, Decimal(0), Decimal(0), "We cannot deliver to PO boxes or parcel lockers.")
    if country == "US" and state in US_EXCLUDED_STATES:
        return Quote(False, Decimal(0), Decimal(0), f"We do not ship to {US_EXCLUDED_STATES[state]} yet.")
    shipping = Decimal(0) if subtotal >= FREE_FROM[currency] else FLAT_RATE[currency]
    rate = US_SALES_TAX.get(state, Decimal(0)) if country == "US" else Decimal(0)
    return Quote(True, shipping, (subtotal + shipping) * rate, included_tax=contained_tax(country, subtotal + shipping))


def contained_tax(country: str, gross: Decimal) -> Decimal:
    """The VAT (or consumption tax) a price that includes it contains: gross × rate / (1 + rate)."""
    rate = VAT_RATES.get(country, Decimal(0))
    return gross * rate / (1 + rate)


def order_amounts(region: str, currency: str, address: dict[str, Any] | None, items) -> tuple[Quote, Totals]:
    """The quote for a cart (``cart.Line`` items) sent to ``address``, and the order's totals,
    rounded to the currency."""
    subtotal = sum((line.total for line in items), Decimal(0))
    digital_only = bool(items) and all(line.product.digital for line in items)
    found = quote(region, address, subtotal, currency, digital_only)
    return found, Totals.of(subtotal, found.shipping, found.tax, currency, found.included_tax)
