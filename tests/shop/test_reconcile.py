"""Amazon's truth, always: orders the buyer left open are settled by the reconcile pass, by the
order page and by the cancel URL, through one code path; a charged buyer is never told that
nothing was charged; one charge per order, however often the news arrives."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import requests

import shop
from shop.lifecycle import orders, reconcile
from shop.money import Totals
from tests.support import PUBLIC_KEY_ID, text

pytestmark = pytest.mark.both_databases

NOT_CHARGED = "nothing was charged"


def set_faults(sim, rules) -> None:
    answer = requests.post(f"{sim.url}/control/faults", json={"seed": 3, "rules": rules}, timeout=5)
    assert answer.status_code == 200, answer.text


def api_requests(sim) -> dict:
    return requests.get(f"{sim.url}/control/faults", timeout=5).json()["requests"]


def reconcile_once(app) -> reconcile.Pass:
    with app.app_context():
        return reconcile.reconcile_pass()


def order_of(app, reference: str) -> orders.Order:
    with app.app_context():
        return orders.by_reference(reference)


def at_amazon(buyer, instrument: str = "1111") -> tuple[str, str]:
    """The buyer pays at Amazon and never comes back to the result URL: (reference, result path)."""
    buyer.add()
    review = buyer.click_amazon_pay(instrument=instrument)
    placed = buyer.place_order(review)
    assert placed.status_code == 303, text(placed)
    result_path = buyer.pay_at_amazon(placed.headers["Location"])
    [reference] = [order.reference for order in _orders_of(buyer)]
    return reference, result_path


def _orders_of(buyer) -> list[orders.Order]:
    with buyer.app.app_context():
        return [orders.by_checkout_session(sid) for sid in buyer.checkout_ids if orders.by_checkout_session(sid)]


@pytest.fixture
def buyer(make_shop_buyer, shop_app):
    browser = make_shop_buyer()
    browser.app, browser.checkout_ids = shop_app, []
    click = browser.click_amazon_pay

    def remembering_click(**choice):
        review = click(**choice)
        browser.checkout_ids.append(review.split("amazonCheckoutSessionId=")[1])
        return review

    browser.click_amazon_pay = remembering_click
    return browser


def test_a_buyer_who_paid_at_amazon_and_closed_the_tab_is_settled_by_the_pass(shop_app, buyer, sim):
    reference, _ = at_amazon(buyer)
    assert order_of(shop_app, reference).status == "awaiting_payment"
    outcome = reconcile_once(shop_app)
    assert outcome.seen == 1 and outcome.settled == {"paid": 1}
    assert order_of(shop_app, reference).status == "paid"
    assert sim.counts()["chargesPerMerchantReference"] == {reference: 1}
    before = api_requests(sim)
    assert reconcile_once(shop_app).seen == 0  # final orders are not asked about again
    assert api_requests(sim) == before


@pytest.mark.parametrize(("instrument", "final"), [("0701", "paid"), ("4354", "failed")])
def test_a_pending_payment_is_settled_once_amazon_decides(shop_app, buyer, sim, instrument, final):
    reference, result_path = at_amazon(buyer, instrument)
    assert "We have your order" in text(buyer.web.get(result_path))
    assert reconcile_once(shop_app).settled == {"unchanged": 1}  # Amazon is still deciding
    sim.advance(31)
    assert reconcile_once(shop_app).settled == {final: 1}
    page = text(buyer.web.get(f"/orders/{reference}"))
    if final == "paid":
        assert 'data-testid="order-status">Paid<' in page and NOT_CHARGED not in page.lower()
    else:
        assert "Amazon Pay could not confirm your payment; nothing was charged." in page
        again = buyer.web.post(f"/orders/{reference}/buy-again", data={"csrf_token": buyer.csrf()})
        assert again.status_code == 303 and "Cart (1)" in text(buyer.web.get("/cart"))
    assert "email" not in page.lower()  # no promise of an e-mail the shop does not send


def test_the_order_page_settles_a_pending_order_on_view(shop_app, buyer, sim):
    reference, result_path = at_amazon(buyer, "0701")
    buyer.web.get(result_path)
    sim.advance(31)
    assert 'data-testid="order-status">Paid<' in text(buyer.web.get(f"/orders/{reference}"))


def test_a_lost_complete_is_being_confirmed_then_settled_never_not_charged(shop_app, buyer, sim):
    reference, result_path = at_amazon(buyer)
    set_faults(sim, [{"operation": "CompleteCheckoutSession", "kind": "lost", "times": 4}])  # every retry too
    page = text(buyer.web.get(result_path))
    assert "We are confirming your payment" in page and NOT_CHARGED not in page.lower()
    assert order_of(shop_app, reference).status == "unconfirmed"
    assert sim.counts()["chargesPerMerchantReference"] == {reference: 1}  # Amazon did charge
    order_page = text(buyer.web.get(f"/orders/{reference}"))  # settles on view: Amazon answers now
    assert 'data-testid="order-status">Paid<' in order_page
    assert sim.counts()["chargesPerMerchantReference"] == {reference: 1}


def test_an_unconfirmed_order_is_settled_by_the_pass(shop_app, buyer, sim):
    reference, result_path = at_amazon(buyer)
    set_faults(sim, [{"operation": "CompleteCheckoutSession", "kind": "5xx", "times": 4}])
    assert "We are confirming your payment" in text(buyer.web.get(result_path))
    assert reconcile_once(shop_app).settled == {"paid": 1}
    assert sim.counts()["chargesPerMerchantReference"] == {reference: 1}


def test_a_new_checkout_of_a_cart_still_being_confirmed_shows_that_order_first(shop_app, buyer, sim):
    reference, result_path = at_amazon(buyer)
    set_faults(sim, [{"operation": "CompleteCheckoutSession", "kind": "5xx", "times": 4}])
    buyer.web.get(result_path)  # unconfirmed; the cart is kept out of the way
    buyer.add()  # the same cart again
    review = buyer.click_amazon_pay()
    answer = buyer.web.get(review)
    assert answer.status_code == 409 and f"Your order {reference} is still being confirmed" in text(answer)


@pytest.mark.parametrize("how", ["canceled", "expired"])
def test_checkouts_canceled_or_expired_at_amazon_fail(shop_app, buyer, sim, how):
    buyer.add()
    review = buyer.click_amazon_pay(instrument="3064" if how == "canceled" else "1111")
    placed = buyer.place_order(review)
    if how == "canceled":
        buyer.pay_at_amazon(placed.headers["Location"])
    else:
        sim.advance(25 * 3600)  # Amazon cancels a session left open for 24 hours
    assert reconcile_once(shop_app).settled == {"failed": 1}
    assert sim.counts()["counts"].get("charges", 0) == 0


def test_an_order_amazon_does_not_know_fails_once_and_is_not_asked_again(shop_app, sim):
    with shop_app.app_context():
        made = orders.create(
            "checkout:00000000-0000-4000-8000-000000000000",
            "someone",
            [],
            Totals.of(Decimal(0), Decimal(0), Decimal(0), "USD"),
            None,
            checkout_session_id="00000000-0000-4000-8000-000000000000",
        )
    assert reconcile_once(shop_app).settled == {"failed": 1}
    failed = order_of(shop_app, made.reference)
    assert failed.failure_reason == "UnknownToAmazon"
    assert reconcile_once(shop_app).seen == 0  # no loop on a 404


def test_the_cancel_url_after_paying_shows_the_order(shop_app, buyer, sim):
    reference, result_path = at_amazon(buyer)
    buyer.web.get(result_path)
    back = buyer.web.get("/checkout/cancel")
    assert back.status_code == 302 and back.headers["Location"].endswith(f"/orders/{reference}")
    page = text(buyer.web.get(back.headers["Location"]))
    assert f"You already paid for order {reference}." in page and NOT_CHARGED not in page.lower()


def test_the_cancel_url_while_amazon_does_not_answer_never_says_nothing_was_charged(shop_app, buyer, sim):
    """The buyer paid at Amazon, then came back by the cancel URL while Amazon Pay was down: the
    shop cannot know, and the reconcile pass will complete what was paid."""
    reference, _result_path = at_amazon(buyer)
    set_faults(sim, [{"operation": "GetCheckoutSession", "kind": "5xx", "times": 8}])
    back = buyer.web.get("/checkout/cancel")
    assert back.headers["Location"].endswith("/cart")
    page = text(buyer.web.get("/cart"))
    assert NOT_CHARGED not in page.lower() and "you will not be charged twice" in page
    set_faults(sim, [])
    with shop_app.app_context():
        assert orders.by_reference(reference).status == "awaiting_payment"  # the next pass settles it


def test_the_cancel_url_of_a_buyer_who_never_paid_says_so(shop_app, buyer):
    buyer.add()
    buyer.click_amazon_pay()
    back = buyer.web.get("/checkout/cancel")
    assert back.headers["Location"].endswith("/cart")
    assert "You left Amazon Pay before paying" in text(buyer.web.get("/cart"))


def test_passes_at_once_on_two_app_servers_settle_each_order_once(client, tmp_path, shop_config, make_shop_buyer, sim):
    first = shop.create_app(shop_config(client, tmp_path))
    second = shop.create_app(shop_config(client, tmp_path))  # another machine, the same database
    references = []
    for _ in range(6):
        browser = make_shop_buyer(first)
        browser.add()
        review = browser.click_amazon_pay()
        browser.pay_at_amazon(browser.place_order(review).headers["Location"])
    with first.app_context():
        references = [o.reference for o in (orders.by_payment_request(p) for p in _payment_requests(first)) if o]
    before = api_requests(sim).get("CompleteCheckoutSession", 0)
    outcomes: list = []
    threads = [threading.Thread(target=lambda app=app: outcomes.append(reconcile_once(app))) for app in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(outcome.seen for outcome in outcomes) == 6  # each order taken by one pass
    assert api_requests(sim).get("CompleteCheckoutSession", 0) - before == 6
    assert sorted(sim.counts()["chargesPerMerchantReference"]) == sorted(references)
    assert set(sim.counts()["chargesPerMerchantReference"].values()) == {1}


def _payment_requests(app) -> list[str]:
    import sqlalchemy as sa

    from shop.lifecycle import db

    with db.read() as connection:
        return list(connection.execute(sa.select(orders.orders_table.c.payment_request)).scalars())


def test_a_lost_wallet_charge_is_sent_again_with_the_same_key_one_charge(make_wallet_buyer, sim, shop_app):
    wallet = make_wallet_buyer()
    wallet.sign_in()
    wallet.save_wallet_at_checkout()
    wallet.add("trail-mug")
    page = wallet.account()
    set_faults(sim, [{"operation": "CreateCharge", "kind": "lost", "times": 4}])
    first = text(wallet.pay_with_wallet())
    assert "We are confirming your payment" in first and NOT_CHARGED not in first.lower()
    assert 'name="payment_request"' in page
    again = text(wallet.pay_with_wallet(_key(page)))  # the buyer pays again from the same page
    assert "Thank you for your order" in again
    charges = sim.counts()["chargesPerMerchantReference"]
    assert sorted(charges.values()) == [1, 1]  # the checkout that saved the wallet, and this one


def _key(page: str) -> str:
    import re

    return re.search(r'name="payment_request" value="([0-9a-f]{32})"', page)[1]


def test_two_tabs_pay_with_the_wallet_at_once_twenty_times_one_charge_each(make_wallet_buyer, sim):
    wallet = make_wallet_buyer()
    wallet.sign_in()
    wallet.save_wallet_at_checkout()
    for _ in range(20):
        wallet.add("trail-mug")
        key = _key(wallet.account())
        answers: list = []
        tabs = [threading.Thread(target=lambda k=key, a=answers: a.append(wallet.pay_with_wallet(k))) for _ in "ab"]
        for tab in tabs:
            tab.start()
        for tab in tabs:
            tab.join(30)
        assert [answer.status_code for answer in answers] == [200, 200]
    charges = sim.counts()["chargesPerMerchantReference"]
    assert len(charges) == 21 and set(charges.values()) == {1}  # 20 purchases and the first checkout


assert PUBLIC_KEY_ID  # the test simulator trusts this key (tests.support)


def test_an_address_changed_at_amazon_after_place_order_to_one_refused_is_not_shipped(shop_app, buyer, sim):
    buyer.add()
    review = buyer.click_amazon_pay()
    placed = buyer.place_order(review)
    session_id = review.split("amazonCheckoutSessionId=")[1]
    changed = requests.post(  # another tab, at Amazon: the buyer picks Alaska after Place Order
        f"{sim.url}/control/checkout-sessions/{session_id}/buyer", json={"address": "us-alaska"}, timeout=5
    )
    assert changed.status_code == 200, changed.text
    page = text(buyer.web.get(buyer.pay_at_amazon(placed.headers["Location"])))
    assert "Your payment was not successful" in page
    assert "We cannot ship to the address chosen at Amazon Pay, so we canceled the payment." in page
    charges = requests.get(f"{sim.url}/control/counts", timeout=5).json()
    [charge_id] = list(sim.app.extensions["amazon_pay_simulator"].charges)
    with shop_app.app_context():
        state = reconcile.client().get_charge(charge_id).body["statusDetails"]["state"]
    assert state == "Canceled" and charges["counts"]["charges"] == 1  # authorized, then canceled: no money taken
