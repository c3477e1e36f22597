"""The back office's split shipment and declined refund: capture part of the authorization, ship
the rest with a further charge on the same Charge Permission (within what Amazon leaves on it),
refund the charge of one's choice, and a refund Amazon declines said plainly to the merchant and
to the buyer. Amazon's rules: https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#create-charge,
https://developer.amazon.com/docs/amazon-pay-checkout/deferred-transactions.html (up to 25
charges, no more than the amountLimit), https://pay.amazon.com/help/201212360 (refunds)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import requests

import shop
from shop.lifecycle import backoffice, jobs, orders, reconcile
from tests.shop.test_admin import CSRF, act, authorized, charge_state, paid_order
from tests.support import text


def charges_at_amazon(app, reference: str) -> list[dict]:
    with app.app_context():
        order = orders.by_reference(reference)
        return [reconcile.client().get_charge(charge_id).body for charge_id in backoffice.charge_ids(order)]


def permission_of(app, reference: str) -> dict:
    with app.app_context():
        return reconcile.client().get_charge_permission(orders.by_reference(reference).charge_permission_id).body


def further(browser, reference: str, **form) -> str:
    """Submit the page's further-charge form (its number, as the merchant's browser would)."""
    page = text(browser.get(f"/admin/orders/{reference}"))
    number = re.search(r'action="[^"]*/charge".*?name="number" value="(\d+)"', page, re.S)[1]
    data = {"csrf_token": CSRF.search(page)[1], "number": number, **form}
    answer = browser.post(f"/admin/orders/{reference}/charge", data=data)
    assert answer.status_code == 303, text(answer)
    return text(browser.get(f"/admin/orders/{reference}"))


def test_capture_part_then_charge_the_rest_on_the_same_charge_permission(shop_app, admin_of, make_shop_buyer):
    buyer, reference = paid_order(make_shop_buyer)
    admin, total = admin_of(shop_app), authorized(shop_app, reference)
    assert 'data-testid="charge-further"' not in text(admin.get(f"/admin/orders/{reference}"))  # all authorized
    part = Decimal("20.00")
    page = act(admin, reference, "capture", amount=str(part))
    assert "Left to charge" in page and f"${total - part}" in page
    page = further(admin, reference, amount=str(total - part), carrier="UPS", tracking="1Z999AA10000000002")
    assert "Further charge: sent to Amazon Pay" in page
    assert "Delivery Tracker sent: UPS 1Z999AA10000000002" in page
    first, second = charges_at_amazon(shop_app, reference)
    assert (first["statusDetails"]["state"], first["captureAmount"]["amount"]) == ("Captured", str(part))
    assert (second["statusDetails"]["state"], second["captureAmount"]["amount"]) == ("Captured", str(total - part))
    assert second["chargePermissionId"] == first["chargePermissionId"]
    assert permission_of(shop_app, reference)["statusDetails"]["state"] == "Closed"  # the order amount is captured
    assert 'data-testid="charge-2"' in page and 'data-testid="charge-further"' not in page
    assert "Shipped: your payment was taken" in text(buyer.web.get(f"/orders/{reference}"))


def test_a_further_charge_form_submitted_twice_charges_once(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    admin, total = admin_of(shop_app), authorized(shop_app, reference)
    act(admin, reference, "capture", amount="10.00")
    page = text(admin.get(f"/admin/orders/{reference}"))
    number = re.search(r'action="[^"]*/charge".*?name="number" value="(\d+)"', page, re.S)[1]
    form = {"csrf_token": CSRF.search(page)[1], "number": number, "amount": "5.00"}
    for _ in range(2):
        assert admin.post(f"/admin/orders/{reference}/charge", data=form).status_code == 303
    assert [c["captureAmount"]["amount"] for c in charges_at_amazon(shop_app, reference)] == ["10.00", "5.00"]
    assert f"${total - Decimal('15.00')}" in text(admin.get(f"/admin/orders/{reference}"))


def test_a_further_charge_within_what_amazon_leaves_only(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    admin, total = admin_of(shop_app), authorized(shop_app, reference)
    with shop_app.app_context():  # while the authorization holds the whole amount: nothing is left
        order = orders.by_reference(reference)
        with pytest.raises(backoffice.Refused) as refused:
            backoffice.charge_further(order, Decimal("1.00"), 2)
    assert "Charge between 0 and the 0.00 USD left on the Charge Permission" in str(refused.value)
    act(admin, reference, "capture", amount="20.00")
    page = further(admin, reference, amount=str(total - Decimal("20.00") + Decimal("0.01")))
    assert f"Further charge not done: Charge between 0 and the {total - Decimal('20.00')} USD left" in page
    assert len(charges_at_amazon(shop_app, reference)) == 1


def test_a_lost_answer_to_a_further_charge_is_asked_again_never_charged_twice(shop_app, admin_of, make_shop_buyer, sim):
    _buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    act(admin, reference, "capture", amount="20.00")
    rules = {"rules": [{"operation": "CreateCharge", "kind": "lost", "times": 10}]}
    requests.post(f"{sim.url}/control/faults", json=rules, timeout=5).raise_for_status()
    page = further(admin, reference, amount="5.00")
    assert "Further charge not done: Amazon Pay did not answer" in page
    assert "Unconfirmed: Amazon Pay did not answer; ask again below" in page
    assert "Ask Amazon Pay again about charge 2" in page
    requests.delete(f"{sim.url}/control/faults", timeout=5).raise_for_status()
    page = further(admin, reference, amount="7.00")  # the form asks for the same 5.00 again, with the same key
    assert "Unconfirmed" not in page
    amounts = [c["captureAmount"]["amount"] for c in charges_at_amazon(shop_app, reference)]
    assert amounts == ["20.00", "5.00"]
    assert sim.app.extensions["amazon_pay_simulator"].counts["charges"] == 2  # Amazon made one further charge


def test_a_pending_further_charge_is_settled_by_the_reconcile_pass(shop_app, admin_of, make_shop_buyer, sim):
    """Instrument 0701: Amazon decides later (canHandlePendingAuthorization), the reconcile pass
    reads the charge (Get Charge), as an IPN would (``backoffice.settle_charge``)."""
    buyer = make_shop_buyer()
    buyer.add("canvas-tote", 3)
    reference = re.search(r"ORD-[0-9A-F]{8}", text(buyer.checkout(instrument="0701")))[0]
    sim.advance(31)
    with shop_app.app_context():
        jobs.one_pass()
    admin = admin_of(shop_app)
    act(admin, reference, "capture", amount="20.00")
    page = further(admin, reference, amount="5.00")
    assert "Create Charge: AuthorizationInitiated" in page
    sim.advance(31)
    with shop_app.app_context():
        jobs.one_pass()
        row = backoffice.further_charges(orders.by_reference(reference))[0]
    assert row.state == "Captured"
    assert "Further charge captured: 5.00 USD" in text(admin.get(f"/admin/orders/{reference}"))


def test_a_refund_of_the_charge_the_merchant_picks(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    act(admin, reference, "capture", amount="20.00")
    further(admin, reference, amount="5.00")
    first, second = (charge["chargeId"] for charge in charges_at_amazon(shop_app, reference))
    page = act(admin, reference, "refund", amount="5.75", charge_id=second)  # 5.00 and 15 % more
    assert "Refund not done" not in page
    assert "Refund not done: Refund between 0 and 0.00 USD" in act(
        admin, reference, "refund", amount="0.01", charge_id=second
    )
    act(admin, reference, "refund", amount="20.00", charge_id=first)
    with shop_app.app_context():
        refunded = {row.charge_id: row.amount for row in backoffice.refunds_of(orders.by_reference(reference))}
    assert refunded == {second: Decimal("5.75"), first: Decimal("20.00")}
    assert "Refund not done: This order has no such charge" in act(
        admin, reference, "refund", amount="1.00", charge_id="S01-0000000-0000000-C000000"
    )


def test_a_declined_refund_is_said_plainly_to_the_merchant_and_the_buyer(shop_app, admin_of, make_shop_buyer, sim):
    buyer = make_shop_buyer()
    buyer.add("canvas-tote", 3)
    reference = re.search(r"ORD-[0-9A-F]{8}", text(buyer.checkout(instrument="0505")))[0]
    admin = admin_of(shop_app)
    act(admin, reference, "capture", amount=str(authorized(shop_app, reference)))
    act(admin, reference, "refund", amount="10.00")
    sim.advance(31)
    with shop_app.app_context():
        jobs.one_pass()
    page = text(admin.get(f"/admin/orders/{reference}"))
    assert "Amazon Pay declined the refund of $10.00 (AmazonRejected): refund the buyer by another means." in page
    assert "Refund DECLINED: refund the buyer by another means" in page
    order_page = text(buyer.web.get(f"/orders/{reference}"))
    assert "Your refund is being arranged another way; we will contact you" in order_page
    assert "Refunded:" not in order_page
    assert charge_state(shop_app, reference)["refundedAmount"] is None


@pytest.mark.both_databases
def test_migration_0008_gives_earlier_refunds_the_order_charge(client, tmp_path, shop_config, database):
    """A refund stored before revision 0008 refunded the order's charge: the upgrade says so."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from shop.lifecycle import db

    app = shop.create_app(shop_config(client, tmp_path, DATABASE_MIGRATE_ON_START=False))
    with app.app_context():
        if database is not None:
            db.db.metadata.drop_all(db.db.engine)
            with db.write() as connection:
                connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision="0007")
        with db.write() as connection:
            connection.exec_driver_sql(
                "INSERT INTO orders (reference, payment_request, owner, status, currency, subtotal, shipping, tax,"
                " total, items, charge_id, created_at, updated_at) VALUES ('ORD-00000001', 'r', 'o', 'paid', 'USD',"
                " '1', '0', '0', '1', '[]', 'S01-CHARGE', 't', 't')"
            )
            connection.exec_driver_sql(
                "INSERT INTO refunds (refund_id, order_id, amount, state, created_at, updated_at)"
                " SELECT 'S01-R1', id, '1.00', 'Refunded', 't', 't' FROM orders"
            )
        upgrade(revision="0008")
        with db.read() as connection:
            assert connection.execute(sa.text("SELECT charge_id FROM refunds")).scalar() == "S01-CHARGE"
        downgrade(revision="0007")
        with db.read() as connection:
            assert "charges" not in sa.inspect(connection).get_table_names()


