"""The back office closes an order: Close Charge Permission with ``cancelPendingCharges``
(https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html#close-charge-permission).
An authorized order closed before it shipped is canceled for the buyer (page and e-mail); after
part of a split shipment, what was captured stays and nothing more can be charged. A double
submit closes once, a lost answer is learned on the next try, and a Charge Permission Amazon
closed already is refused plainly."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import requests

from shop.lifecycle import backoffice, db, jobs, notifications, orders
from tests.shop.test_admin import act, authorized, charge_state, paid_order
from tests.shop.test_backoffice_charges import CSRF, charges_at_amazon, permission_of
from tests.support import text


def outbox_moments(app, reference: str) -> list[str]:
    table = notifications.outbox_table
    with app.app_context(), db.read() as connection:
        order_id = orders.by_reference(reference).id
        return list(
            connection.execute(
                table.select()
                .with_only_columns(table.c.moment)
                .where(table.c.order_id == order_id)
                .order_by(table.c.id)
            )
            .scalars()
            .all()
        )


def test_closing_an_authorized_order_cancels_it_for_the_buyer(shop_app, admin_of, make_shop_buyer):
    buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    assert 'data-testid="close-order"' in text(admin.get(f"/admin/orders/{reference}"))
    page = act(admin, reference, "close", reason="Out of stock")
    assert "Close order: sent to Amazon Pay" in page
    assert "Order closed at Amazon Pay: nothing was captured; what was authorized is canceled" in page
    assert "reason: Out of stock" in page
    assert 'data-testid="close-order"' not in page and 'data-testid="capture"' not in page
    permission = permission_of(shop_app, reference)["statusDetails"]
    assert (permission["state"], permission["reasons"][0]["reasonCode"]) == ("Closed", "MerchantClosed")
    assert charge_state(shop_app, reference)["statusDetails"]["state"] == "Canceled"
    assert "Canceled: the payment was released, nothing was charged" in text(buyer.web.get(f"/orders/{reference}"))
    assert outbox_moments(shop_app, reference) == ["paid", "canceled"]


def test_a_close_form_submitted_twice_closes_once(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    form = {"csrf_token": CSRF.search(text(admin.get(f"/admin/orders/{reference}")))[1], "reason": "Out of stock"}
    for _ in range(2):
        assert admin.post(f"/admin/orders/{reference}/close", data=form).status_code == 303
    page = text(admin.get(f"/admin/orders/{reference}"))
    assert "Close order not done" not in page
    assert page.count("Order closed at Amazon Pay") == 1
    assert outbox_moments(shop_app, reference) == ["paid", "canceled"]


def test_closing_after_part_of_a_split_shipment_keeps_what_was_captured(shop_app, admin_of, make_shop_buyer):
    buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    act(admin, reference, "capture", amount="20.00")
    page = act(admin, reference, "close", reason="The rest is not coming")
    assert "nothing more can be charged; 20.00 USD captured stays (refund it if needed)" in page
    assert 'data-testid="charge-further"' not in page  # the Charge Permission is Closed
    assert permission_of(shop_app, reference)["statusDetails"]["state"] == "Closed"
    assert charge_state(shop_app, reference)["captureAmount"]["amount"] == "20.00"
    with shop_app.app_context():
        with pytest.raises(backoffice.Refused) as refused:
            backoffice.charge_further(orders.by_reference(reference), Decimal("1.00"), 2)
    message = str(refused.value)
    assert "Amazon Pay can charge a Chargeable Charge Permission only; this one is Closed (MerchantClosed)" in message
    order_page = text(buyer.web.get(f"/orders/{reference}"))
    assert "Shipped: your payment was taken" in order_page and "Canceled" not in order_page
    assert outbox_moments(shop_app, reference) == ["paid", "shipped"]  # no "nothing was charged"


def test_closing_an_order_amazon_closed_already_is_refused_plainly(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    page = act(admin, reference, "capture", amount=str(authorized(shop_app, reference)))
    assert 'data-testid="close-order"' not in page  # all captured: Amazon closed it
    page = act(admin, reference, "close")  # the merchant's older page, still showing the form
    assert (
        "Close order not done: Amazon Pay has closed the Charge Permission of this order already (AmazonClosed): "
        "there is nothing left to close." in page
    )
    assert "Order closed at Amazon Pay" not in page


def test_a_reason_longer_than_amazon_takes_is_refused(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    page = act(admin_of(shop_app), reference, "close", reason="x" * 256)
    assert "Close order not done: Amazon Pay takes a reason of at most 255 characters." in page
    assert permission_of(shop_app, reference)["statusDetails"]["state"] == "Chargeable"


def test_a_lost_answer_to_close_is_learned_on_the_next_try(shop_app, admin_of, make_shop_buyer, sim):
    buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    rules = {"rules": [{"operation": "CloseChargePermission", "kind": "lost", "times": 10}]}
    requests.post(f"{sim.url}/control/faults", json=rules, timeout=5).raise_for_status()
    page = act(admin, reference, "close")
    assert "Close order not done: Amazon Pay did not answer" in page
    assert "Canceled" not in text(buyer.web.get(f"/orders/{reference}"))  # not before Amazon said so
    requests.delete(f"{sim.url}/control/faults", timeout=5).raise_for_status()
    assert "Ask Amazon Pay again about closing the order" in text(admin.get(f"/admin/orders/{reference}"))
    page = act(admin, reference, "close")  # Amazon closed it already: the shop notes it now
    assert "Close order not done" not in page
    assert "Order closed at Amazon Pay: nothing was captured" in page
    assert "Canceled: the payment was released" in text(buyer.web.get(f"/orders/{reference}"))


def test_closing_a_pending_order_cancels_it_without_a_payment_failed_message(shop_app, admin_of, make_shop_buyer, sim):
    """Instrument 0701: Amazon is still deciding; closing cancels the pending authorization."""
    buyer = make_shop_buyer()
    buyer.add("canvas-tote", 3)
    reference = re.search(r"ORD-[0-9A-F]{8}", text(buyer.checkout(instrument="0701")))[0]
    act(admin_of(shop_app), reference, "close")
    assert [c["statusDetails"]["state"] for c in charges_at_amazon(shop_app, reference)] == ["Canceled"]
    sim.advance(31)
    with shop_app.app_context():
        jobs.one_pass()
        assert orders.by_reference(reference).status == "failed"  # Amazon: the charge is canceled
    assert outbox_moments(shop_app, reference) == ["pending", "canceled"]
    assert "nothing was charged" in text(buyer.web.get(f"/orders/{reference}"))
