"""Crash safety: the shop process dies at the worst moment, and a restart puts things right.

The worst moment is between Complete Checkout Session (applied at Amazon: the buyer is
charged) and the order write (still ``awaiting_payment``). A new shop app on the same
database serves the same result URL: it completes again with the same idempotency key
(Amazon replays its answer), or, if Amazon no longer has the key, reconciles from Get
Checkout Session; either way the order ends in its right state with one charge.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

import shop
from shop.lifecycle import db, orders
from tests.support import text

pytestmark = pytest.mark.both_databases


class ProcessDied(BaseException):
    """Not an Exception: Flask's error handlers do not catch it, as they could not catch a kill -9."""


def restarted(app, browser, client, tmp_path, shop_config, make_shop_buyer):
    """A new shop app on the same database, and the same browser (its session cookie) on it."""
    assert app.config["DATABASE"] == shop_config(client, tmp_path)["DATABASE"]
    again = make_shop_buyer(shop.create_app(shop_config(client, tmp_path)))
    again.web.set_cookie("session", browser.web.get_cookie("session").value)
    return again


def order_rows(app) -> list[dict]:
    """The orders as the database has them (SQLite or PostgreSQL), read beside the shop."""
    query = sa.select(orders.orders_table.c.reference, orders.orders_table.c.status, orders.orders_table.c.charge_id)
    with app.app_context(), db.read() as connection:
        return [row._asdict() for row in connection.execute(query)]


EXPECTED = {"1111": ("paid", "Thank you for your order", 1), "0701": ("pending", "We have your order", 1)}
EXPECTED["3434"] = ("failed", "Your payment was not successful", 0)


@pytest.mark.parametrize("amazon_remembers_the_key", [True, False], ids=["replayed", "reconciled"])
@pytest.mark.parametrize("instrument", list(EXPECTED))
def test_restart_after_dying_between_complete_and_the_order_write(
    sim, client, shop_app, tmp_path, monkeypatch, instrument, amazon_remembers_the_key, shop_config, make_shop_buyer
):
    browser = make_shop_buyer()
    browser.add()
    review = browser.click_amazon_pay(instrument=instrument)
    placed = browser.place_order(review)
    result_path = browser.pay_at_amazon(placed.headers["Location"])

    real_record = orders.record
    monkeypatch.setattr(orders, "record", lambda *args, **kwargs: (_ for _ in ()).throw(ProcessDied()))
    with pytest.raises(ProcessDied):
        browser.web.get(result_path)
    monkeypatch.setattr(orders, "record", real_record)
    [row] = order_rows(shop_app)
    assert row["status"] == "awaiting_payment"  # Amazon did it; the shop never wrote it down
    charges = sim.counts()["counts"].get("charges", 0)
    assert charges == EXPECTED[instrument][2]
    if not amazon_remembers_the_key:
        sim.app.extensions["amazon_pay_simulator"].idempotency.clear()

    again = restarted(shop_app, browser, client, tmp_path, shop_config, make_shop_buyer)
    result = again.web.get(result_path)

    status, headline, charges = EXPECTED[instrument]
    assert result.status_code == 200 and headline in text(result), text(result)
    [row] = order_rows(shop_app)
    assert row["status"] == status
    counts = sim.counts()
    assert counts["counts"].get("charges", 0) == charges
    assert counts["chargesPerMerchantReference"].get(row["reference"], 0) == charges
    if charges:
        assert row["charge_id"] in sim.app.extensions["amazon_pay_simulator"].charges
    # Which way the restart found out: the replayed Complete, or Get Checkout Session + Get Charge.
    requests_seen = sim.app.extensions["amazon_pay_simulator"].faults.to_json()["requests"]
    assert requests_seen.get("GetCharge", 0) == (1 if charges and not amazon_remembers_the_key else 0)
    reload = again.web.get(result_path)  # and a reload changes nothing
    assert headline in text(reload) and sim.counts()["counts"].get("charges", 0) == charges


def test_two_tabs_place_the_same_order_at_once(sim, shop_app, make_shop_buyer):
    first = make_shop_buyer()
    first.add()
    review = first.click_amazon_pay()
    page = text(first.web.get(review))
    session_id = review.split("amazonCheckoutSessionId=")[1]
    form = {
        "csrf_token": first.csrf(),
        "amazonCheckoutSessionId": session_id,
        "reviewed": page.split('name="reviewed" value="')[1].split('"')[0],
    }
    second = make_shop_buyer()  # the same browser: a second tab shares the cookies
    second.web.set_cookie("session", first.web.get_cookie("session").value)
    answers: dict[str, object] = {}
    ready = threading.Barrier(2)

    def click(name: str, tab) -> None:
        ready.wait()
        answers[name] = tab.web.post("/checkout/place-order", data=form)

    threads = [threading.Thread(target=click, args=(name, tab)) for name, tab in (("a", first), ("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert [answers[name].status_code for name in "ab"] == [303, 303], [text(a) for a in answers.values()]
    assert answers["a"].headers["Location"] == answers["b"].headers["Location"]
    [row] = order_rows(shop_app)  # one order
    result_path = first.pay_at_amazon(answers["a"].headers["Location"])
    assert "Thank you for your order" in text(first.web.get(result_path))
    assert "Thank you for your order" in text(second.web.get(result_path))  # the other tab, reloaded
    counts = sim.counts()
    assert counts["counts"] == {"checkoutSessions": 1, "chargePermissions": 1, "charges": 1}
    assert counts["chargesPerMerchantReference"] == {row["reference"]: 1}
    # One Update Checkout Session: the second tab reused the first one's redirect.
    updates = sim.app.extensions["amazon_pay_simulator"].faults.to_json()["requests"]["UpdateCheckoutSession"]
    assert updates == 1
