"""Product pages and the express Amazon Pay button (placement ``Product``), and how the shop
answers a quantity it cannot take: a redirect back to the page, the message by the field.

Headless: the simulator's control endpoints play the buyer at Amazon with the payload the
product page's click fetched (the browser side is e2e/test_product_page.py).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from tests.support import text

#: How amazon-pay.js asks: JSON, so a refused form is answered as JSON (shop/web/problems.py).
FETCH = {"Accept": "application/json"}


@pytest.fixture
def shopper(make_shop_buyer):
    return make_shop_buyer()


def express(shopper, product_id: str = "canvas-tote", quantity="1", **extra):
    """The product page's Amazon Pay click: the fetch POST amazon-pay.js makes."""
    page = f"/products/{product_id}"
    form = {"csrf_token": shopper.csrf(page), "quantity": quantity, "product_id": product_id, **extra}
    return shopper.web.post(f"{page}/express-checkout", data=form, headers=FETCH)


def page_options(shopper, product_id: str) -> dict:
    page = text(shopper.web.get(f"/products/{product_id}"))
    block = re.search(r'<script type="application/json" id="amazon-pay-express-options">(.*?)</script>', page, re.S)
    return json.loads(block[1])


def amazon_review(shopper, options: dict) -> str:
    """At Amazon with the fetched options: sign in, choose; the shop's review path."""
    answer = shopper.send_signed(
        "button-checkout", options["createCheckoutSessionConfig"], productType=options["productType"]
    )
    assert answer.status_code == 201, answer.text
    url = urlsplit(answer.json()["redirectUrl"])
    return f"{url.path}?{url.query}"


# -- the pages -----------------------------------------------------------------------------------------


def test_catalog_cards_lead_to_product_pages(shopper):
    catalog = text(shopper.web.get("/"))
    assert 'href="/products/trail-mug"' in catalog
    assert '<img src="/static/img/trail-mug.svg" width="480" height="360"' in catalog
    page = shopper.web.get("/products/trail-mug")
    body = text(page)
    assert page.status_code == 200
    assert "<h1>Enamel trail mug</h1>" in body and "$18.00" in body and "Goes on the stove" in body
    assert 'name="quantity"' in body and "Add to cart" in body and 'id="AmazonPayButton"' in body
    with shopper.web.get("/static/img/trail-mug.svg") as picture:
        assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"


def test_a_product_that_does_not_exist_is_a_404_page_with_a_way_back(shopper):
    answer = shopper.web.get("/products/no-such-thing")
    assert answer.status_code == 404 and "We do not sell that" in text(answer) and 'href="/"' in text(answer)


def test_the_product_button_is_decoupled_with_placement_product(shopper):
    options = page_options(shopper, "canvas-tote")
    assert options["placement"] == "Product" and options["productType"] == "PayAndShip"
    assert "createCheckoutSessionConfig" not in options  # signed after the click, for the cart as it is then
    assert options["estimatedOrderAmount"] == {"amount": "24.00", "currencyCode": "USD"}
    shopper.add("trail-mug", 2)
    assert page_options(shopper, "canvas-tote")["estimatedOrderAmount"]["amount"] == "60.00"  # the cart plus one


def test_the_page_has_a_skip_link_and_landmarks(shopper):
    page = text(shopper.web.get("/products/canvas-tote"))
    assert '<a class="skip" href="#main">Skip to content</a>' in page
    assert '<nav aria-label="Main">' in page and '<main id="main"' in page and "<footer" in page


# -- express checkout ------------------------------------------------------------------------------------


def test_express_checkout_adds_to_the_cart_and_pays_for_it(shopper, sim):
    shopper.add("field-notebook")
    answer = express(shopper, "canvas-tote", "2")
    assert answer.status_code == 200 and answer.is_json
    options = answer.get_json()
    assert options["placement"] == "Product" and options["productType"] == "PayAndShip"
    assert options["estimatedOrderAmount"] == {"amount": "60.50", "currencyCode": "USD"}
    payload = json.loads(options["createCheckoutSessionConfig"]["payloadJSON"])
    assert payload["webCheckoutDetails"]["checkoutReviewReturnUrl"] == "http://localhost/checkout/review"
    review = amazon_review(shopper, options)  # the simulator verified the signature
    page = text(shopper.web.get(review))
    assert "Canvas tote" in page and "Field notebook" in page and "Cart (3)" in page
    placed = shopper.place_order(review)
    assert placed.status_code == 303
    assert "Thank you for your order" in text(shopper.web.get(shopper.pay_at_amazon(placed.headers["Location"])))
    assert sim.counts()["counts"]["charges"] == 1


def test_express_checkout_of_a_download_is_pay_only(shopper):
    assert page_options(shopper, "trail-guide-ebook")["productType"] == "PayOnly"
    options = express(shopper, "trail-guide-ebook").get_json()
    assert options["productType"] == "PayOnly"
    assert "deliverySpecifications" not in json.loads(options["createCheckoutSessionConfig"]["payloadJSON"])
    review = amazon_review(shopper, options)
    assert "Trail guide (e-book)" in text(shopper.web.get(review))
    placed = shopper.place_order(review)
    assert "Thank you for your order" in text(shopper.web.get(shopper.pay_at_amazon(placed.headers["Location"])))


