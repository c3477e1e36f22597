"""Instant Payment Notifications from the simulator, as Amazon sends them through Amazon SNS.

A tiny receiver (a Flask app on a loopback port) records every POST; each test checks what
arrived: the SNS envelope and headers, the IPN inside, the signature (verified here with
``cryptography`` against the certificate the simulator serves, independently of simulator/sns.py),
and the delivery log. Changes by time are notified without anyone reading the object: after
``POST /control/clock``, or by the background ticker alone. Retries and delays follow the
simulator's clock, so the tests advance it instead of sleeping.

Sources: https://developer.amazon.com/docs/amazon-pay-checkout/setting-up-instant-payment-notifications.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from flask import Flask, request

import simulator

USD_25 = {"amount": "25.00", "currencyCode": "USD"}
MERCHANT_ID = "A1SIMULATORMERCHANT"
TOPIC = f"arn:aws:sns:us-east-1:000000000000:amazon-pay-simulator-{MERCHANT_ID}"
CERT_PATH = "/sns/SimpleNotificationService-simulator.pem"
ENVELOPE_KEYS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "UnsubscribeURL",
]
MESSAGE_KEYS = [
    "MerchantID",
    "ObjectType",
    "ObjectId",
    "ChargePermissionId",
    "NotificationType",
    "NotificationId",
    "NotificationVersion",
]
SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Receiver:
    """The merchant's IPN endpoint: records what arrives, answers the statuses it is told to
    (then 200), and can be made to wait (``gate``) to prove the API does not."""

    def __init__(self, serve):
        self.arrived: list[dict] = []
        self.statuses: deque[int] = deque()
        self.gate = threading.Event()
        self.gate.set()
        self._condition = threading.Condition()
        app = Flask("ipn-receiver")

        @app.post("/ipn")
        def ipn():
            self.gate.wait(5)
            raw = request.get_data(as_text=True)
            with self._condition:
                self.arrived.append({"headers": dict(request.headers), "raw": raw, "envelope": json.loads(raw)})
                self._condition.notify_all()
            return "", self.statuses.popleft() if self.statuses else 200

        self.server, self.thread, port = serve(app)
        self.url = f"http://127.0.0.1:{port}/ipn"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.arrived) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.arrived)} IPNs arrived, expected {count}: {self.arrived}")
                self._condition.wait(left)
            return list(self.arrived)

    def quiet(self, count: int, seconds: float = 0.3) -> list[dict]:
        """Exactly ``count`` arrived, and no more come within ``seconds``."""
        time.sleep(seconds)
        assert len(self.arrived) == count, [message(a) for a in self.arrived]
        return list(self.arrived)

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def receiver(serve):
    found = Receiver(serve)
    yield found
    found.close()


@pytest.fixture(scope="module")
def certificate_cache() -> dict[str, x509.Certificate]:
    return {}


def configure(sim, url, **body) -> dict:
    response = requests.put(f"{sim.url}/control/ipn", json={"url": url, **body}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def settings(sim) -> dict:
    return requests.get(f"{sim.url}/control/ipn", timeout=5).json()


def deliveries(sim, count: int | None = None, timeout: float = 5.0) -> list[dict]:
    """The delivery log; with ``count``, once it has that many entries."""
    deadline = time.monotonic() + timeout
    while True:
        found = settings(sim)["deliveries"]
        if count is None or len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def faults(sim, *rules) -> None:
    response = requests.post(f"{sim.url}/control/ipn/faults", json={"rules": list(rules)}, timeout=5)
    assert response.status_code == 200, response.text


def send(sim, object_type="CHARGE", object_id="S01-0000000-0000000-C000001", **extra) -> requests.Response:
    body = {"objectType": object_type, "objectId": object_id, **extra}
    return requests.post(f"{sim.url}/control/ipn/send", json=body, timeout=5)


def message(arrival: dict) -> dict:
    return json.loads(arrival["envelope"]["Message"])


def about(arrival: dict) -> tuple[str, str]:
    body = message(arrival)
    return body["ObjectType"], body["ObjectId"]


def verifies(envelope: dict, certificate: x509.Certificate) -> bool:
    """SNS signature verification, written from AWS's page (not from simulator/sns.py)."""
    text = "".join(f"{name}\n{envelope[name]}\n" for name in SIGNED[envelope["Type"]] if name in envelope)
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}[envelope["SignatureVersion"]]
    try:
        certificate.public_key().verify(
            base64.b64decode(envelope["Signature"]), text.encode("utf-8"), padding.PKCS1v15(), algorithm
        )
    except InvalidSignature:
        return False
    return True


