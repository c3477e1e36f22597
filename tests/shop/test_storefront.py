"""The buyer's journey through the shop's own routes, headless.

The shop talks to the simulator over real HTTP; the simulator's control endpoints play the
buyer on Amazon's pages (button click, address and payment choice, amazonPayRedirectUrl).
The browser-level journey (checkout.js, hosted pages) is proven by the Playwright suite.
"""

from __future__ import annotations

import json
import re

import pytest

import shop
from shop.lifecycle import orders
from tests.support import shown_after_post, text


@pytest.fixture
def buyer_browser(make_shop_buyer):
    return make_shop_buyer()


# -- cart and button -------------------------------------------------------------------------------


def test_a_catalog_card_adds_one_of_its_product(buyer_browser):
    """The catalog has one form (one token) and each card's button names its product: what
    a browser sends for a click on the tote's card is that form plus that button."""
    web = buyer_browser.web
    page = web.get("/").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/cart/items" id="add-to-cart">(.*?)</form>', page, re.S)[1]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    assert page.count('name="csrf_token"') == 1 and fields["quantity"] == "1"
    buttons = re.findall(r'<button type="submit" form="add-to-cart" name="product_id" value="([^"]+)"', page)
    assert len(buttons) == 4 and "canvas-tote" in buttons
    for _ in range(2):
        answer = web.post("/cart/items", data={**fields, "product_id": "canvas-tote"})
        assert answer.status_code == 303 and answer.headers["Location"] == "/cart"
    assert "Cart (2)" in text(web.get("/cart"))
    # A card cannot add past the most the cart takes: the product page says so by its field.
    buyer_browser.add("canvas-tote", 18)
    answer = web.post("/cart/items", data={**fields, "product_id": "canvas-tote"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/products/canvas-tote"
    page = text(web.get(answer.headers["Location"]))
    assert "You already have 20 of these in your cart" in page and "Cart (20)" in page


def test_cart_totals_and_a_button_amazon_accepts(buyer_browser, shop_app):
    buyer_browser.add("canvas-tote", 2)
    buyer_browser.add("field-notebook", 1)
    page = text(buyer_browser.web.get("/cart"))
    assert "$48.00" in page and "$12.50" in page and "$60.50" in page
    options = buyer_browser.button_options()
    assert options["productType"] == "PayAndShip" and options["placement"] == "Cart"
    assert options["estimatedOrderAmount"] == {"amount": "60.50", "currencyCode": "USD"}
    payload = json.loads(options["createCheckoutSessionConfig"]["payloadJSON"])
    assert payload["webCheckoutDetails"]["checkoutReviewReturnUrl"] == "http://localhost/checkout/review"
    assert payload["deliverySpecifications"]["addressRestrictions"]["restrictions"] == {"US": {}}
    assert "<script>" not in page.replace('<script type="application/json"', "")  # no inline script
    review = buyer_browser.click_amazon_pay()  # the simulator verified the signature
    assert review.startswith("/checkout/review?amazonCheckoutSessionId=")


def test_digital_only_cart_is_pay_only(buyer_browser):
    buyer_browser.add("trail-guide-ebook")
    options = buyer_browser.button_options()
    assert options["productType"] == "PayOnly"
    assert "deliverySpecifications" not in json.loads(options["createCheckoutSessionConfig"]["payloadJSON"])
    result = buyer_browser.checkout()
    assert "Thank you for your order" in text(result)


def test_signature_is_computed_once_per_payload(buyer_browser, shop_app):
    buyer_browser.add()
    first = buyer_browser.button_options()["createCheckoutSessionConfig"]["signature"]
    assert buyer_browser.button_options()["createCheckoutSessionConfig"]["signature"] == first


def test_the_kept_button_follows_the_cart(make_shop_buyer, make_wallet_buyer):
    """The cart's button options are made once per kind and amount of cart and kept: every
    change of the cart still shows its own amount, product type and wallet choice, and two
    browsers with the same cart get the same (verified) button."""
    seen = []
    for product, quantity, kind, amount in [
        ("canvas-tote", 1, "PayAndShip", "24.00"),
        ("canvas-tote", 2, "PayAndShip", "48.00"),
        ("canvas-tote", 1, "PayAndShip", "24.00"),
        ("trail-guide-ebook", 1, "PayOnly", "9.99"),
    ]:
        browser = make_shop_buyer()
        browser.add(product, quantity)
        options = browser.button_options()
        assert options["productType"] == kind and options["estimatedOrderAmount"]["amount"] == amount
        seen.append(options)
    assert seen[0] == seen[2] and seen[0] != seen[1]
    wallet = make_wallet_buyer()  # the same cart as the first, then asking to save the wallet
    wallet.sign_in()
    wallet.add("canvas-tote", 1)
    assert "chargePermissionType" not in wallet.button_options()["createCheckoutSessionConfig"]["payloadJSON"]
    wallet.web.post("/cart/save-wallet", data={"csrf_token": wallet.csrf(), "save_wallet": "1"})
    payload = json.loads(wallet.button_options()["createCheckoutSessionConfig"]["payloadJSON"])
    assert payload["chargePermissionType"] == "PaymentMethodOnFile"
    other = make_shop_buyer()
    other.add("canvas-tote", 1)
    assert other.click_amazon_pay().startswith("/checkout/review?")  # the kept signature verifies


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"product_id": "canvas-tote", "quantity": "-3"}, "Choose a quantity from 0 to 20 (0 removes it)."),
        ({"product_id": "canvas-tote", "quantity": "1e9"}, "Enter a whole number from 0 to 20."),
        ({"product_id": "canvas-tote", "quantity": "999", "add": "1"}, "Choose a quantity from 1 to 20."),
        ({"product_id": "no-such-thing", "quantity": "1", "add": "1"}, "Sorry, we do not sell that product."),
    ],
)
def test_bad_cart_input_is_refused_plainly(buyer_browser, form, message):
    answer = buyer_browser.web.post("/cart/items", data={"csrf_token": buyer_browser.csrf(), **form})
    assert answer.status_code == 303  # back to a page: a reload never sends the form again
    page = text(buyer_browser.web.get(answer.headers["Location"]))
    assert message in page and "Cart (0)" in page


