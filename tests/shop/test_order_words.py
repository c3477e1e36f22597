"""What the buyer reads about an order, per region: addresses as their country writes them,
tax in the region's words, the order's steps in buyer language with local dates, a download
that never "ships", and the saved wallet's wording (kept on file, Remove asks first, a
declined payment leads to Update payment method)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import requests

import shop
from shop import addresses, shipping
from shop.lifecycle import notifications, orders
from shop.regions import REGIONS
from tests.support import text

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
API_WORDS = ("Checkout Session", "Charge", "Authorized", "chargeId", "Capture", "(result page)")


def visible(page: str) -> str:
    """The page's text as a reader gets it: no tags, so no attributes (``<time datetime>``)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def address(**fields) -> dict:
    return {"name": "Jane Doe", "addressLine1": "410 Terry Ave N", "city": "Seattle", "stateOrRegion": "WA",
            "postalCode": "98109", "countryCode": "US"} | fields  # fmt: skip


# -- addresses -------------------------------------------------------------------------------------


def test_a_us_address_ends_city_state_zip_and_names_the_country():
    assert addresses.lines(address(), "en_US") == ["Jane Doe", "410 Terry Ave N", "Seattle, WA 98109", "United States"]


def test_a_japanese_address_starts_with_the_postal_mark_and_ends_with_the_name():
    jp = address(name="山田 太郎", addressLine1="下目黒1-8-1", city="目黒区", stateOrRegion="東京都",
                 postalCode="153-0064", countryCode="JP")  # fmt: skip
    assert addresses.lines(jp, "ja_JP") == ["〒153-0064", "東京都", "目黒区下目黒1-8-1", "山田 太郎", "日本"]


@pytest.mark.parametrize(
    ("country", "locale", "city_line", "country_name"),
    [("DE", "de_DE", "80807 München", "Deutschland"), ("FR", "de_DE", "80807 München", "Frankreich"),
     ("GB", "en_GB", "München", "United Kingdom")],
)  # fmt: skip
def test_european_addresses_put_the_postal_code_where_the_country_does(country, locale, city_line, country_name):
    lines = addresses.lines(
        address(city="München", postalCode="80807", stateOrRegion=None, countryCode=country), locale
    )
    assert city_line in lines and lines[-1] == country_name and country not in lines


def test_an_address_with_missing_parts_leaves_no_stray_commas():
    assert addresses.lines(address(stateOrRegion=None, postalCode=None), "en_US")[2] == "Seattle"
    assert addresses.lines(None, "en_US") == [] and addresses.one_line(address(), "en_US").endswith(", United States")


# -- tax per region --------------------------------------------------------------------------------


def test_vat_and_consumption_tax_are_contained_not_added():
    eu = shipping.quote(
        "eu", address(city="München", countryCode="DE", stateOrRegion=None), Decimal("22.00"), "EUR", False
    )
    assert (eu.shipping, eu.tax, round(eu.included_tax, 2)) == (
        Decimal("4.90"),
        0,
        Decimal("4.29"),
    )  # 26.90 / 1.19 × 0.19
    jp = shipping.quote("jp", address(countryCode="JP", stateOrRegion="東京都"), Decimal(3200), "JPY", False)
    assert (jp.tax, round(jp.included_tax)) == (0, 336)  # ¥3,700 includes 10 %
    us = shipping.quote("us", address(), Decimal("24.00"), "USD", False)
    assert us.included_tax == 0 and round(us.tax, 2) == Decimal("2.93")


