"""One table: shop region -> Amazon Pay API region, checkout.js URL, ledger currency, languages.

Sources: Amazon's "Add the Amazon Pay button" page (script per region; UK uses the EU
script) and the official SDKs' region maps (browser.md §1.1, api.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    code: str  # the AMAZON_PAY_REGION value
    api_region: str  # what AmazonPayClient and x-amz-pay-region use
    checkout_js: str  # Amazon's regional checkout.js
    ledger_currency: str  # the merchant account's currency in this region
    checkout_language: str  # language of the button and Amazon's pages
    babel_locale: str  # for formatting prices


REGIONS = {
    "us": Region("us", "us", "https://static-na.payments-amazon.com/checkout.js", "USD", "en_US", "en_US"),
    "eu": Region("eu", "eu", "https://static-eu.payments-amazon.com/checkout.js", "EUR", "de_DE", "de_DE"),
    "uk": Region("uk", "uk", "https://static-eu.payments-amazon.com/checkout.js", "GBP", "en_GB", "en_GB"),
    "jp": Region("jp", "jp", "https://static-fe.payments-amazon.com/checkout.js", "JPY", "ja_JP", "ja_JP"),
}