def test_forms_without_csrf_token_change_nothing(buyer_browser):
    answer = shown_after_post(
        buyer_browser.web,
        buyer_browser.web.post("/cart/items", data={"product_id": "canvas-tote", "quantity": "1", "add": "1"}),
    )
    assert answer.status_code == 400 and "This page has expired" in text(answer)
    assert "Your cart is empty" in text(buyer_browser.web.get("/cart"))


# -- review --------------------------------------------------------------------------------------------


def test_review_shows_buyer_address_payment_and_totals(buyer_browser):
    buyer_browser.add("canvas-tote", 1)
    page = text(buyer_browser.web.get(buyer_browser.click_amazon_pay()))
    assert "Jane Doe" in page and "jane.doe@example.com" in page
    assert "410 Terry Ave N" in page and "Visa ****1111" in page
    # WA: $24.00 + $5.00 shipping, 10.1 % sales tax on both = $2.93
    assert "$5.00" in page and "$2.93" in page and "$31.93" in page
    assert 'id="changeAddress"' in page and 'id="changePayment"' in page


def test_shop_refuses_an_address_it_cannot_ship_to(buyer_browser, sim):
    buyer_browser.add()
    review = buyer_browser.click_amazon_pay(address="us-alaska")
    page = text(buyer_browser.web.get(review))
    assert "We do not ship to Alaska yet." in page and "Place order" not in page
    placed = shown_after_post(buyer_browser.web, buyer_browser.place_order(review))
    assert placed.status_code == 409 and "We cannot ship there" in text(placed)
    assert sim.counts()["counts"].get("charges", 0) == 0