def test_a_download_added_to_goods_that_ship_is_shipped_with_them(shopper):
    shopper.add("trail-mug")
    assert page_options(shopper, "trail-guide-ebook")["productType"] == "PayAndShip"
    assert express(shopper, "trail-guide-ebook").get_json()["productType"] == "PayAndShip"


def test_express_checkout_refuses_a_quantity_with_a_message_for_the_field(shopper):
    shopper.add("canvas-tote", 20)
    answer = express(shopper, "canvas-tote", "1")
    assert answer.status_code == 200  # an answer for the page, not an error in the browser's console
    assert answer.get_json() == {"refused": "You already have 20 of these in your cart, the most we sell at once."}
    assert express(shopper, "canvas-tote", "two").get_json()["refused"] == "Enter a whole number from 1 to 20."
    assert "Cart (20)" in text(shopper.web.get("/cart"))


def test_express_checkout_without_the_csrf_token_changes_nothing(shopper):
    answer = shopper.web.post("/products/canvas-tote/express-checkout", data={"quantity": "1"}, headers=FETCH)
    assert answer.status_code == 400 and "Cart (0)" in text(shopper.web.get("/"))


def test_express_checkout_of_an_unknown_product_is_404(shopper):
    form = {"csrf_token": shopper.csrf(), "quantity": "1"}
    assert shopper.web.post("/products/no-such-thing/express-checkout", data=form, headers=FETCH).status_code == 404


# -- quantities the shop cannot take: back to the page, the message by the field --------------------


def test_too_many_from_the_product_page_comes_back_to_it_with_the_message(shopper):
    shopper.add("canvas-tote", 20)
    form = {"csrf_token": shopper.csrf(), "product_id": "canvas-tote", "quantity": "1", "add": "1", "back": "product"}
    answer = shopper.web.post("/cart/items", data=form)
    assert answer.status_code == 303 and answer.headers["Location"] == "/products/canvas-tote"
    page = text(shopper.web.get("/products/canvas-tote"))
    field = re.search(r'<input id="quantity"[^>]*>', page)[0]
    assert 'aria-invalid="true"' in field and 'aria-describedby="quantity-problem"' in field
    assert re.search(r'id="quantity-problem"[^>]*>You already have 20 of these in your cart', page)
    assert "You already have" not in text(shopper.web.get("/products/canvas-tote"))  # said once


def test_some_more_says_how_many_can_still_be_added(shopper):
    shopper.add("trail-mug", 18)
    form = {"csrf_token": shopper.csrf(), "product_id": "trail-mug", "quantity": "5", "add": "1", "back": "product"}
    shopper.web.post("/cart/items", data=form)
    page = text(shopper.web.get("/products/trail-mug"))
    assert "You already have 18 of these in your cart: add 1 to 2 more." in page and "Cart (18)" in page


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("25", "Choose a quantity from 0 to 20 (0 removes it)."),
        ("-3", "Choose a quantity from 0 to 20 (0 removes it)."),
        ("1e9", "Enter a whole number from 0 to 20."),
    ],
)
def test_a_cart_quantity_refused_is_explained_by_its_line(shopper, quantity, message):
    shopper.add("canvas-tote", 2)
    shopper.add("trail-mug")
    form = {"csrf_token": shopper.csrf(), "product_id": "canvas-tote", "quantity": quantity}
    answer = shopper.web.post("/cart/items", data=form)
    assert answer.status_code == 303 and answer.headers["Location"] == "/cart"
    page = text(shopper.web.get("/cart"))
    line = re.search(r'<tr data-testid="line-canvas-tote">.*?</tr>', page, re.S)[0]
    assert message in line and 'aria-invalid="true"' in line
    assert message not in re.search(r'<tr data-testid="line-trail-mug">.*?</tr>', page, re.S)[0]
    assert "Cart (3)" in page  # nothing changed


def test_an_unknown_product_is_said_on_the_cart_page(shopper):
    form = {"csrf_token": shopper.csrf(), "product_id": "no-such-thing", "quantity": "1", "add": "1"}
    answer = shopper.web.post("/cart/items", data=form, follow_redirects=True)
    assert answer.request.path == "/cart" and "Sorry, we do not sell that product." in text(answer)


def test_remove_takes_the_line_out(shopper):
    shopper.add("canvas-tote", 2)
    shopper.add("trail-mug")
    page = text(shopper.web.get("/cart"))
    assert 'aria-label="Remove Canvas tote"' in page and "Continue shopping" in page
    form = {"csrf_token": shopper.csrf(), "product_id": "canvas-tote", "quantity": "2", "remove": "1"}
    assert shopper.web.post("/cart/items", data=form).status_code == 303
    page = text(shopper.web.get("/cart"))
    assert 'data-testid="line-canvas-tote"' not in page and "Cart (1)" in page


def test_the_images_are_ours_and_sized(shopper):
    for product in ("trail-mug", "field-notebook", "canvas-tote", "trail-guide-ebook"):
        with shopper.web.get(f"/static/img/{product}.svg") as picture:
            svg = text(picture)
        assert 'viewBox="0 0 480 360"' in svg and "<script" not in svg and "href" not in svg
        assert len(svg) < 2000  # small enough for every catalog view