@pytest.mark.parametrize(
    ("region", "wanted", "unwanted"),
    [("us", ["Sales tax", "$2.93", "United States"], ["VAT", "税込"]),
     ("eu", ["Includes VAT", "4,29\u00a0€", "Deutschland"], ["Sales tax", ">DE<"]),
     ("jp", ["税込", "Includes consumption tax", "￥336", "〒153-0064", "日本"], ["Sales tax", ">JP<"])],
)  # fmt: skip
def test_review_and_order_pages_speak_the_regions_tax_and_address(
    client, tmp_path, shop_config, make_shop_buyer, region, wanted, unwanted
):
    app = shop.create_app(shop_config(client, tmp_path, region))
    buyer = make_shop_buyer(app)
    buyer.add("canvas-tote")
    review = text(buyer.web.get(buyer.click_amazon_pay()))
    assert "font-style" not in review  # upright: the address is not styled italic inline
    for page in (review, text(buyer.checkout())):
        for word in wanted:
            assert word in page, (word, region)
        for word in unwanted:
            assert word not in page, (word, region)


# -- the order page --------------------------------------------------------------------------------


def test_the_order_page_summarises_the_order_in_buyer_language(shop_app, make_shop_buyer):
    buyer = make_shop_buyer()
    buyer.add("canvas-tote", 2)
    result = text(buyer.checkout())
    reference = re.search(r'data-testid="order-reference">(ORD-[0-9A-F]{8})<', result)[1]
    page = visible(text(buyer.web.get(f"/orders/{reference}")))
    for summary in (visible(result), page):  # the result page after a paid order shows it too
        assert "2 × Canvas tote" in summary and "Total $58.35" in summary
        assert "Jane Doe 410 Terry Ave N Seattle, WA 98109 United States" in summary
        assert "Amazon Pay: Visa ****1111" in summary and "will e-mail you when it ships" in summary
    assert re.search(r"Ordered [A-Z][a-z]+ \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M E[SD]T", page)
    assert re.search(r"Payment confirmed [A-Z][a-z]+ \d{1,2}, \d{4}", page)
    assert not ISO_TIME.search(page) and "History" not in page
    for word in API_WORDS:
        assert word not in page, word


def test_the_back_office_keeps_the_api_history_and_shows_the_address(shop_app, make_shop_buyer, admin_of):
    buyer = make_shop_buyer()
    buyer.add()
    reference = re.search(r"(ORD-[0-9A-F]{8})", text(buyer.checkout()))[1]
    page = text(admin_of(shop_app).get(f"/admin/orders/{reference}"))
    assert "Complete Checkout Session" in page and "Seattle, WA 98109<br>United States" in page


def test_the_order_stores_what_the_buyer_reviewed(shop_app, make_shop_buyer):
    buyer = make_shop_buyer()
    buyer.add()
    reference = re.search(r"(ORD-[0-9A-F]{8})", text(buyer.checkout()))[1]
    with shop_app.app_context():
        order = orders.by_reference(reference)
    assert (order.buyer_name, order.payment_descriptor) == ("Jane Doe", "Visa ****1111")
    assert order.ship_to["city"] == "Seattle" and order.included_tax == 0 and not order.digital_only


def test_a_download_says_download_and_never_ships(shop_app, make_shop_buyer):
    buyer = make_shop_buyer()
    buyer.add("trail-guide-ebook")
    review = text(buyer.web.get(buyer.click_amazon_pay()))
    result = text(buyer.checkout())
    reference = re.search(r"(ORD-[0-9A-F]{8})", result)[1]
    page = text(buyer.web.get(f"/orders/{reference}"))
    with shop_app.app_context():
        order = orders.by_reference(reference)
        _subject, mail = notifications.Texts(shop_app, order).confirmed()
    for said in (review, result, page, mail):
        assert "download" in said.lower()
        assert "ships" not in said and "Shipping" not in said and 'data-testid="shipping"' not in said
    assert order.digital_only and order.ship_to is None


