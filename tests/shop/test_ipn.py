"""Instant Payment Notifications at the shop's endpoint, POST /amazon-pay/ipn: a genuine SNS
message (SignatureVersion 1 or 2) makes the shop read the object from Amazon and settle the
order; anything else is refused with a 400 and changes nothing; duplicates, late and
out-of-order deliveries change nothing twice; never a 500.

The SNS side is played here: a test signing key and certificate, served on a loopback origin
that the shop trusts as it trusts the simulator's (simulator mode only). Sources: AWS's
message format and verification steps,
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html and
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html; Amazon Pay's
IPN message, https://developer.amazon.com/docs/amazon-pay-checkout/setting-up-instant-payment-notifications.html.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from flask import Flask

import shop
from shop.amazon_pay.ipn import string_to_sign
from shop.lifecycle import orders

pytestmark = pytest.mark.both_databases

TOPIC = "arn:aws:sns:us-east-1:000000000000:amazon-pay-test"


def certificate(key: rsa.RSAPrivateKey, days: int = 365, start: int = -1) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start))
        .not_valid_after(now + timedelta(days=start + days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Sns:
    """A stand-in for Amazon SNS: signs notifications, serves its certificates."""

    origin: str
    key: rsa.RSAPrivateKey
    subscribed: list = field(default_factory=list)

    def envelope(
        self,
        message: dict,
        version: str = "2",
        cert: str = "good.pem",
        topic: str = TOPIC,
        kind: str = "Notification",
        key: rsa.RSAPrivateKey | None = None,
        **extra,
    ) -> dict:
        envelope = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": json.dumps(message),
            "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "SignatureVersion": version,
            "SigningCertURL": cert if cert.startswith("http") else f"{self.origin}/{cert}",
            **extra,
        }
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(string_to_sign(envelope), padding.PKCS1v15(), digest)
        envelope["Signature"] = base64.b64encode(signature).decode()
        return envelope


@pytest.fixture(scope="module")
def sns(serve) -> Sns:
    key, stranger = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    app = Flask("sns")
    certs = {
        "good.pem": certificate(key),
        "expired.pem": certificate(key, days=2, start=-10),
        "foreign.pem": certificate(stranger),
    }
    found = Sns("", key)

    @app.get("/<name>")
    def cert(name):
        return certs[name] if name in certs else ("", 404)

    @app.get("/subscribe")
    def subscribe():
        found.subscribed.append(True)
        return "<ConfirmSubscriptionResponse/>"

    _server, _thread, port = serve(app)
    found.origin = f"http://127.0.0.1:{port}"
    return found


def ipn_message(object_type: str, object_id: str, charge_permission_id: str = "", notification_id: str = "") -> dict:
    return {
        "MerchantID": "A1TESTMERCHANT00",
        "ObjectType": object_type,
        "ObjectId": object_id,
        "ChargePermissionId": charge_permission_id,
        "NotificationType": "STATE_CHANGE",
        "NotificationId": notification_id or uuid.uuid4().hex,
        "NotificationVersion": "V2",
    }


@pytest.fixture
def ipn_shop(client, tmp_path, shop_config, sns):
    return shop.create_app(
        shop_config(client, tmp_path, AMAZON_PAY_IPN_CERT_ORIGIN=sns.origin, AMAZON_PAY_IPN_TOPICS=(TOPIC,))
    )


def post(app, envelope: dict | bytes):
    body = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    return app.test_client().post(
        "/amazon-pay/ipn",
        data=body,
        headers={"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"},
    )


def pending_order(app, make_shop_buyer, instrument: str = "0701") -> orders.Order:
    buyer = make_shop_buyer(app)
    buyer.add()
    review = buyer.click_amazon_pay(instrument=instrument)
    buyer.web.get(buyer.pay_at_amazon(buyer.place_order(review).headers["Location"]))
    with app.app_context():
        return orders.by_checkout_session(review.split("=")[1].lower())


def order_now(app, reference: str) -> orders.Order:
    with app.app_context():
        return orders.by_reference(reference)


def history(app, order) -> list[str]:
    with app.app_context():
        return [event.detail for event in orders.events(order)]


@pytest.mark.parametrize(("instrument", "final"), [("0701", "paid"), ("4354", "failed")])
@pytest.mark.parametrize("version", ["1", "2"])
def test_a_pending_payment_is_settled_by_its_ipn(ipn_shop, make_shop_buyer, sns, sim, version, instrument, final):
    order = pending_order(ipn_shop, make_shop_buyer, instrument)
    assert order.status == "pending"
    sim.advance(31)  # Amazon decides
    answer = post(ipn_shop, sns.envelope(ipn_message("CHARGE", order.charge_id, order.charge_permission_id), version))
    assert answer.status_code == 200 and answer.json["status"] == "handled"
    settled = order_now(ipn_shop, order.reference)
    assert settled.status == final
    assert any("(Instant Payment Notification)" in line for line in history(ipn_shop, settled))


def refused(app, envelope) -> str:
    answer = post(app, envelope)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    return answer.json["error"]


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("tampered message", "does not verify"),
        ("foreign certificate", "does not verify"),
        ("expired certificate", "not valid now"),
        ("wrong certificate host", "sns.<region>.amazonaws.com"),
        ("http certificate URL", "sns.<region>.amazonaws.com"),
        ("not a .pem", "sns.<region>.amazonaws.com"),
        ("wrong topic", "not one this shop expects"),
        ("signature version 3", "not 1 or 2"),
    ],
)
def test_a_message_that_is_not_genuine_is_refused_and_changes_nothing(
    ipn_shop, make_shop_buyer, sns, sim, how, expected
):
    order = pending_order(ipn_shop, make_shop_buyer)
    sim.advance(31)
    message = ipn_message("CHARGE", order.charge_id)
    envelope = {
        "tampered message": lambda: {**sns.envelope(message), "Message": json.dumps({**message, "ObjectId": "x"})},
        "foreign certificate": lambda: sns.envelope(message, cert="foreign.pem"),
        "expired certificate": lambda: sns.envelope(message, cert="expired.pem"),
        "wrong certificate host": lambda: sns.envelope(
            message, cert="https://evil.example/SimpleNotificationService-1.pem"
        ),
        "http certificate URL": lambda: sns.envelope(
            message, cert="http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem"
        ),
        "not a .pem": lambda: sns.envelope(message, cert="https://sns.us-east-1.amazonaws.com/cert.txt"),
        "wrong topic": lambda: sns.envelope(message, topic="arn:aws:sns:us-east-1:666666666666:someone-else"),
        "signature version 3": lambda: {**sns.envelope(message), "SignatureVersion": "3"},
    }[how]()
    assert expected in refused(ipn_shop, envelope)
    assert order_now(ipn_shop, order.reference).status == "pending"


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"Type": "Notification"}', b"\xff\xfe", b"{" * 5000])
def test_junk_is_a_400_never_a_500(ipn_shop, body):
    assert post(ipn_shop, body).status_code == 400


def test_the_simulators_certificate_origin_is_never_trusted_outside_simulator_mode(client, tmp_path, shop_config, sns):
    sandbox = shop.create_app(
        shop_config(client, tmp_path, AMAZON_PAY_MODE="sandbox", AMAZON_PAY_IPN_CERT_ORIGIN=sns.origin)
    )
    message = ipn_message("CHARGE", "S01-0000000-0000000-C000000")
    assert "sns.<region>.amazonaws.com" in refused(sandbox, sns.envelope(message))


def test_duplicates_and_late_deliveries_change_nothing_twice(ipn_shop, make_shop_buyer, sns, sim):
    order = pending_order(ipn_shop, make_shop_buyer)
    sim.advance(31)
    first = sns.envelope(ipn_message("CHARGE", order.charge_id, notification_id="n-1"))
    assert post(ipn_shop, first).json["status"] == "handled"
    assert post(ipn_shop, first).json["status"] == "duplicate"  # SNS delivers at least once
    late = sns.envelope(ipn_message("CHARGE", order.charge_id, notification_id="n-0"))  # an older change, late
    assert post(ipn_shop, late).json["status"] == "handled"
    settled = order_now(ipn_shop, order.reference)
    assert settled.status == "paid"
    assert sum("(Instant Payment Notification)" in line for line in history(ipn_shop, settled)) == 1


def test_an_ipn_for_an_object_the_shop_does_not_know_is_a_200(ipn_shop, sns, caplog):
    answer = post(ipn_shop, sns.envelope(ipn_message("CHARGE", "S01-0000000-0000000-C999999")))
    assert answer.status_code == 200 and answer.json["status"] == "not read"
    assert "IPN" in caplog.text


def test_a_subscription_is_confirmed_only_for_an_expected_topic(ipn_shop, sns):
    sns.subscribed.clear()
    for topic in ("arn:aws:sns:us-east-1:666666666666:someone-else", TOPIC):
        envelope = sns.envelope(
            {"text": "You have chosen to subscribe"},
            kind="SubscriptionConfirmation",
            topic=topic,
            SubscribeURL=f"{sns.origin}/subscribe",
            Token="t0ken",
        )
        envelope["Message"] = "You have chosen to subscribe to the topic."
        envelope["Signature"] = base64.b64encode(
            sns.key.sign(string_to_sign(envelope), padding.PKCS1v15(), hashes.SHA256())
        ).decode()
        answer = post(ipn_shop, envelope)
        assert answer.status_code in (200, 400)
    assert sns.subscribed == [True]  # the expected topic only (the other is refused by the allow-list)


@pytest.mark.slow
def test_a_burst_of_a_thousand_notifications_one_change_per_real_change(ipn_shop, make_shop_buyer, sns, sim):
    placed = [pending_order(ipn_shop, make_shop_buyer) for _ in range(5)]
    sim.advance(31)
    answers = []
    for i in range(1000):
        order = placed[i % len(placed)]
        # Every change notified many times: duplicates (same id) and fresh ids for the same news.
        notification_id = f"burst-{order.reference}-{i % 40}"
        answers.append(
            post(ipn_shop, sns.envelope(ipn_message("CHARGE", order.charge_id, notification_id=notification_id)))
        )
    assert {answer.status_code for answer in answers} == {200}
    for order in placed:
        settled = order_now(ipn_shop, order.reference)
        assert settled.status == "paid"
        assert sum("(Instant Payment Notification)" in line for line in history(ipn_shop, settled)) == 1


def test_the_simulators_ipn_settles_a_pending_order_with_no_reload_and_no_reconcile(
    client, tmp_path, shop_config, make_shop_buyer, sim, serve
):
    """End to end: the simulator, like Amazon, POSTs a signed SNS notification to the shop's
    endpoint when the pending charge is decided; the shop verifies it (the simulator's
    certificate, trusted in simulator mode only) and settles the order."""
    import time

    import requests

    app = shop.create_app(shop_config(client, tmp_path))
    _server, _thread, port = serve(app)
    ipn_url = f"http://127.0.0.1:{port}/amazon-pay/ipn"
    assert requests.put(f"{sim.url}/control/ipn", json={"url": ipn_url}, timeout=5).status_code == 200
    order = pending_order(app, make_shop_buyer)
    assert order.status == "pending"
    sim.advance(31)  # Amazon decides; nobody reads the charge
    deadline = time.monotonic() + 10
    while order_now(app, order.reference).status == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
    settled = order_now(app, order.reference)
    assert settled.status == "paid"
    assert any("(Instant Payment Notification)" in line for line in history(app, settled))
    # The simulator logs a delivery once the shop's answer is back, a moment after the order changed.
    deliveries = []
    while not deliveries and time.monotonic() < deadline + 5:
        deliveries = requests.get(f"{sim.url}/control/ipn", timeout=5).json()["deliveries"]
        time.sleep(0.05)
    assert deliveries and {d["status"] for d in deliveries} == {200}


def test_a_dropped_ipn_is_made_up_for_by_the_reconcile_pass(client, tmp_path, shop_config, make_shop_buyer, sim, serve):
    """SNS may never deliver: the simulator drops the notification, and the reconcile pass settles
    the order all the same (the IPN is a shortcut, never the only way)."""
    import time

    import requests

    from shop.lifecycle import jobs

    app = shop.create_app(shop_config(client, tmp_path))
    _server, _thread, port = serve(app)
    requests.put(f"{sim.url}/control/ipn", json={"url": f"http://127.0.0.1:{port}/amazon-pay/ipn"}, timeout=5)
    answer = requests.post(f"{sim.url}/control/ipn/faults", json={"rules": [{"kind": "drop", "times": 50}]}, timeout=5)
    assert answer.status_code == 200, answer.text  # every notification of this test is lost
    order = pending_order(app, make_shop_buyer)
    sim.advance(31)
    time.sleep(1.0)  # what would have been delivered by now was dropped
    assert order_now(app, order.reference).status == "pending"
    with app.app_context():
        jobs.one_pass()
    settled = order_now(app, order.reference)
    assert settled.status == "paid" and any("(reconcile)" in line for line in history(app, settled))
