"""Money: Decimal amounts, rounded and formatted per currency (JPY has no minor unit).

Amazon Pay wants amounts as strings with the currency's digits ("25.00", "3200"); buyers
want them formatted for their locale ("$25.00", "25,00 €", "￥3,200"). Babel knows both.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-get_currency_precision(currency)), rounding=ROUND_HALF_UP)


def amazon_price(amount: Decimal, currency: str) -> dict[str, str]:
    """An Amazon Pay ``{amount, currencyCode}`` object."""
    return {"amount": str(quantize(amount, currency)), "currencyCode": currency}


def display(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(quantize(amount, currency), currency, locale=locale)
