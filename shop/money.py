"""Money: Decimal amounts, rounded and formatted per currency (JPY has no minor unit).

Amazon Pay wants amounts as strings with the currency's digits ("25.00", "3200"); buyers
want them formatted for their locale ("$25.00", "25,00 €", "￥3,200"). Babel knows both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-get_currency_precision(currency)), rounding=ROUND_HALF_UP)


def amazon_price(amount: Decimal, currency: str) -> dict[str, str]:
    """An Amazon Pay ``{amount, currencyCode}`` object."""
    return {"amount": str(quantize(amount, currency)), "currencyCode": currency}


@functools.lru_cache(maxsize=4096)
def display(amount: Decimal, currency: str, locale: str) -> str:
    """A price for the buyer's eyes; cached, since a shop shows the same few prices again and
    again and Babel's formatting costs more than the rest of a page's lines."""
    return format_currency(quantize(amount, currency), currency, locale=locale)


@dataclass(frozen=True)
class Totals:
    """What an order costs, line by line of the bill, in one currency. In the cart, before
    Amazon Pay has told us where it goes, shipping and tax are not known yet (None).
    ``tax`` is added to the total (US sales tax); ``included_tax`` is the VAT or consumption
    tax the total already contains (EU, UK, JP), shown but never added."""

    subtotal: Decimal
    shipping: Decimal | None
    tax: Decimal | None
    total: Decimal
    currency: str
    included_tax: Decimal | None = None

    @classmethod
    def of(
        cls, subtotal: Decimal, shipping: Decimal, tax: Decimal, currency: str, included_tax: Decimal = Decimal(0)
    ) -> Totals:
        """Totals rounded to the currency (tax first, then the sum of the rounded parts)."""
        tax = quantize(tax, currency)
        total = quantize(subtotal + shipping + tax, currency)
        return cls(subtotal, shipping, tax, total, currency, quantize(included_tax, currency))

    @classmethod
    def before_shipping(cls, subtotal: Decimal, currency: str) -> Totals:
        """The cart's totals: the goods only; shipping and tax come with the address."""
        return cls(subtotal, None, None, subtotal, currency)
