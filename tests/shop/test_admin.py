"""The back office: behind a sign-in that slows guessing down, never linked from buyer pages;
orders listed newest first at a cost that does not grow with their number; one order with
Amazon's objects read live; the integration status."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

import shop
from shop.lifecycle import db, orders
from shop.money import Totals
from tests.support import shown_after_post, text

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = ("/admin/", "/admin/status", "/admin/orders/ORD-00000000")


def sign_in(browser, username="admin", password="demo"):
    token = CSRF.search(text(browser.get("/")))[1]  # the session's token (any page's form)
    return browser.post("/admin/login", data={"csrf_token": token, "username": username, "password": password})


def refused(browser, username="admin", password="demo"):
    """A sign-in that fails: the page the browser lands on (a GET, after the form's 303)."""
    return shown_after_post(browser, sign_in(browser, username, password))


def signed_in(answer) -> bool:
    return answer.status_code == 303 and answer.headers["Location"].startswith("/admin/")


def test_a_visitor_is_sent_to_sign_in_and_buyer_pages_never_link_the_back_office(shop_app, make_shop_buyer):
    visitor = shop_app.test_client()
    for path in PAGES:
        answer = visitor.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/admin/login"), path
    buyer = make_shop_buyer()
    buyer.add()
    for path in ("/", "/cart", "/account"):
        assert "/admin" not in text(buyer.web.get(path))


def test_wrong_passwords_make_the_name_wait(shop_app):
    browser = shop_app.test_client()
    for _ in range(4):
        assert refused(browser, password="guess").status_code == 403
    assert refused(browser, password="guess").status_code == 403  # the fifth: now it waits
    waiting = refused(browser, password="demo")  # even the right password, while it waits
    assert waiting.status_code == 429 and "Try again after" in text(waiting)
    assert browser.get("/admin/").status_code == 302  # still signed out
    with shop_app.app_context(), db.write() as connection:  # the wait is over
        connection.execute(sa.update(db.db.metadata.tables["admin_login_failures"]).values(locked_until=None))
    assert signed_in(sign_in(browser))
    assert browser.get("/admin/").status_code == 200


def test_the_sign_in_form_needs_its_csrf_token(shop_app):
    browser = shop_app.test_client()
    answer = shown_after_post(browser, browser.post("/admin/login", data={"username": "admin", "password": "demo"}))
    assert answer.status_code == 400 and "expired" in text(answer)
    assert browser.get("/admin/").status_code == 302  # not signed in


def test_outside_the_demo_the_back_office_needs_a_configured_password(client, tmp_path, shop_config):
    sandbox = shop.create_app(shop_config(client, tmp_path, AMAZON_PAY_MODE="sandbox"))
    browser = sandbox.test_client()
    assert "not configured" in text(browser.get("/admin/login"))
    assert refused(browser).status_code == 403  # "demo" is the demo's only
    configured = shop.create_app(
        shop_config(
            client,
            tmp_path,
            AMAZON_PAY_MODE="sandbox",
            ADMIN_USERNAME="owner",
            ADMIN_PASSWORD_HASH=generate_password_hash("correct horse"),
        )
    )
    assert signed_in(sign_in(configured.test_client(), "owner", "correct horse"))


def test_flask_admin_password_prints_a_hash_of_the_password(shop_app):
    result = shop_app.test_cli_runner().invoke(args=["admin-password"], input="s3cret pass\ns3cret pass\n")
    assert result.exit_code == 0
    assert check_password_hash(result.output.strip().splitlines()[-1], "s3cret pass")


def make_orders(app, count: int) -> None:
    with app.app_context():
        for i in range(count):
            orders.create(f"test:{i}", "someone", [], Totals.of(Decimal(i), Decimal(0), Decimal(0), "USD"), None)


def statements_for(app, browser, path: str) -> int:
    seen = []
    with app.app_context():
        engine = db.db.engine
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert browser.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def test_the_order_list_pages_newest_first_at_a_cost_that_does_not_grow(shop_app, admin_of):
    browser = admin_of(shop_app)
    make_orders(shop_app, 30)
    first = text(browser.get("/admin/"))
    references = re.findall(r">(ORD-[0-9A-F]{8})<", first)
    assert len(references) == 25
    older = re.search(r'href="(/admin/\?before=\d+)"', first)[1]
    assert len(re.findall(r">(ORD-[0-9A-F]{8})<", text(browser.get(older)))) == 5
    few = statements_for(shop_app, browser, "/admin/")
    make_orders(shop_app, 300)
    assert statements_for(shop_app, browser, "/admin/") == few  # 330 orders cost what 30 did
    paid = text(browser.get("/admin/?status=paid"))
    assert "No orders in this state" in paid


def test_an_order_shows_amazons_objects_read_live(shop_app, admin_of, make_shop_buyer):
    buyer = make_shop_buyer()
    buyer.add()
    page = text(buyer.checkout())
    reference = re.search(r"ORD-[0-9A-F]{8}", page)[0]
    detail = text(admin_of(shop_app).get(f"/admin/orders/{reference}"))
    assert 'data-testid="amazon-charge-state">Authorized<' in detail
    assert "Charge Permission" in detail and "Order placed" in detail


@pytest.mark.parametrize("path", ["/admin/logout"])
def test_signing_out_of_the_back_office(shop_app, admin_of, path):
    browser = admin_of(shop_app)
    token = CSRF.search(text(browser.get("/admin/")))[1]
    assert browser.post(path, data={"csrf_token": token}).status_code == 303
    assert browser.get("/admin/").status_code == 302


# -- actions: capture, cancel, refund ------------------------------------------------------------


def paid_order(make_shop_buyer) -> tuple[object, str]:
    buyer = make_shop_buyer()
    buyer.add("canvas-tote", 3)
    page = text(buyer.checkout())
    return buyer, re.search(r"ORD-[0-9A-F]{8}", page)[0]


def authorized(app, reference: str) -> Decimal:
    return Decimal(charge_state(app, reference)["chargeAmount"]["amount"])


def act(browser, reference: str, action: str, **form) -> str:
    page = text(browser.get(f"/admin/orders/{reference}"))
    token = CSRF.search(page)[1]
    number = re.search(rf'action="[^"]*/{action}".*?name="number" value="(\d+)"', page, re.S)  # the form's own
    data = {"csrf_token": token, **({"number": number[1]} if number and action == "refund" else {}), **form}
    answer = browser.post(f"/admin/orders/{reference}/{action}", data=data)
    assert answer.status_code == 303, text(answer)
    return text(browser.get(f"/admin/orders/{reference}"))


def charge_state(app, reference: str) -> dict:
    from shop.lifecycle import reconcile

    with app.app_context():
        return reconcile.client().get_charge(orders.by_reference(reference).charge_id).body


def test_capture_when_it_ships_then_the_buyer_sees_shipped(shop_app, admin_of, make_shop_buyer):
    buyer, reference = paid_order(make_shop_buyer)
    admin, total = admin_of(shop_app), str(authorized(shop_app, reference))
    page = act(admin, reference, "capture", amount=total)
    assert "Capture: sent to Amazon Pay" in page
    charge = charge_state(shop_app, reference)
    assert charge["statusDetails"]["state"] == "Captured" and charge["captureAmount"]["amount"] == total
    again = act(admin, reference, "capture", amount=total)  # a second submit: nothing captured twice
    assert charge_state(shop_app, reference)["captureAmount"]["amount"] == total
    assert "Capture Charge" in again
    assert "Shipped: your payment was taken" in text(buyer.web.get(f"/orders/{reference}"))


def test_a_capture_above_the_authorized_amount_is_refused_plainly(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    too_much = authorized(shop_app, reference) + Decimal("0.01")
    page = act(admin_of(shop_app), reference, "capture", amount=str(too_much))
    assert "Capture not done: Capture between 0 and the authorized" in page
    assert charge_state(shop_app, reference)["statusDetails"]["state"] == "Authorized"


def test_cancel_releases_the_authorization(shop_app, admin_of, make_shop_buyer):
    buyer, reference = paid_order(make_shop_buyer)
    act(admin_of(shop_app), reference, "cancel")
    assert charge_state(shop_app, reference)["statusDetails"]["state"] == "Canceled"
    page = text(buyer.web.get(f"/orders/{reference}"))
    assert "Canceled: the payment was released" in page
    assert re.search(r'data-testid="order-status">Canceled<', page) and "nothing was charged" in page


def test_refund_part_then_the_rest_settled_by_the_reconcile_pass(shop_app, admin_of, make_shop_buyer, sim):
    from shop.lifecycle import jobs

    buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    total = authorized(shop_app, reference)
    act(admin, reference, "capture", amount=str(total))
    act(admin, reference, "refund", amount="20.00")
    page = act(admin, reference, "refund", amount=str(total - Decimal("20.00")))
    assert page.count("RefundInitiated</td>") == 2
    sim.advance(31)
    with shop_app.app_context():
        jobs.one_pass()
    page = text(admin.get(f"/admin/orders/{reference}"))
    assert page.count("Refunded</td>") == 2
    # The buyer's page has a step for each refund, with its amount (not the API's words).
    steps = text(buyer.web.get(f"/orders/{reference}"))
    assert "Refunded: Amazon Pay has returned $20.00 to you" in steps
    assert f"Refunded: Amazon Pay has returned ${total - Decimal('20.00')} to you" in steps
    assert "Refund completed" not in steps and "RefundInitiated" not in steps


def test_refunds_within_amazons_limits_only(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    total = authorized(shop_app, reference)
    act(admin, reference, "capture", amount=str(total))
    # 15 % of the captured amount (under 75): at most the total and 15 % in all.
    limit = (total * Decimal("1.15")).quantize(Decimal("0.01"))
    assert "Refund not done" in act(admin, reference, "refund", amount=str(limit + Decimal("0.01")))
    for _ in range(10):
        act(admin, reference, "refund", amount="1.00")
    eleventh = act(admin, reference, "refund", amount="1.00")
    assert "at most 10 refunds per charge" in eleventh


def test_a_refund_form_submitted_twice_refunds_once(shop_app, admin_of, make_shop_buyer):
    _buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    act(admin, reference, "capture", amount=str(authorized(shop_app, reference)))
    page = text(admin.get(f"/admin/orders/{reference}"))
    form = {"csrf_token": CSRF.search(page)[1], "number": "1", "amount": "10.00"}
    for _ in range(2):
        assert admin.post(f"/admin/orders/{reference}/refund", data=form).status_code == 303
    assert text(admin.get(f"/admin/orders/{reference}")).count("RefundInitiated</td>") == 1


def test_the_back_office_is_configured_from_the_environment(tmp_path):
    from shop.config import ConfigError, load

    base = {"AMAZON_PAY_MODE": "simulator"}
    hashed = generate_password_hash("correct horse")
    config = load(str(tmp_path), {**base, "ADMIN_USERNAME": "owner", "ADMIN_PASSWORD_HASH": hashed})
    assert (config["ADMIN_USERNAME"], config["ADMIN_PASSWORD_HASH"]) == ("owner", hashed)
    with pytest.raises(ConfigError, match="ADMIN_PASSWORD_HASH: a hash made by `flask admin-password`"):
        load(str(tmp_path), {**base, "ADMIN_PASSWORD_HASH": "correct horse"})


def test_mark_shipped_with_a_tracking_number_sends_a_delivery_tracker(shop_app, admin_of, make_shop_buyer, sim):
    buyer, reference = paid_order(make_shop_buyer)
    admin = admin_of(shop_app)
    page = act(
        admin,
        reference,
        "capture",
        amount=str(authorized(shop_app, reference)),
        carrier="UPS",
        tracking="1Z999AA10123456784",
    )
    assert "Delivery Tracker sent: UPS 1Z999AA10123456784" in page
    trackers = sim.app.extensions["amazon_pay_simulator"].delivery_trackers
    assert trackers == {("UPS", "1Z999AA10123456784"): charge_state(shop_app, reference)["chargePermissionId"]}
    # The buyer's order page gives the carrier by name and the number to follow the parcel.
    assert "Tracking number 1Z999AA10123456784 (UPS)" in text(buyer.web.get(f"/orders/{reference}"))
    other_buyer, second = paid_order(make_shop_buyer)  # Amazon: a tracking code can be used once
    again = act(
        admin, second, "capture", amount=str(authorized(shop_app, second)), carrier="UPS", tracking="1Z999AA10123456784"
    )
    assert "Delivery Tracker not sent: InvalidParameterValue" in again
    assert "Tracking number" not in text(other_buyer.web.get(f"/orders/{second}"))  # none was sent
    assert charge_state(shop_app, second)["statusDetails"]["state"] == "Captured"  # the money moved anyway
