"""Errors a buyer can act on: the shop's own 404, 405 and 500 pages (its layout, a plain
message, a way back), and Post/Redirect/Get for every problem a form meets: the address bar
then holds a page that can be reloaded, never a form's URL (where Enter gives a 405)."""

from __future__ import annotations

import logging

import pytest

import shop
from tests.support import shown_after_post, text


@pytest.fixture
def buyer_browser(make_shop_buyer):
    return make_shop_buyer()


def test_a_page_that_does_not_exist_is_the_shops_404(shop_app):
    answer = shop_app.test_client().get("/no/such/page")
    page = text(answer)
    assert answer.status_code == 404 and "Page not found" in page
    assert "Trailhead Supply" in page and 'href="/cart"' in page and 'href="/"' in page  # the layout, a way back
    assert "Werkzeug" not in page and "The requested URL was not found" not in page


@pytest.mark.parametrize("path", ["/checkout/place-order", "/account/wallet/pay", "/cart/items"])
def test_enter_on_a_forms_address_explains_and_leads_to_the_cart(shop_app, path):
    answer = shop_app.test_client().get(path)
    page = text(answer)
    assert answer.status_code == 405 and "POST" in answer.headers["Allow"]
    assert "This page cannot be opened directly" in page and "Your cart is kept" in page
    assert 'href="/cart"' in page and "Back to your cart" in page and "Method Not Allowed" not in page


def test_a_bug_gets_the_shops_500_page_and_is_logged_once(client, tmp_path, shop_config, caplog):
    app = shop.create_app(shop_config(client, tmp_path, PROPAGATE_EXCEPTIONS=False))
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    answer = app.test_client().get("/boom")
    page = text(answer)
    assert answer.status_code == 500 and "Something went wrong" in page and "Trailhead Supply" in page
    assert 'href="/cart"' in page and "ZeroDivisionError" not in page and "Traceback" not in page
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR


def test_the_500_page_renders_when_the_layout_itself_fails(client, tmp_path, shop_config, monkeypatch):
    app = shop.create_app(shop_config(client, tmp_path, PROPAGATE_EXCEPTIONS=False))

    def database_down(*_args, **_kwargs):
        raise ConnectionError("the database is down")

    app.add_url_rule("/boom", "boom", database_down)
    monkeypatch.setattr(shop.cart, "count", database_down)  # every page's header needs it
    answer = app.test_client().get("/boom")
    page = text(answer)
    assert answer.status_code == 500 and "<h1" in page and "Something went wrong" in page
    assert "Trailhead Supply" in page and 'href="/cart"' in page and 'href="/static/style.css"' in page
    assert "{{" not in page and "database is down" not in page
    assert answer.headers["Content-Security-Policy"]  # the security headers still apply


def test_a_forms_problem_is_shown_by_a_get_page_that_reloads_and_then_is_forgotten(buyer_browser):
    browser = buyer_browser.web
    sent = browser.post("/checkout/place-order", data={"csrf_token": buyer_browser.csrf()})
    assert sent.status_code == 303 and sent.headers["Location"] == "/problem"
    shown = shown_after_post(browser, sent)
    assert shown.status_code == 400 and "This order form is incomplete" in text(shown)
    again = browser.get("/problem")  # a reload, or Enter in the address bar
    assert again.status_code == 400 and "This order form is incomplete" in text(again)
    browser.get("/cart")  # another page: the problem is done with
    assert browser.get("/problem").status_code == 303


def test_a_fetch_that_wants_json_gets_json(buyer_browser):
    answer = buyer_browser.web.post(
        "/checkout/place-order",
        data={"csrf_token": buyer_browser.csrf()},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 400 and answer.json == {
        "error": "This order form is incomplete",
        "message": "The Amazon Pay checkout id is missing or malformed.",
    }
    assert buyer_browser.web.get("/checkout/place-order", headers={"Accept": "application/json"}).status_code == 405


#: POST endpoints a page's script calls with fetch and reads as JSON, never a form a browser submits.
FETCH_ONLY = {"storefront.express_checkout"}


def _post_routes(app):
    """Every form the shop answers (the IPN endpoint is Amazon's, not a browser's)."""
    values = {"reference": "ORD-00000000", "action": "capture"}
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.endpoint.startswith("ipn.") and rule.endpoint not in FETCH_ONLY:
            yield rule.endpoint, rule.build(values, append_unknown=False)[1]


def test_every_form_answers_a_redirect_to_a_get_page_even_when_it_fails(shop_app, make_wallet_buyer):
    buyer = make_wallet_buyer()
    token = buyer.csrf()
    routes = dict(_post_routes(shop_app))
    assert {"checkout.place_order", "wallet.pay_with_wallet", "admin.act", "storefront.buy_again"} <= set(routes)
    for endpoint, path in routes.items():
        for form in ({}, {"csrf_token": token}, {"csrf_token": token, "payment_request": "f" * 32, "amount": "x"}):
            answer = buyer.web.post(path, data=form)
            assert answer.status_code in (302, 303), (endpoint, form, answer.status_code)
            landed = buyer.web.get(answer.headers["Location"])
            assert landed.status_code != 405 and "<h1" in text(landed), (endpoint, form)