def served_certificate(sim) -> x509.Certificate:
    response = requests.get(f"{sim.url}{CERT_PATH}", timeout=5)
    assert response.status_code == 200
    return x509.load_pem_x509_certificate(response.content)


def pending_checkout(client, buyer, instrument: str) -> dict:
    session_id = buyer.ready_to_complete(pending=True, instrument=instrument)
    done = client.complete_checkout_session(session_id, {"chargeAmount": USD_25})
    assert done.status == 202
    return done.body


def checkout(client, buyer, intent="Authorize") -> dict:
    session_id = buyer.ready_to_complete(intent=intent)
    done = client.complete_checkout_session(session_id, {"chargeAmount": USD_25})
    assert done.status == 200
    return done.body


def api_requests(sim) -> dict:
    """API requests seen per operation (the fault counters count every request)."""
    return requests.get(f"{sim.url}/control/faults", timeout=5).json()["requests"]


# -- what arrives, and when -------------------------------------------------------------------


def test_pending_0701_notifies_initiated_then_authorized_without_a_read(sim, client, buyer, receiver):
    configure(sim, receiver.url)
    done = pending_checkout(client, buyer, "0701")
    cp_id, charge_id = done["chargePermissionId"], done["chargeId"]
    first = receiver.wait_for(2)
    assert [about(a) for a in first] == [("CHARGE_PERMISSION", cp_id), ("CHARGE", charge_id)]
    log = deliveries(sim, 2)
    assert [(d["objectType"], d["state"], d["outcome"], d["status"]) for d in log] == [
        ("CHARGE_PERMISSION", "Chargeable", "delivered", 200),
        ("CHARGE", "AuthorizationInitiated", "delivered", 200),
    ]

    sim.advance(31)  # the pending authorization resolves; nobody reads the charge
    arrivals = receiver.wait_for(3)
    assert about(arrivals[2]) == ("CHARGE", charge_id)
    assert deliveries(sim, 3)[2]["state"] == "Authorized"
    assert "GetCharge" not in api_requests(sim)
    assert client.get_charge(charge_id).body["statusDetails"]["state"] == "Authorized"  # the receiver's GET
    receiver.quiet(3)  # reading it changes nothing, so no further IPN


def test_pending_4354_declined_by_the_background_ticker_alone(sim, client, buyer, receiver):
    configure(sim, receiver.url)
    charge_id = pending_checkout(client, buyer, "4354")["chargeId"]
    receiver.wait_for(2)
    sim.clock.advance(31)  # no request at all: the ticker (every 0.5 s) finds the due transition
    arrivals = receiver.wait_for(3, timeout=3)
    assert about(arrivals[2]) == ("CHARGE", charge_id)
    assert deliveries(sim, 3)[2]["state"] == "Declined (HardDeclined)"
    assert "GetCharge" not in api_requests(sim)