def test_free_shipping_and_no_sales_tax_elsewhere(buyer_browser, shop_app):
    buyer_browser.add("canvas-tote", 3)  # $72.00: free shipping from $50
    page = text(buyer_browser.web.get(buyer_browser.click_amazon_pay()))
    assert "$0.00" in page


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "../../etc/passwd", "1' OR '1'='1", "a" * 500])
def test_malformed_checkout_session_ids_never_reach_amazon(buyer_browser, bad):
    for path in ("/checkout/review", "/checkout/result"):
        answer = buyer_browser.web.get(path, query_string={"amazonCheckoutSessionId": bad})
        assert answer.status_code == 400 and "This link is not a checkout" in text(answer)


def test_another_browser_cannot_see_or_complete_a_checkout(buyer_browser, shop_app, sim, make_shop_buyer):
    buyer_browser.add()
    review = buyer_browser.click_amazon_pay()
    buyer_browser.web.get(review)
    stranger = make_shop_buyer()
    stranger.add()
    assert stranger.web.get(review).status_code == 403
    placed = buyer_browser.place_order(review)
    result = buyer_browser.pay_at_amazon(placed.headers["Location"])
    assert stranger.web.get(result).status_code == 404
    assert "Thank you" in text(buyer_browser.web.get(result))


# -- place order and result ---------------------------------------------------------------------------


def test_success(buyer_browser, sim):
    buyer_browser.add("trail-mug", 2)
    result = buyer_browser.checkout()
    page = text(result)
    assert result.status_code == 200 and "Thank you for your order" in page
    reference = re.search(r'data-testid="order-reference">(ORD-[0-9A-F]{8})<', page)[1]
    assert "Cart (0)" in page
    order_page = text(buyer_browser.web.get(f"/orders/{reference}"))
    assert 'data-testid="order-status">Paid<' in order_page and "Payment confirmed" in order_page
    assert "Complete Checkout Session" not in order_page  # the API's history is the back office's
    assert sim.counts()["chargesPerMerchantReference"] == {reference: 1}


def test_pending_authorization(buyer_browser):
    buyer_browser.add()
    page = text(buyer_browser.checkout(instrument="0701"))
    assert "We have your order" in page and "on hold" in page


@pytest.mark.parametrize(("instrument", "reason"), [("3434", "declined"), ("3064", "canceled")])
def test_declined_or_canceled_payment_keeps_the_cart(buyer_browser, instrument, reason):
    buyer_browser.add()
    page = text(buyer_browser.checkout(instrument=instrument))
    assert "Your payment was not successful" in page and "Please try another payment method." in page
    assert reason in page and "Cart (1)" in page


def test_reloading_the_result_does_not_complete_twice(buyer_browser, shop_app, sim):
    buyer_browser.add()
    review = buyer_browser.click_amazon_pay()
    result = buyer_browser.pay_at_amazon(buyer_browser.place_order(review).headers["Location"])
    first, second = text(buyer_browser.web.get(result)), text(buyer_browser.web.get(result))
    reference = re.search(r"(ORD-[0-9A-F]{8})", first)[1]
    assert reference in second and "Thank you" in second
    with shop_app.app_context():
        events = [event.detail for event in orders.events(orders.by_reference(reference))]
    assert sum("Complete Checkout Session" in detail for detail in events) == 1
    assert sim.counts()["counts"]["charges"] == 1


def test_double_place_order_makes_one_order_and_one_charge(buyer_browser, sim):
    buyer_browser.add()
    review = buyer_browser.click_amazon_pay()
    first, second = buyer_browser.place_order(review), buyer_browser.place_order(review)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    result = buyer_browser.pay_at_amazon(first.headers["Location"])
    assert "Thank you" in text(buyer_browser.web.get(result))
    assert sim.counts()["counts"] == {"checkoutSessions": 1, "chargePermissions": 1, "charges": 1}
    assert sim.app.extensions["amazon_pay_simulator"].faults.to_json()["requests"]["UpdateCheckoutSession"] == 1