def test_the_e_mail_has_the_address_payment_method_and_local_date(client, tmp_path, shop_config, make_shop_buyer):
    app = shop.create_app(shop_config(client, tmp_path, "jp"))
    buyer = make_shop_buyer(app)
    buyer.add("canvas-tote")
    reference = re.search(r"(ORD-[0-9A-F]{8})", text(buyer.checkout()))[1]
    with app.app_context():
        _subject, mail = notifications.Texts(app, orders.by_reference(reference)).confirmed()
    assert "〒153-0064" in mail and "日本" in mail and "Visa ****1111" in mail
    assert re.search(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d{1,2}:\d{2}\s[ap]m JST", mail) and not ISO_TIME.search(mail)
    assert re.search(r"Total \(税込, tax included\) +￥3,700\n", mail) and "Includes consumption tax" in mail


def test_dates_are_the_regions_own():
    at = "2026-11-29T21:58:05+00:00"
    assert REGIONS["us"].when(at) == "November 29, 2026, 4:58\u202fPM EST"
    assert REGIONS["eu"].when(at) == "29 November 2026, 22:58 CET"  # English pages: no "MEZ" amid English
    assert REGIONS["uk"].when(at) == "29 November 2026, 21:58 GMT"
    assert REGIONS["jp"].when(at) == "30 November 2026, 6:58\u202fam JST"


# -- saved wallet and the Change buttons -----------------------------------------------------------


def test_review_names_the_change_buttons_and_says_the_wallet_is_kept(make_wallet_buyer):
    buyer = make_wallet_buyer()
    buyer.add()
    plain = text(buyer.web.get(buyer.click_amazon_pay()))
    assert ">Change shipping address</button>" in plain and ">Change payment method</button>" in plain
    assert "kept on file" not in plain
    buyer.sign_in()
    buyer.web.post("/cart/save-wallet", data={"csrf_token": buyer.csrf(), "save_wallet": "1"})
    saving = text(buyer.web.get(buyer.click_amazon_pay()))
    assert "This payment method will be kept on file with Amazon Pay" in saving


def test_remove_asks_first_and_a_declined_wallet_leads_to_update(make_wallet_buyer):
    wallet_buyer = make_wallet_buyer()
    wallet_buyer.sign_in()
    wallet_buyer.save_wallet_at_checkout()
    account = wallet_buyer.account()
    # Without JavaScript: the Remove button opens a <details>; only its own button posts.
    confirm = re.search(r'<details class="confirm">(.*?)</details>', account, re.S)[1]
    assert 'data-testid="remove-wallet">Remove saved wallet</summary>' in confirm
    assert 'action="/account/wallet/remove"' in confirm and "Yes, remove my saved wallet" in confirm
    assert account.count('action="/account/wallet/remove"') == 1
    assert "Seattle, WA 98109, United States" in account
    wallet_buyer.update_wallet(instrument="3434")
    wallet_buyer.add("trail-mug")
    declined = text(wallet_buyer.pay_with_wallet())
    assert "Your payment was not successful" in declined
    assert 'href="/account#wallet" data-testid="update-payment-method">Update payment method</a>' in declined


def test_the_order_shows_the_address_amazon_completed_with(client, tmp_path, shop_config, make_shop_buyer, sim):
    """The buyer picks another address at Amazon after Place Order (another tab): the order
    page shows the one Amazon completed the order with, not the one reviewed."""
    app = shop.create_app(shop_config(client, tmp_path, "eu"))
    buyer = make_shop_buyer(app)
    buyer.add()
    review = buyer.click_amazon_pay()
    placed = buyer.place_order(review)
    session_id = review.split("amazonCheckoutSessionId=")[1]
    changed = requests.post(
        f"{sim.url}/control/checkout-sessions/{session_id}/buyer", json={"address": "fr-home"}, timeout=5
    )
    assert changed.status_code == 200, changed.text
    result = text(buyer.web.get(buyer.pay_at_amazon(placed.headers["Location"])))
    reference = re.search(r"(ORD-[0-9A-F]{8})", result)[1]
    page = text(buyer.web.get(f"/orders/{reference}"))
    assert "92110 Clichy" in page and "Frankreich" in page and "München" not in page
