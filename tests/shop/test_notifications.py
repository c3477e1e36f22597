"""The buyer hears about it: one e-mail per moment (confirmed; on hold, then confirmed or not;
shipped; canceled; each refund), never before Amazon Pay answered, never twice; written to an
outbox by the buyer's request and sent by the periodic pass through a real SMTP server
(aiosmtpd, in this process), which may refuse, be down, hang or want STARTTLS and a sign-in.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import re
import socket
import ssl
import threading
import time
from decimal import Decimal
from email import message_from_bytes, policy

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

import shop
from shop.config import ConfigError, load
from shop.lifecycle import backoffice, db, jobs, notifications, orders
from shop.money import Totals, display
from shop.regions import REGIONS
from tests.support import text

BUYER = "jane.doe@example.com"  # the simulator's default buyer
SENDER = "Trailhead Supply <orders@shop.test>"


# -- a real SMTP server, in a thread of this process ------------------------------------------------


class Mailbox:
    """aiosmtpd on a loopback port: what it received, and switches to refuse mail or to stop."""

    def __init__(self, tls: ssl.SSLContext | None = None, logins: dict[str, str] | None = None):
        self.tls, self.accounts = tls, logins
        self.received: list = []  # parsed messages
        self.envelopes: list = []
        self.signed_in: list[str] = []
        self.refuse: str | None = None  # e.g. "451 4.3.0 Try again later": RCPT refused
        self.port = 0
        self.loop = self.server = self.thread = None

    def start(self) -> Mailbox:
        self.loop = asyncio.new_event_loop()
        options = {"hostname": "mail.test"}
        if self.tls:
            options.update(tls_context=self.tls, require_starttls=True)
        if self.accounts is not None:
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=True)
        self.server = self.loop.run_until_complete(
            self.loop.create_server(lambda: SMTP(self, **options), "127.0.0.1", self.port, reuse_address=True)
        )
        self.port = self.server.sockets[0].getsockname()[1]  # the same port again after a stop
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.loop is None:
            return
        self.loop.call_soon_threadsafe(self.server.close)
        asyncio.run_coroutine_threadsafe(self.server.wait_closed(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
        self.loop = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.accounts.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        if ok:
            self.signed_in.append(auth_data.login.decode())
        return AuthResult(success=ok)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


def mail_settings(port: int, **extra) -> dict:
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_USE_TLS": False,
        "MAIL_FROM": SENDER,
        "MAIL_TIMEOUT": 2.0,
        **extra,
    }


@pytest.fixture
def mail_app(client, tmp_path, shop_config, mailbox):
    """The shop, sending its e-mails through ``mailbox``."""
    return shop.create_app(shop_config(client, tmp_path, **mail_settings(mailbox.port)))


# -- helpers ---------------------------------------------------------------------------------------


def outbox(app) -> list:
    with app.app_context(), db.read() as connection:
        table = notifications.outbox_table
        return connection.execute(sa.select(table).order_by(table.c.id)).all()


def moments(app) -> list[str]:
    return [message.moment for message in outbox(app)]


def latest_order(app) -> orders.Order:
    with app.app_context():
        return orders.page(size=1)[0]


def checkout(make_shop_buyer, app, instrument: str = "1111"):
    """A whole checkout with this payment instrument; (the buyer, the order)."""
    buyer = make_shop_buyer(app)
    buyer.add("canvas-tote", 2)
    assert buyer.checkout(instrument=instrument).status_code == 200
    return buyer, latest_order(app)


def one_pass(app) -> None:
    with app.app_context():
        jobs.one_pass()


def set_faults(sim, rules) -> None:
    answer = requests.post(f"{sim.url}/control/faults", json={"seed": 3, "rules": rules}, timeout=5)
    assert answer.status_code == 200, answer.text


def set_outbox(app, **values) -> None:
    with app.app_context(), db.write() as connection:
        connection.execute(sa.update(notifications.outbox_table).values(**values))


# -- the moments -----------------------------------------------------------------------------------


@pytest.mark.both_databases
def test_an_order_paid_straight_away_gets_one_confirmation(shop_app, make_shop_buyer, sim):
    buyer, order = checkout(make_shop_buyer, shop_app, "1111")
    assert order.status == "paid"
    buyer.web.get(f"/orders/{order.reference}")  # the buyer looks again, the pass runs: nothing new
    one_pass(shop_app)
    [message] = outbox(shop_app)
    assert (message.moment, message.to) == ("paid", BUYER)
    assert message.subject == f"Your order {order.reference} is confirmed"
    assert "Amazon Pay has confirmed your payment" in message.body
    assert "2 × Canvas tote" in message.body
    assert display(order.total, "USD", "en_US") in message.body
    assert f"http://localhost/orders/{order.reference}" in message.body
    assert message.sent_at is None and message.attempts == 0  # no MAIL_SERVER: it stays in the outbox


@pytest.mark.both_databases
@pytest.mark.parametrize(
    ("instrument", "final", "subject"),
    [
        ("0701", "paid", "Payment confirmed for your order {}"),
        ("4354", "failed", "Your payment for order {} did not go through"),
    ],
)
def test_a_pending_payment_gets_we_have_your_order_then_the_outcome(
    shop_app, make_shop_buyer, sim, instrument, final, subject
):
    _buyer, order = checkout(make_shop_buyer, shop_app, instrument)
    assert order.status == "pending"
    [held] = outbox(shop_app)
    assert held.moment == "pending" and held.subject == f"We have your order {order.reference}"
    assert "Amazon Pay is still confirming your payment" in held.body
    assert "has confirmed" not in held.body and "charged" not in held.body  # no promise before Amazon's answer
    one_pass(shop_app)  # Amazon is still deciding
    assert moments(shop_app) == ["pending"]
    sim.advance(31)
    one_pass(shop_app)
    one_pass(shop_app)
    assert moments(shop_app) == ["pending", final]
    outcome = outbox(shop_app)[1]
    assert outcome.subject == subject.format(order.reference)
    if final == "failed":
        assert "nothing was charged" in outcome.body and "Pay for these items again" in outcome.body


@pytest.mark.both_databases
def test_shipped_and_each_refund_get_one_message(shop_app, make_shop_buyer, sim):
    _buyer, order = checkout(make_shop_buyer, shop_app, "1111")
    with shop_app.app_context():
        backoffice.capture(order, order.total)
        backoffice.refund(order, Decimal("10.00"), 1)
        backoffice.refund(order, order.total - Decimal("10.00"), 2)
    assert moments(shop_app) == ["paid", "shipped"]  # refunds are on their way: nothing yet
    sim.advance(31)
    one_pass(shop_app)
    one_pass(shop_app)
    with shop_app.app_context():
        refund_ids = [refund.refund_id for refund in backoffice.refunds_of(order)]
        for refund_id in refund_ids:  # the same news again (an IPN after the pass)
            backoffice.settle_refund(refund_id)
    messages = outbox(shop_app)
    assert sorted(m.moment for m in messages) == sorted(["paid", "shipped"] + [f"refunded:{r}" for r in refund_ids])
    shipped = next(m for m in messages if m.moment == "shipped")
    assert shipped.subject == f"Your order {order.reference} is on its way"
    refunds = [m for m in messages if m.moment.startswith("refunded:")]
    assert {m.subject for m in refunds} == {f"Refund for your order {order.reference}"}
    amounts = {display(amount, "USD", "en_US") for amount in (Decimal("10.00"), order.total - Decimal("10.00"))}
    assert {re.search(r"returned (\S+) to you", m.body)[1] for m in refunds} == amounts


@pytest.mark.both_databases
def test_each_parcel_of_a_split_shipment_gets_its_own_shipped_message(shop_app, make_shop_buyer, sim):
    _buyer, order = checkout(make_shop_buyer, shop_app, "1111")
    rest = order.total - Decimal("20.00") - Decimal("5.00")
    with shop_app.app_context():
        backoffice.capture(order, Decimal("20.00"))
        backoffice.charge_further(order, Decimal("5.00"), 2)
        backoffice.charge_further(order, Decimal("5.00"), 2)  # a double submit: no new parcel
        backoffice.charge_further(order, rest, 3)
        shipped = orders.by_reference(order.reference)
        orders.order_changed.send(shop_app, order=shipped, before="paid", step="shipped")  # the same news again
    messages = outbox(shop_app)
    assert [m.moment for m in messages] == ["paid", "shipped", "shipped:2", "shipped:3"]
    assert messages[1].subject == f"Your order {order.reference} is on its way"
    assert {m.subject for m in messages[2:]} == {f"Another parcel of your order {order.reference} is on its way"}
    taken = [re.search(r"has now taken (\S+) for it", m.body)[1] for m in messages[2:]]
    assert taken == [display(Decimal("5.00"), "USD", "en_US"), display(rest, "USD", "en_US")]


@pytest.mark.both_databases
def test_a_pending_order_the_shop_cancels_gets_canceled_not_payment_failed(shop_app, make_shop_buyer, sim):
    _buyer, order = checkout(make_shop_buyer, shop_app, "0701")
    with shop_app.app_context():
        backoffice.cancel(order)
    sim.advance(31)
    one_pass(shop_app)
    assert latest_order(shop_app).status == "failed"  # Amazon: the charge is canceled
    assert moments(shop_app) == ["pending", "canceled"]
    assert outbox(shop_app)[1].subject == f"Your order {order.reference} is canceled"


@pytest.mark.both_databases
def test_nothing_before_amazon_pay_answered_and_nothing_for_a_refusal_seen_on_the_page(shop_app, make_shop_buyer, sim):
    # At Amazon, never back: awaiting payment.
    buyer = make_shop_buyer()
    buyer.add()
    buyer.pay_at_amazon(buyer.place_order(buyer.click_amazon_pay()).headers["Location"])
    assert latest_order(shop_app).status == "awaiting_payment" and outbox(shop_app) == []
    # Declined at once: the buyer read it on the result page.
    _buyer, declined = checkout(make_shop_buyer, shop_app, "3434")
    assert declined.status == "failed" and outbox(shop_app) == []
    # Amazon did not answer Complete: being confirmed; then the order page learns it is paid.
    set_faults(sim, [{"operation": "CompleteCheckoutSession", "kind": "5xx", "times": 4}])
    buyer, unconfirmed = checkout(make_shop_buyer, shop_app, "1111")
    assert unconfirmed.status == "unconfirmed" and outbox(shop_app) == []
    assert 'data-testid="order-status">Paid<' in text(buyer.web.get(f"/orders/{unconfirmed.reference}"))
    [message] = outbox(shop_app)
    assert message.moment == "paid" and message.subject == f"Your order {unconfirmed.reference} is confirmed"


@pytest.mark.both_databases
def test_a_buyer_told_being_confirmed_hears_that_it_failed(shop_app, make_shop_buyer, sim):
    set_faults(sim, [{"operation": "CompleteCheckoutSession", "kind": "5xx", "times": 4}])
    buyer, order = checkout(make_shop_buyer, shop_app, "3434")
    assert order.status == "unconfirmed" and outbox(shop_app) == []
    buyer.web.get(f"/orders/{order.reference}")  # Amazon answers now: declined
    assert latest_order(shop_app).status == "failed"
    [message] = outbox(shop_app)
    assert message.moment == "failed" and "nothing was charged" in message.body


@pytest.mark.both_databases
def test_the_same_news_twice_adds_nothing(shop_app, make_shop_buyer, sim):
    _buyer, order = checkout(make_shop_buyer, shop_app, "0701")
    sim.advance(31)
    one_pass(shop_app)
    before = outbox(shop_app)
    assert [m.moment for m in before] == ["pending", "paid"]
    with shop_app.app_context():
        paid = orders.by_reference(order.reference)
        for _ in range(2):  # as if IPN duplicates and a retry announced the same changes again
            orders.order_changed.send(shop_app, order=paid, before="pending", step=None)
            orders.order_changed.send(shop_app, order=paid, before="awaiting_payment", step=None)
    assert outbox(shop_app) == before


@pytest.mark.both_databases
def test_only_orders_with_the_buyers_address(shop_app):
    with shop_app.app_context():
        made = orders.create("test:1", "someone", [], Totals.of(Decimal(5), Decimal(0), Decimal(0), "USD"), None)
        orders.record(made, "paid", "test")
    assert outbox(shop_app) == []


@pytest.mark.both_databases
@pytest.mark.parametrize("region", ["us", "eu", "uk", "jp"])
def test_amounts_in_the_regions_currency_format(client, tmp_path, shop_config, region):
    app = shop.create_app(shop_config(client, tmp_path, region))
    here = REGIONS[region]
    price = Decimal("3200") if here.ledger_currency == "JPY" else Decimal("1234.50")
    items = [{"productId": "p", "name": "Trail mug", "quantity": 1, "unitPrice": str(price), "total": str(price)}]
    with app.app_context():
        made = orders.create(
            "test:1", "me", items, Totals.of(price, Decimal(0), Decimal(0), here.ledger_currency), BUYER
        )
        orders.record(made, "paid", "test")
    [message] = outbox(app)
    formatted = display(price, here.ledger_currency, here.locale)  # $1,234.50, 1.234,50 €, £1,234.50, ￥3,200
    assert re.search(rf"1 × Trail mug +{re.escape(formatted)}\n", message.body)
    assert re.search(rf"{re.escape(here.tax.total)} +{re.escape(formatted)}\n", message.body)


# -- delivery --------------------------------------------------------------------------------------


def received_text(message) -> str:
    return message.get_content()


@pytest.mark.both_databases
def test_the_pass_sends_it_through_a_real_smtp_server_once(mail_app, make_shop_buyer, sim, mailbox):
    _buyer, order = checkout(make_shop_buyer, mail_app, "1111")
    assert mailbox.received == []  # the buyer's request only wrote it down
    one_pass(mail_app)
    one_pass(mail_app)
    [received] = mailbox.received
    assert mailbox.envelopes[0].rcpt_tos == [BUYER]
    assert received["To"] == BUYER and received["From"] == SENDER
    assert received["Subject"] == f"Your order {order.reference} is confirmed"
    assert received["Auto-Submitted"] == "auto-generated" and received["Message-ID"].endswith("@shop.test>")
    body = received_text(received)
    assert order.reference in body and f"http://localhost/orders/{order.reference}" in body
    assert display(order.total, "USD", "en_US") in body
    [message] = outbox(mail_app)
    assert message.sent_at is not None and message.attempts == 1 and message.last_error is None


@pytest.mark.both_databases
def test_a_server_that_refuses_keeps_the_message_for_a_later_pass(mail_app, make_shop_buyer, sim, mailbox):
    checkout(make_shop_buyer, mail_app, "1111")
    mailbox.refuse = "451 4.3.0 Mailbox busy, try again later"
    one_pass(mail_app)
    [message] = outbox(mail_app)
    assert mailbox.received == [] and message.sent_at is None
    assert message.attempts == 1 and "451 4.3.0 Mailbox busy" in message.last_error
    mailbox.refuse = None
    one_pass(mail_app)  # the first retry is due at once
    [message] = outbox(mail_app)
    assert len(mailbox.received) == 1 and message.sent_at is not None and message.attempts == 2


@pytest.mark.both_databases
def test_a_server_that_is_down_keeps_the_message_for_a_later_pass(mail_app, make_shop_buyer, sim, mailbox):
    mailbox.stop()
    _buyer, order = checkout(make_shop_buyer, mail_app, "1111")
    one_pass(mail_app)
    [message] = outbox(mail_app)
    assert message.sent_at is None and "ConnectionRefusedError" in message.last_error
    mailbox.start()  # back, on the same port
    one_pass(mail_app)
    assert [m["Subject"] for m in mailbox.received] == [f"Your order {order.reference} is confirmed"]
    assert outbox(mail_app)[0].sent_at is not None


@pytest.mark.both_databases
def test_a_server_that_never_answers_costs_the_pass_a_timeout_and_the_buyer_nothing(
    client, tmp_path, shop_config, make_shop_buyer, sim
):
    with socket.socket() as silent:  # takes connections (the kernel's backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        app = shop.create_app(shop_config(client, tmp_path, **mail_settings(silent.getsockname()[1], MAIL_TIMEOUT=0.5)))
        started = time.monotonic()
        checkout(make_shop_buyer, app, "1111")
        assert time.monotonic() - started < 5
        silent.setblocking(False)
        with pytest.raises(BlockingIOError):  # the buyer's requests never called the mail server
            silent.accept()
        started = time.monotonic()
        one_pass(app)
        assert time.monotonic() - started < 3
    [message] = outbox(app)
    assert message.sent_at is None and "timed out" in message.last_error


@pytest.mark.both_databases
def test_retries_wait_longer_each_time_and_stop_after_the_last_attempt(
    mail_app, make_shop_buyer, sim, mailbox, admin_of
):
    checkout(make_shop_buyer, mail_app, "1111")
    mailbox.refuse = "451 4.7.1 Greylisted"
    one_pass(mail_app)
    one_pass(mail_app)
    [message] = outbox(mail_app)
    assert message.attempts == 2 and message.next_try_at > db.now()  # the third waits 2 minutes
    one_pass(mail_app)
    assert outbox(mail_app)[0].attempts == 2
    set_outbox(mail_app, attempts=notifications.MAX_ATTEMPTS - 1, next_try_at=None)
    one_pass(mail_app)  # the last attempt fails too
    [message] = outbox(mail_app)
    assert message.attempts == notifications.MAX_ATTEMPTS and message.next_try_at is None
    mailbox.refuse = None
    one_pass(mail_app)
    assert mailbox.received == [] and outbox(mail_app)[0].sent_at is None  # given up, kept for the merchant
    page = text(admin_of(mail_app).get("/admin/outbox"))
    assert "given up" in page and "451 4.7.1 Greylisted" in page


def test_without_a_mail_server_the_messages_stay_in_the_outbox(shop_app, make_shop_buyer, sim):
    checkout(make_shop_buyer, shop_app, "1111")
    one_pass(shop_app)
    [message] = outbox(shop_app)
    assert message.sent_at is None and message.attempts == 0 and message.last_error is None


# -- STARTTLS and the sign-in ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (its file, a server TLS context)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("mail-tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context


@pytest.mark.both_databases
def test_starttls_verifies_the_servers_certificate_before_signing_in(
    client, tmp_path, shop_config, make_shop_buyer, sim, certificate, monkeypatch
):
    cert_file, context = certificate
    box = Mailbox(tls=context, logins={"shop": "s3cret pass"}).start()
    try:
        settings = mail_settings(box.port, MAIL_USE_TLS=True, MAIL_USERNAME="shop", MAIL_PASSWORD="s3cret pass")
        app = shop.create_app(shop_config(client, tmp_path, **settings))
        checkout(make_shop_buyer, app, "1111")
        one_pass(app)  # a certificate nobody vouches for: nothing sent, no password given
        [message] = outbox(app)
        assert message.sent_at is None and "CERTIFICATE_VERIFY_FAILED" in message.last_error
        assert box.signed_in == [] and box.received == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # now the system trusts it
        one_pass(app)
        assert box.signed_in == ["shop"] and len(box.received) == 1
        assert outbox(app)[0].sent_at is not None
    finally:
        box.stop()


def test_no_starttls_means_no_mail_never_plain_text(client, tmp_path, shop_config, make_shop_buyer, sim, mailbox):
    app = shop.create_app(shop_config(client, tmp_path, **mail_settings(mailbox.port, MAIL_USE_TLS=True)))
    checkout(make_shop_buyer, app, "1111")
    one_pass(app)
    [message] = outbox(app)
    assert mailbox.received == [] and "STARTTLS extension not supported" in message.last_error


# -- the back office -------------------------------------------------------------------------------


@pytest.mark.both_databases
def test_the_back_office_lists_the_outbox_newest_first_a_page_at_a_time(shop_app, admin_of, make_shop_buyer, sim):
    _buyer, order = checkout(make_shop_buyer, shop_app, "1111")
    with shop_app.app_context():
        for i in range(29):
            made = orders.create(f"test:{i}", "x", [], Totals.of(Decimal(i), Decimal(0), Decimal(0), "USD"), BUYER)
            orders.record(made, "paid", "test")
    visitor = shop_app.test_client().get("/admin/outbox")
    assert visitor.status_code == 302 and visitor.headers["Location"].startswith("/admin/login")
    admin = admin_of(shop_app)
    assert 'href="/admin/outbox"' in text(admin.get("/admin/"))
    first = text(admin.get("/admin/outbox"))
    assert first.count('data-testid="outbox-message"') == 25 and "No <code>MAIL_SERVER</code> is set" in first
    assert BUYER in first and "waiting" in first
    older = re.search(r'href="(/admin/outbox\?before=\d+)"', first)[1]
    last = text(admin.get(older))
    assert last.count('data-testid="outbox-message"') == 5
    assert f"Your order {order.reference} is confirmed" in last  # the oldest, on the last page
    assert f'href="/admin/orders/{order.reference}"' in last


# -- settings --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("instance"))


def test_mail_settings_default_to_the_outbox_only(instance):
    config = load(instance, {})
    assert config["MAIL_SERVER"] is None and config["MAIL_PORT"] == 587 and config["MAIL_USE_TLS"] is True
    full = load(
        instance,
        {
            "MAIL_SERVER": "smtp.example.com",
            "MAIL_PORT": "2525",
            "MAIL_USERNAME": "shop",
            "MAIL_PASSWORD": "s3cret pass",
            "MAIL_FROM": SENDER,
            "MAIL_TIMEOUT": "20",
        },
    )
    assert (full["MAIL_SERVER"], full["MAIL_PORT"], full["MAIL_FROM"], full["MAIL_TIMEOUT"]) == (
        "smtp.example.com",
        2525,
        SENDER,
        20.0,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAIL_SERVER": "smtp://smtp.example.com"}, "MAIL_SERVER='smtp://smtp.example.com'"),
        ({"MAIL_PORT": "submission"}, "MAIL_PORT='submission'"),
        ({"MAIL_PORT": "70000"}, "MAIL_PORT='70000'"),
        ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS='maybe'"),
        ({"MAIL_TIMEOUT": "0"}, "MAIL_TIMEOUT='0'"),
        ({"MAIL_SERVER": "smtp.example.com"}, "MAIL_FROM=''"),
        ({"MAIL_SERVER": "smtp.example.com", "MAIL_FROM": "orders"}, "MAIL_FROM='orders'"),
        ({"MAIL_SERVER": "smtp.example.com", "MAIL_FROM": SENDER, "MAIL_USERNAME": "shop"}, "set both"),
        (
            {
                "MAIL_SERVER": "smtp.example.com",
                "MAIL_FROM": SENDER,
                "MAIL_USERNAME": "shop",
                "MAIL_PASSWORD": "s3cret pass",
                "MAIL_USE_TLS": "false",
            },
            "MAIL_USE_TLS=false would send MAIL_PASSWORD unencrypted",
        ),
        (
            {
                "MAIL_SERVER": "smtp.example.com",
                "MAIL_FROM": SENDER,
                "MAIL_USERNAME": "shop",
                "MAIL_PASSWORD": "change-me",
            },
            "MAIL_PASSWORD still holds the placeholder",
        ),
    ],
)
def test_bad_mail_settings_stop_start_up_naming_the_setting(instance, env, message):
    with pytest.raises(ConfigError) as caught:
        load(instance, env)
    assert message in str(caught.value)
    assert "s3cret" not in str(caught.value)