def test_place_order_after_paying_shows_the_result(buyer_browser):
    buyer_browser.add()
    review = buyer_browser.click_amazon_pay()
    result = buyer_browser.pay_at_amazon(buyer_browser.place_order(review).headers["Location"])
    buyer_browser.web.get(result)
    again = buyer_browser.place_order(review)  # e.g. the Back button, then Place order
    assert again.status_code in (302, 303)


def test_cancel_returns_to_the_cart_with_a_message(buyer_browser):
    buyer_browser.add()
    page = text(buyer_browser.web.get("/checkout/cancel", follow_redirects=True))
    assert "You left Amazon Pay before paying" in page and "Cart (1)" in page


# -- regions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "currency", "price", "language"),
    [("eu", "EUR", "22,00\xa0€", "de_DE"), ("uk", "GBP", "£19.00", "en_GB"), ("jp", "JPY", "￥3,200", "ja_JP")],
)
def test_each_region_has_its_currency_script_and_language(
    sim, private_key, tmp_path, region, currency, price, language, shop_config, make_shop_buyer
):
    from shop.amazon_pay import AmazonPayClient

    client = AmazonPayClient("SANDBOX-TESTKEY0000000000000000A", private_key, region, endpoint=sim.url)
    app = shop.create_app(shop_config(client, tmp_path, region=region))
    browser = make_shop_buyer(app)
    browser.add("canvas-tote")
    cart_page = browser.web.get("/cart")
    assert price in text(cart_page)
    script = {"eu": "static-eu", "uk": "static-eu", "jp": "static-fe"}[region]
    assert f"{sim.url}/{script}/checkout.js" in text(cart_page)
    assert sim.url in cart_page.headers["Content-Security-Policy"]
    options = browser.button_options()
    assert (options["ledgerCurrency"], options["checkoutLanguage"]) == (currency, language)
    amazon_region = {"eu": "eu", "uk": "eu", "jp": "jp"}[region]
    result = browser.checkout(region=amazon_region)
    assert "Thank you for your order" in text(result)


def test_amazon_down_at_place_order_offers_a_way_back_and_charges_nothing(buyer_browser, shop_app, sim):
    buyer_browser.add()
    review = buyer_browser.click_amazon_pay()
    buyer_browser.web.get(review)
    client = shop_app.extensions["amazon_pay"]
    real_base = client.base_url
    client.base_url = "http://127.0.0.1:9/v2"  # Amazon unreachable for this one request
    try:
        placed = buyer_browser.place_order(review)
    finally:
        client.base_url = real_base
    shown = shown_after_post(buyer_browser.web, placed)
    page = text(shown)
    assert shown.status_code == 503 and "Amazon Pay is not answering" in page
    assert f'href="{review.replace("&", "&amp;")}"' in page and "Back to your order review" in page
    assert sim.counts()["counts"].get("charges", 0) == 0
    retried = buyer_browser.place_order(review)  # Amazon is back: the same order goes through
    assert retried.status_code == 303


def test_cart_changed_after_review_is_not_charged_unseen(buyer_browser, sim):
    buyer_browser.add("canvas-tote")
    review = buyer_browser.click_amazon_pay()
    page = text(buyer_browser.web.get(review))
    reviewed = re.search(r'name="reviewed" value="([^"]*)"', page)[1]
    buyer_browser.add("trail-mug")  # another tab
    session_id = review.split("amazonCheckoutSessionId=")[1]
    placed = buyer_browser.web.post(
        "/checkout/place-order",
        data={"csrf_token": buyer_browser.csrf(), "amazonCheckoutSessionId": session_id, "reviewed": reviewed},
    )
    shown = shown_after_post(buyer_browser.web, placed)
    assert shown.status_code == 409 and "Your cart has changed" in text(shown)
    assert shown.request.path == "/problem"  # the address bar holds a page, not the form's URL
    assert buyer_browser.web.get("/problem").status_code == 409  # a reload shows it again
    assert "$51.75" in text(buyer_browser.web.get(review))  # the review shows the new total
    assert buyer_browser.place_order(review).status_code == 303  # placed after seeing it