def test_a_pending_further_charge_is_settled_by_its_ipn(
    client, tmp_path, shop_config, make_shop_buyer, admin_of, sim, serve
):
    """The simulator, as Amazon, notifies the shop when the pending further charge is captured;
    the IPN endpoint settles it with the same code as the reconcile pass (``settle_charge``)."""
    import time

    app = shop.create_app(shop_config(client, tmp_path))
    _server, _thread, port = serve(app)
    buyer = make_shop_buyer(app)
    buyer.add("canvas-tote", 3)
    reference = re.search(r"ORD-[0-9A-F]{8}", text(buyer.checkout(instrument="0701")))[0]
    sim.advance(31)
    with app.app_context():
        jobs.one_pass()
    requests.put(f"{sim.url}/control/ipn", json={"url": f"http://127.0.0.1:{port}/amazon-pay/ipn"}, timeout=5)
    admin = admin_of(app)
    act(admin, reference, "capture", amount="20.00")
    further(admin, reference, amount="5.00")
    sim.advance(31)  # Amazon decides; nobody reads the charge

    def state() -> str:
        with app.app_context():
            return backoffice.further_charges(orders.by_reference(reference))[0].state

    deadline = time.monotonic() + 10
    while state() != "Captured" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state() == "Captured"


def test_a_lost_answer_to_a_further_charge_is_learned_by_the_reconcile_pass(shop_app, admin_of, make_shop_buyer, sim):
    """Nobody clicks "Ask Amazon Pay again": the pass re-sends the same Create Charge with the
    same idempotency key, Amazon replays its answer, and the row is settled."""
    buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    act(admin, reference, "capture", amount="20.00")
    rules = {"rules": [{"operation": "CreateCharge", "kind": "lost", "times": 10}]}
    requests.post(f"{sim.url}/control/faults", json=rules, timeout=5).raise_for_status()
    assert "Unconfirmed: Amazon Pay did not answer" in further(admin, reference, amount="5.00")
    requests.delete(f"{sim.url}/control/faults", timeout=5).raise_for_status()
    with shop_app.app_context():
        jobs.one_pass()
        [row] = backoffice.further_charges(orders.by_reference(reference))
    assert (row.state, row.amount) == ("Captured", Decimal("5.00"))
    assert [c["captureAmount"]["amount"] for c in charges_at_amazon(shop_app, reference)] == ["20.00", "5.00"]
    assert sim.app.extensions["amazon_pay_simulator"].counts["charges"] == 2  # Amazon made one further charge
    page = text(admin.get(f"/admin/orders/{reference}"))
    assert "Further charge 2: 5.00 USD (Create Charge: Captured)" in page and "Unconfirmed" not in page
    with shop_app.app_context():
        jobs.one_pass()  # settled: nothing is asked again
    assert sim.app.extensions["amazon_pay_simulator"].counts["charges"] == 2
    assert text(buyer.web.get(f"/orders/{reference}")).count("Shipped: your payment was taken") == 1


def test_the_reconcile_pass_leaves_an_old_unconfirmed_further_charge_to_the_merchant(
    shop_app, admin_of, make_shop_buyer, sim
):
    """Past the time Amazon surely keeps an idempotency key, a re-send could charge again."""
    import sqlalchemy as sa

    from shop.lifecycle import db

    _buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    act(admin, reference, "capture", amount="20.00")
    rules = {"rules": [{"operation": "CreateCharge", "kind": "lost", "times": 10}]}
    requests.post(f"{sim.url}/control/faults", json=rules, timeout=5).raise_for_status()
    further(admin, reference, amount="5.00")
    requests.delete(f"{sim.url}/control/faults", timeout=5).raise_for_status()
    with shop_app.app_context():
        with db.write() as connection:
            connection.execute(sa.update(backoffice.charges_table).values(created_at="2020-01-01T00:00:00+00:00"))
        jobs.one_pass()
        [row] = backoffice.further_charges(orders.by_reference(reference))
    assert row.state == "Unconfirmed"
    assert "Ask Amazon Pay again about charge 2" in text(admin.get(f"/admin/orders/{reference}"))
