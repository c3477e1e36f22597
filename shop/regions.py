"""One table: shop region -> Amazon Pay API region, checkout.js, ledger currency, languages,
the Amazon hosts the browser talks to (for the Content-Security-Policy), how its prices treat
tax (``TaxWording``: US sales tax added; EU/UK VAT and Japanese consumption tax included), and
the time zone its buyers' dates are shown in.

Sources:
- checkout.js per region (one "EU / UK" script; ledger currencies per region): Amazon's
  "Amazon Pay script" page, https://developer.amazon.com/docs/amazon-pay-checkout/amazon-pay-script.html
  (and https://developer.amazon.com/docs/amazon-pay-checkout/add-the-amazon-pay-button.html);
- API regions (us, eu, uk, jp; uk shares the EU host): the official SDKs' region maps, e.g.
  https://github.com/amzn/amazon-pay-api-sdk-nodejs/blob/HEAD/src/constants.js (REGION_MAP) and
  https://github.com/amzn/amazon-pay-api-sdk-php/blob/HEAD/Amazon/Pay/API/Client.php ($regionMappings);
- Amazon hosts for the CSP: the allow-list of Amazon's own Magento module,
  https://github.com/amzn/amazon-payments-magento-2-plugin/blob/HEAD/etc/csp_whitelist.xml
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, localedata
from babel.dates import format_date, format_time

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
class TaxWording:
    """How the region's prices treat tax, in the words the pages and e-mails use. US prices
    are before sales tax (added once the address is known); EU, UK and Japanese prices include
    VAT or consumption tax (a buyer is told so, and shown the tax contained)."""

    included: bool  # prices include the tax (VAT, consumption tax); else it is added (US)
    row: str  # the tax row: "Sales tax" (added) or "Includes VAT" (contained in the total)
    total: str  # the total row's label
    before_address: str  # said while shipping and tax are not known yet (the cart)


SALES_TAX = TaxWording(False, "Sales tax", "Total", "Sales tax and shipping are calculated at checkout.")
VAT = TaxWording(True, "Includes VAT", "Total", "Prices include VAT. Shipping is calculated at checkout.")
CONSUMPTION_TAX = TaxWording(
    True,
    "Includes consumption tax",
    "Total (税込, tax included)",
    "Prices include consumption tax (税込). Shipping is calculated at checkout.",
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
    tax: TaxWording  # how prices treat tax (shipping.py computes it)
    timezone: str  # dates on the buyer's pages and e-mails are shown in this zone

    def when(self, at: str) -> str:
        """A stored UTC time (ISO 8601) in the region's time zone, written in the pages' language
        (English) the way the region writes it: "November 29, 2026, 4:58 PM EST",
        "29 November 2026, 22:58 CET", "30 November 2026, 6:58 am JST"."""
        moment = datetime.fromisoformat(at).astimezone(ZoneInfo(self.timezone))
        locale = self.page_locale
        date = format_date(moment, "long", locale=locale)
        time = format_time(moment, "short", locale=locale)
        return Locale.parse(locale).datetime_formats["medium"].format(time, date) + " " + moment.tzname()

    @property
    def page_locale(self) -> str:
        """The shop's pages are in English: English as written in the region's country (en_DE,
        en_GB), or international English where Babel has no such locale (Japan)."""
        english = "en_" + self.locale.split("_")[1]
        return english if localedata.exists(english) else "en_001"

    @property
    def checkout_js(self) -> str:
        return f"https://static-{self.script_host}.payments-amazon.com/checkout.js"


REGIONS = {
    "us": Region(
        "us",
        "us",
        "na",
        "USD",
        "en_US",
        "en_US",
        ("https://*.payments-amazon.com", "https://*.amazon.com"),
        SALES_TAX,
        "America/New_York",
    ),
    "eu": Region("eu", "eu", "eu", "EUR", "de_DE", "de_DE", _EU_HOSTS, VAT, "Europe/Berlin"),
    "uk": Region("uk", "uk", "eu", "GBP", "en_GB", "en_GB", _EU_HOSTS, VAT, "Europe/London"),
    "jp": Region(
        "jp",
        "jp",
        "fe",
        "JPY",
        "ja_JP",
        "ja_JP",
        ("https://*.payments-amazon.com", "https://*.amazon.co.jp", "https://*.amazon.jp"),
        CONSUMPTION_TAX,
        "Asia/Tokyo",
    ),
}