def test_envelope_headers_and_signature_exactly(sim, client, buyer, receiver):
    configure(sim, receiver.url)
    done = checkout(client, buyer)
    arrival = receiver.wait_for(2)[1]
    envelope, headers = arrival["envelope"], arrival["headers"]
    assert list(envelope) == ENVELOPE_KEYS
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == TOPIC
    assert str(uuid.UUID(envelope["MessageId"])) == envelope["MessageId"]
    assert TIMESTAMP.match(envelope["Timestamp"])
    stamped = datetime.strptime(envelope["Timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(stamped - datetime.now(UTC)) < timedelta(minutes=5)
    assert envelope["SignatureVersion"] == "2"
    assert envelope["SigningCertURL"] == f"{sim.url}{CERT_PATH}"
    unsubscribe = urlsplit(envelope["UnsubscribeURL"])
    assert envelope["UnsubscribeURL"].startswith(f"{sim.url}/sns/unsubscribe?")
    query = parse_qs(unsubscribe.query)
    assert query["Action"] == ["Unsubscribe"] and query["SubscriptionArn"][0].startswith(TOPIC + ":")

    body = message(arrival)
    assert list(body) == MESSAGE_KEYS
    assert body == {
        "MerchantID": MERCHANT_ID,
        "ObjectType": "CHARGE",
        "ObjectId": done["chargeId"],
        "ChargePermissionId": done["chargePermissionId"],
        "NotificationType": "STATE_CHANGE",
        "NotificationId": body["NotificationId"],
        "NotificationVersion": "V2",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", body["NotificationId"])

    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert headers["X-Amz-Sns-Message-Type"] == "Notification"
    assert headers["X-Amz-Sns-Message-Id"] == envelope["MessageId"]
    assert headers["X-Amz-Sns-Topic-Arn"] == TOPIC
    assert headers["X-Amz-Sns-Subscription-Arn"] == query["SubscriptionArn"][0]

    certificate = x509.load_pem_x509_certificate(requests.get(envelope["SigningCertURL"], timeout=5).content)
    assert verifies(envelope, certificate)
    tampered = dict(envelope, Message=envelope["Message"].replace("CHARGE", "REFUND"))
    assert not verifies(tampered, certificate)


def test_signature_version_1_and_the_certificate(sim, client, buyer, receiver):
    configure(sim, receiver.url, signatureVersion="1")
    checkout(client, buyer)
    envelopes = [a["envelope"] for a in receiver.wait_for(2)]
    certificate = served_certificate(sim)
    assert [e["SignatureVersion"] for e in envelopes] == ["1", "1"]
    assert all(verifies(e, certificate) for e in envelopes)
    sha256 = dict(envelopes[0], SignatureVersion="2")  # the same signature is not an RSA-SHA256 one
    assert not verifies(sha256, certificate)

    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sns.amazonaws.com"
    assert certificate.issuer == certificate.subject  # self-signed
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    now = datetime.now(UTC)
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    # Made when the session's simulator first served (perhaps minutes ago), valid from a day before.
    assert now - timedelta(days=2) < start < now - timedelta(hours=23)
    assert timedelta(days=364) < end - start <= timedelta(days=366)


def test_capture_refund_and_cancel(sim, client, buyer, receiver):
    configure(sim, receiver.url)
    done = checkout(client, buyer)
    charge_id = done["chargeId"]
    receiver.wait_for(2)
    # A partial capture: one of the whole order amount would also close the Charge Permission (one more IPN).
    client.capture_charge(charge_id, {"captureAmount": {"amount": "20.00", "currencyCode": "USD"}})
    assert about(receiver.wait_for(3)[2]) == ("CHARGE", charge_id)
    refund = client.create_refund({"chargeId": charge_id, "refundAmount": {"amount": "5.00", "currencyCode": "USD"}})
    refund_id = refund.body["refundId"]
    arrival = receiver.wait_for(4)[3]
    assert about(arrival) == ("REFUND", refund_id)
    assert message(arrival)["ChargePermissionId"] == done["chargePermissionId"]
    sim.advance(31)
    assert about(receiver.wait_for(5)[4]) == ("REFUND", refund_id)

    other = checkout(client, buyer)
    receiver.wait_for(7)
    client.cancel_charge(other["chargeId"], {"cancellationReason": "out of stock"})
    assert about(receiver.wait_for(8)[7]) == ("CHARGE", other["chargeId"])
    states = [(d["objectType"], d["state"]) for d in deliveries(sim, 8)]
    assert states == [
        ("CHARGE_PERMISSION", "Chargeable"),
        ("CHARGE", "Authorized"),
        ("CHARGE", "Captured"),
        ("REFUND", "RefundInitiated"),
        ("REFUND", "Refunded"),
        ("CHARGE_PERMISSION", "Chargeable"),
        ("CHARGE", "Authorized"),
        ("CHARGE", "Canceled (MerchantCanceled)"),
    ]
    receiver.quiet(8)


def test_charge_permission_status_changes(sim, client, buyer, receiver):
    configure(sim, receiver.url)
    cp_id = checkout(client, buyer, intent="Confirm")["chargePermissionId"]
    assert about(receiver.wait_for(1)[0]) == ("CHARGE_PERMISSION", cp_id)
    control = f"{sim.url}/control/charge-permissions/{cp_id}/status"
    requests.post(control, json={"state": "NonChargeable", "reason": "PaymentMethodExpired"}, timeout=5)
    requests.post(control, json={"state": "Chargeable"}, timeout=5)
    client.close_charge_permission(cp_id, {"closureReason": "done"})
    arrivals = receiver.wait_for(4)
    assert {about(a) for a in arrivals} == {("CHARGE_PERMISSION", cp_id)}
    assert all(message(a)["ChargePermissionId"] == cp_id for a in arrivals)
    assert [d["state"] for d in deliveries(sim, 4)] == [
        "Chargeable",
        "NonChargeable (PaymentMethodExpired)",
        "Chargeable",
        "Closed (MerchantClosed)",
    ]


def test_the_api_never_waits_for_delivery(sim, client, buyer, receiver):
    configure(sim, receiver.url)
    receiver.gate.clear()  # the receiver hangs
    session_id = buyer.ready_to_complete()
    started = time.monotonic()
    assert client.complete_checkout_session(session_id, {"chargeAmount": USD_25}).status == 200
    assert time.monotonic() - started < 1
    receiver.gate.set()
    receiver.wait_for(2)


def test_environments_and_settings(sim, client, buyer, receiver):
    assert settings(sim)["environments"] == {
        "Sandbox": {"url": None, "signatureVersion": "2", "source": "setting"},
        "Live": {"url": None, "signatureVersion": "2", "source": "setting"},
    }
    checkout(client, buyer)  # no IPN URL: nothing is sent
    live = configure(sim, receiver.url, environment="Live")
    assert live["environments"]["Live"] == {"url": receiver.url, "signatureVersion": "2", "source": "control"}
    assert live["environments"]["Sandbox"]["url"] is None
    assert (live["merchantId"], live["topicArn"]) == (MERCHANT_ID, TOPIC)
    checkout(client, buyer)  # a Sandbox checkout: the Live endpoint hears nothing
    receiver.quiet(0)
    assert deliveries(sim) == []

    configure(sim, receiver.url, environment="Sandbox")
    cp_id = checkout(client, buyer)["chargePermissionId"]
    assert message(receiver.wait_for(1)[0])["ChargePermissionId"] == cp_id

    for bad in (
        {"url": "ftp://shop.test/ipn"},
        {"url": "/amazon-pay/ipn"},
        {"url": 7},
        {"url": "http://shop.test:99999/ipn"},
        {"url": None, "environment": "Production"},
        {"url": None, "signatureVersion": "3"},
        {"url": None, "extra": 1},
        {},
    ):
        answer = requests.put(f"{sim.url}/control/ipn", json=bad, timeout=5)
        assert answer.status_code == 400, (bad, answer.text)
    assert requests.post(f"{sim.url}/control/reset", timeout=5).json() == {"reset": True}
    after = settings(sim)
    assert after["environments"]["Sandbox"]["url"] is None and after["deliveries"] == []


def test_the_environment_setting_applies_to_both(monkeypatch, keys_dir):
    monkeypatch.setenv("AMAZON_PAY_SIMULATOR_IPN_URL", "http://127.0.0.1:9/amazon-pay/ipn")
    monkeypatch.setenv("AMAZON_PAY_SIMULATOR_MERCHANT_ID", "A3OTHERMERCHANT")
    app = simulator.create_app({"SIMULATOR_KEYS_DIR": str(keys_dir), "SIMULATOR_PUBLIC_URL": "http://sim.test:5001"})
    answer = app.test_client().get("/control/ipn").get_json()
    assert {env: value["url"] for env, value in answer["environments"].items()} == {
        "Sandbox": "http://127.0.0.1:9/amazon-pay/ipn",
        "Live": "http://127.0.0.1:9/amazon-pay/ipn",
    }
    assert answer["topicArn"] == "arn:aws:sns:us-east-1:000000000000:amazon-pay-simulator-A3OTHERMERCHANT"
    assert answer["signingCertUrl"] == f"http://sim.test:5001{CERT_PATH}"


# -- retries ------------------------------------------------------------------------------------


def test_a_failing_endpoint_is_retried_by_the_simulator_clock_then_succeeds(sim, receiver):
    configure(sim, receiver.url)
    receiver.statuses.extend([500, 503])
    assert send(sim).status_code == 202
    assert [d["outcome"] for d in deliveries(sim, 1)] == ["retrying"]  # logged once the retry is scheduled
    receiver.quiet(1)  # the retry waits for the clock: 1 s later
    sim.advance(1)
    deliveries(sim, 2)
    sim.advance(2)
    arrivals = receiver.wait_for(3)
    assert len({a["raw"] for a in arrivals}) == 1  # the same message, signature and all
    log = deliveries(sim, 3)
    assert [(d["attempt"], d["status"], d["outcome"]) for d in log] == [
        (1, 500, "retrying"),
        (2, 503, "retrying"),
        (3, 200, "delivered"),
    ]
    sim.advance(10)
    receiver.quiet(3)


def test_retries_are_bounded(sim, receiver):
    configure(sim, receiver.url)
    receiver.statuses.extend([500] * 10)
    send(sim)
    for count, seconds in ((1, 1), (2, 2), (3, 4), (4, 8)):
        assert len(deliveries(sim, count)) == count  # logged once the retry is scheduled
        sim.advance(seconds)
    receiver.quiet(4)
    assert [(d["attempt"], d["outcome"]) for d in deliveries(sim)] == [
        (1, "retrying"),
        (2, "retrying"),
        (3, "retrying"),
        (4, "failed"),
    ]


def test_an_unreachable_endpoint_is_not_retried(sim):
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configure(sim, f"http://127.0.0.1:{port}/ipn")
    assert send(sim).status_code == 202
    first = deliveries(sim, 1)
    assert [(d["attempt"], d["status"], d["outcome"]) for d in first] == [(1, None, "unreachable")]
    assert "ConnectionRefused" in first[0]["error"]
    sim.advance(60)
    time.sleep(0.2)
    assert len(deliveries(sim)) == 1


# -- test controls: send, subscribe, faults -----------------------------------------------------


def test_send_on_demand_known_and_unknown(sim, client, buyer, receiver):
    assert send(sim).status_code == 409  # no IPN URL yet
    configure(sim, receiver.url)
    unknown = send(sim, "REFUND", "S01-1234567-7654321-R000001")
    assert unknown.status_code == 202 and unknown.json()["environment"] == "Sandbox"
    made_up = send(sim, "CHARGEBACK", "chargeback-1", environment="Sandbox", chargePermissionId="S01-1-2")
    assert made_up.status_code == 202
    arrivals = receiver.wait_for(2)
    assert message(arrivals[0])["ChargePermissionId"] == "S01-1234567-7654321"
    assert (message(arrivals[1])["ObjectType"], message(arrivals[1])["ChargePermissionId"]) == ("CHARGEBACK", "S01-1-2")

    done = checkout(client, buyer)
    receiver.wait_for(4)
    again = send(sim, "CHARGE", done["chargeId"])
    assert again.json()["message"]["ChargePermissionId"] == done["chargePermissionId"]
    assert about(receiver.wait_for(5)[4]) == ("CHARGE", done["chargeId"])
    for bad in ({"objectType": "ORDER", "objectId": "x"}, {"objectType": "CHARGE"}, {"objectId": "x"}):
        assert requests.post(f"{sim.url}/control/ipn/send", json=bad, timeout=5).status_code == 400
    assert send(sim, "CHARGE", "a/b").status_code == 400


def test_subscription_confirmation(sim, receiver):
    configure(sim, receiver.url)
    answer = requests.post(f"{sim.url}/control/ipn/subscribe", json={}, timeout=5)
    assert answer.status_code == 202
    arrival = receiver.wait_for(1)[0]
    envelope, headers = arrival["envelope"], arrival["headers"]
    assert headers["X-Amz-Sns-Message-Type"] == "SubscriptionConfirmation"
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert list(envelope) == [
        "Type",
        "MessageId",
        "Token",
        "TopicArn",
        "Message",
        "SubscribeURL",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ]
    assert envelope["Type"] == "SubscriptionConfirmation" and envelope["TopicArn"] == TOPIC
    assert envelope["Token"] == answer.json()["token"]
    assert verifies(envelope, served_certificate(sim))
    subscribe_url = envelope["SubscribeURL"]
    assert subscribe_url.startswith(f"{sim.url}/sns/confirm-subscription?Action=ConfirmSubscription&")
    assert settings(sim)["subscriptions"][0]["confirmedAt"] is None

    confirmed = requests.get(subscribe_url, timeout=5)
    assert confirmed.status_code == 200 and "<SubscriptionArn>" in confirmed.text
    assert settings(sim)["subscriptions"][0]["confirmedAt"] is not None
    bad = requests.get(f"{sim.url}/sns/confirm-subscription?Action=ConfirmSubscription&Token=nope", timeout=5)
    assert bad.status_code == 400


def test_unsubscribe_url_stops_notifications(sim, receiver):
    configure(sim, receiver.url)
    send(sim)
    envelope = receiver.wait_for(1)[0]["envelope"]
    assert requests.get(envelope["UnsubscribeURL"], timeout=5).status_code == 200
    assert settings(sim)["environments"]["Sandbox"]["url"] is None
    assert send(sim).status_code == 409
    assert requests.get(f"{sim.url}/sns/unsubscribe?Action=Unsubscribe&SubscriptionArn=x", timeout=5).status_code == 404


def test_fault_duplicate(sim, receiver):
    configure(sim, receiver.url)
    faults(sim, {"kind": "duplicate"})
    send(sim, object_id="S01-0000000-0000000-C000001")
    send(sim, object_id="S01-0000000-0000000-C000002")
    arrivals = receiver.wait_for(3)
    assert arrivals[0]["raw"] == arrivals[1]["raw"]  # the same MessageId twice
    assert about(arrivals[2])[1].endswith("C000002")
    receiver.quiet(3)
    assert [(d["fault"], d["duplicate"]) for d in deliveries(sim)] == [
        ("duplicate", False),
        ("duplicate", True),
        (None, False),
    ]


def test_fault_delay_follows_the_simulator_clock(sim, receiver):
    configure(sim, receiver.url)
    faults(sim, {"kind": "delay", "seconds": 20})
    send(sim)
    receiver.quiet(0)
    sim.advance(20)
    receiver.wait_for(1)
    assert deliveries(sim, 1)[0]["fault"] == "delay"


def test_fault_reorder_holds_one_back_until_after_the_next(sim, receiver):
    configure(sim, receiver.url)
    faults(sim, {"kind": "reorder"})
    send(sim, object_id="S01-0000000-0000000-C000001")
    receiver.quiet(0)
    send(sim, object_id="S01-0000000-0000000-C000002")
    arrivals = receiver.wait_for(2)
    assert [about(a)[1][-7:] for a in arrivals] == ["C000002", "C000001"]


def test_fault_reorder_lets_go_after_a_while(sim, receiver):
    configure(sim, receiver.url)
    faults(sim, {"kind": "reorder"})
    send(sim)
    receiver.quiet(0, seconds=0.1)
    sim.advance(30)
    receiver.wait_for(1)


def test_fault_drop(sim, client, buyer, receiver):
    configure(sim, receiver.url)
    faults(sim, {"kind": "drop", "objectType": "CHARGE", "times": 2})
    checkout(client, buyer)
    send(sim)
    send(sim)
    arrivals = receiver.wait_for(2)
    assert [about(a)[0] for a in arrivals] == ["CHARGE_PERMISSION", "CHARGE"]
    receiver.quiet(2)
    assert [d["outcome"] for d in deliveries(sim)].count("dropped") == 2
    rules = requests.get(f"{sim.url}/control/ipn/faults", timeout=5).json()["rules"]
    assert rules[0]["applied"] == 2
    assert requests.delete(f"{sim.url}/control/ipn/faults", timeout=5).json() == {"rules": []}


@pytest.mark.parametrize(
    "variant", ["bad-signature", "foreign-cert-host", "http-cert-url", "signature-version-1", "wrong-topic"]
)
def test_fault_forge(sim, receiver, variant):
    configure(sim, receiver.url)
    faults(sim, {"kind": "forge", "variant": variant})
    send(sim)
    send(sim)  # the rule is used up: the next one is genuine
    forged, genuine = (a["envelope"] for a in receiver.wait_for(2))
    certificate = served_certificate(sim)
    assert verifies(genuine, certificate)
    assert (genuine["SignatureVersion"], genuine["TopicArn"]) == ("2", TOPIC)
    assert genuine["SigningCertURL"] == f"{sim.url}{CERT_PATH}"
    if variant == "bad-signature":
        assert not verifies(forged, certificate)
    else:
        assert verifies(forged, certificate)  # correctly signed; what is wrong is elsewhere
    if variant == "foreign-cert-host":
        assert forged["SigningCertURL"] == "https://evil.example/cert.pem"
    if variant == "http-cert-url":
        assert forged["SigningCertURL"] == f"http://sns.us-east-1.amazonaws.com{CERT_PATH}"
    if variant == "signature-version-1":
        assert forged["SignatureVersion"] == "1"
    if variant == "wrong-topic":
        assert forged["TopicArn"] != TOPIC and forged["TopicArn"].startswith("arn:aws:sns:")
    assert deliveries(sim, 2)[0]["fault"] == f"forge:{variant}"


def test_fault_rules_are_checked(sim):
    for bad in (
        {"rules": [{"kind": "explode"}]},
        {"rules": [{"kind": "delay"}]},
        {"rules": [{"kind": "forge", "variant": "nope"}]},
        {"rules": [{"kind": "drop", "times": 0}]},
        {"rules": [{"kind": "drop", "seconds": 1}]},
        {"rules": [{"kind": "drop", "objectType": "ORDER"}]},
        {"rules": "drop"},
        {},
    ):
        answer = requests.post(f"{sim.url}/control/ipn/faults", json=bad, timeout=5)
        assert answer.status_code == 400, (bad, answer.text)
