"""One table: shop region -> Amazon Pay API region, checkout.js, ledger currency, languages,
and the Amazon hosts the browser talks to (for the Content-Security-Policy).

Sources: Amazon's "Add the Amazon Pay button" page (script per region; UK uses the EU script),
https://developer.amazon.com/docs/amazon-pay-checkout/add-the-amazon-pay-button.html; the
official SDKs' region maps, e.g. $regionMappings in
https://github.com/amzn/amazon-pay-api-sdk-php/blob/master/Amazon/Pay/API/Client.php; and the
CSP allow-list of Amazon's own Magento module,
https://github.com/amzn/amazon-payments-magento-2-plugin/blob/master/etc/csp_whitelist.xml
"""

from __future__ import annotations

from dataclasses import dataclass

_EU_HOSTS = (
    "https://*.payments-amazon.com",
    "https://*.amazon.eu",
    "https://*.amazon.de",
    "https://*.amazon.co.uk",
    "https://*.amazon.fr",
    "https://*.amazon.it",
    "https://*.amazon.es",
)


@dataclass(frozen=True)
class Region:
    code: str  # the AMAZON_PAY_REGION value
    api_region: str  # what AmazonPayClient and x-amz-pay-region use
    script_host: str  # na | eu | fe: which regional checkout.js
    ledger_currency: str  # the merchant account's currency in this region
    checkout_language: str  # language of the button and Amazon's pages
    locale: str  # for formatting prices on the shop's pages
    amazon_hosts: tuple[str, ...]  # where checkout.js loads, frames, posts and connects

    @property
    def checkout_js(self) -> str:
        return f"https://static-{self.script_host}.payments-amazon.com/checkout.js"


REGIONS = {
    "us": Region("us", "us", "na", "USD", "en_US", "en_US", ("https://*.payments-amazon.com", "https://*.amazon.com")),
    "eu": Region("eu", "eu", "eu", "EUR", "de_DE", "de_DE", _EU_HOSTS),
    "uk": Region("uk", "uk", "eu", "GBP", "en_GB", "en_GB", _EU_HOSTS),
    "jp": Region(
        "jp",
        "jp",
        "fe",
        "JPY",
        "ja_JP",
        "ja_JP",
        ("https://*.payments-amazon.com", "https://*.amazon.co.jp", "https://*.amazon.jp"),
    ),
}
