"""AmazonPayClient on its own: URLs, headers, retries, timeouts, logging, configuration errors.

A scripted loopback server stands in for Amazon and records every attempt, so the tests
see exactly what went over the wire.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, request

from shop.amazon_pay import AmazonPayClient, AmazonPayError


class ScriptedAmazon:
    """Answers each request with the next scripted (status, body, headers, delay)."""

    def __init__(self):
        self.script: list[tuple[int, object, dict, float]] = []
        self.seen: list[dict] = []
        app = Flask("scripted")

        @app.route("/<path:path>", methods=["GET", "POST", "PATCH", "DELETE"])
        def answer(path):
            self.seen.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "raw_uri": request.environ.get("RAW_URI"),
                    "headers": dict(request.headers),
                    "body": request.get_data(),
                }
            )
            status, body, headers, delay = self.script.pop(0) if self.script else (200, {}, {}, 0)
            if delay:
                threading.Event().wait(delay)  # not time.sleep: tests record urllib3's sleeps
            text = body if isinstance(body, str) else json.dumps(body)
            return text, status, {"content-type": "application/json", "x-amz-pay-request-id": "req-1", **headers}

        self.app = app

    def then(self, status, body=None, headers=None, delay=0.0):
        self.script.append((status, {} if body is None else body, headers or {}, delay))
        return self


@pytest.fixture
def amazon(serve):
    fake = ScriptedAmazon()
    server, thread, port = serve(fake.app)
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    server.shutdown()
    thread.join(5)


@pytest.fixture
def sleeps(monkeypatch):
    """The back-off pauses urllib3 asks for, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", recorded.append)
    return recorded


def make_client(private_pem, endpoint=None, key_id="SANDBOX-TESTKEY0000000000000000A", **options):
    return AmazonPayClient(key_id, private_pem, options.pop("region", "us"), endpoint=endpoint, **options)


# -- URLs and headers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_id", "region", "sandbox", "base_url", "amz_region"),
    [
        ("SANDBOX-AAAAAAAAAAAAAAAAAAAAAAAA", "us", True, "https://pay-api.amazon.com/v2", "na"),
        ("LIVE-AAAAAAAAAAAAAAAAAAAAAAAA", "uk", False, "https://pay-api.amazon.eu/v2", "eu"),
        ("AAAAAAAAAAAAAAAAAAAAAAAA", "de", True, "https://pay-api.amazon.eu/sandbox/v2", "eu"),
        ("AAAAAAAAAAAAAAAAAAAAAAAA", "jp", False, "https://pay-api.amazon.jp/live/v2", "jp"),
        ("AAAAAAAAAAAAAAAAAAAAAAAA", "NA", True, "https://pay-api.amazon.com/sandbox/v2", "na"),
    ],
)
def test_regional_hosts_and_environment_segment(private_pem, key_id, region, sandbox, base_url, amz_region):
    client = AmazonPayClient(key_id, private_pem, region, sandbox=sandbox)
    assert client.base_url == base_url
    assert client.amz_region == amz_region


def test_post_sends_signed_amazon_headers_and_a_generated_idempotency_key(amazon, private_pem):
    amazon.then(201, {"checkoutSessionId": "cs-1"})
    response = make_client(private_pem, amazon.url).create_checkout_session({"storeId": "s"})
    assert (response.status, response.body, response.request_id, response.retries) == (
        201,
        {"checkoutSessionId": "cs-1"},
        "req-1",
        0,
    )
    sent = {k.lower(): v for k, v in amazon.seen[0]["headers"].items()}
    assert amazon.seen[0]["path"] == "/v2/checkoutSessions"
    assert re.fullmatch(r"\d{8}T\d{6}Z", sent["x-amz-pay-date"])
    assert sent["x-amz-pay-host"] == amazon.url.removeprefix("http://")
    assert sent["x-amz-pay-region"] == "na"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", sent["x-amz-pay-idempotency-key"])
    assert "x-amz-pay-idempotency-key;x-amz-pay-region" in sent["authorization"]
    assert amazon.seen[0]["body"] == b'{"storeId":"s"}'


def test_callers_idempotency_key_is_used_and_validated(amazon, private_pem):
    client = make_client(private_pem, amazon.url)
    client.complete_checkout_session("cs-1", {"chargeAmount": {}}, idempotency_key="order-42-complete")
    assert amazon.seen[0]["headers"]["X-Amz-Pay-Idempotency-Key"] == "order-42-complete"
    with pytest.raises(ValueError, match="idempotency_key"):
        client.create_charge({}, idempotency_key="has spaces and is far too long for Amazon's limit")
    assert len(amazon.seen) == 1  # the bad key never left the shop


def test_get_has_no_idempotency_key_and_no_body(amazon, private_pem):
    make_client(private_pem, amazon.url).get_checkout_session("cs-1")
    assert "X-Amz-Pay-Idempotency-Key" not in amazon.seen[0]["headers"]
    assert amazon.seen[0]["body"] == b""


def test_object_ids_cannot_escape_their_path_segment(amazon, private_pem):
    make_client(private_pem, amazon.url).get_checkout_session("../charges/x?y=1")
    # '/' and '?' stay encoded: the id remains one segment of the checkoutSessions path
    assert amazon.seen[0]["raw_uri"].startswith("/v2/checkoutSessions/..%2Fcharges%2Fx%3Fy")


# -- retries and timeouts -----------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retries_resend_the_same_signed_request(amazon, private_pem, sleeps, status):
    amazon.then(status).then(status).then(201, {"chargeId": "c-1"})
    response = make_client(private_pem, amazon.url).create_charge({"chargePermissionId": "cp"})
    assert response.status == 201 and response.retries == 2
    keys = {attempt["headers"]["X-Amz-Pay-Idempotency-Key"] for attempt in amazon.seen}
    signatures = {attempt["headers"]["Authorization"] for attempt in amazon.seen}
    assert len(amazon.seen) == 3 and len(keys) == 1 and len(signatures) == 1


def test_backoff_is_exponential_and_gives_up_after_three_retries(amazon, private_pem, sleeps):
    for _ in range(4):
        amazon.then(503, {"reasonCode": "ServiceUnavailable", "message": "try later"})
    with pytest.raises(AmazonPayError) as caught:
        make_client(private_pem, amazon.url, backoff_factor=1.0).create_refund({"chargeId": "c"})
    assert (caught.value.status, caught.value.reason_code, caught.value.retries) == (503, "ServiceUnavailable", 3)
    assert len(amazon.seen) == 4
    assert sleeps == [2.0, 4.0]  # urllib3: no pause before the first retry, then factor * 2^(n-1)


def test_retry_after_is_honoured(amazon, private_pem, sleeps):
    amazon.then(429, {"reasonCode": "TooManyRequests", "message": "slow down"}, {"Retry-After": "3"}).then(200)
    response = make_client(private_pem, amazon.url, backoff_factor=0).get_charge("c-1")
    assert response.retries == 1 and sleeps == [3]


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_client_errors_are_not_retried(amazon, private_pem, status):
    amazon.then(status, {"reasonCode": "Something", "message": "no"})
    with pytest.raises(AmazonPayError) as caught:
        make_client(private_pem, amazon.url).update_checkout_session("cs", {})
    assert caught.value.status == status and len(amazon.seen) == 1


def test_read_timeout_is_retried_then_reported(amazon, private_pem, sleeps):
    amazon.then(200, delay=0.5).then(200, delay=0.5)
    client = make_client(private_pem, amazon.url, timeout=(1.0, 0.1), max_retries=1)
    with pytest.raises(AmazonPayError) as caught:
        client.complete_checkout_session("cs", {"chargeAmount": {}}, idempotency_key="same-key")
    assert (caught.value.status, caught.value.reason_code, caught.value.retries) == (None, "RequestTimeout", 1)
    deadline = time.time() + 2
    while len(amazon.seen) < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert [a["headers"]["X-Amz-Pay-Idempotency-Key"] for a in amazon.seen] == ["same-key", "same-key"]


def test_connection_refused_is_reported_without_a_status(private_pem, sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(private_pem, f"http://127.0.0.1:{port}", max_retries=2)
    with pytest.raises(AmazonPayError) as caught:
        client.get_charge("c-1")
    assert (caught.value.status, caught.value.reason_code, caught.value.retries) == (None, "ConnectionError", 2)


def test_non_json_error_body_still_raises_amazon_pay_error(amazon, private_pem):
    amazon.then(502, "<html>Bad Gateway</html>").then(502, "<html>Bad Gateway</html>")
    with pytest.raises(AmazonPayError) as caught:
        make_client(private_pem, amazon.url, max_retries=1, backoff_factor=0).get_charge("c-1")
    assert caught.value.status == 502 and caught.value.reason_code is None


# -- logging -------------------------------------------------------------------------------


def test_logs_say_what_happened_but_hold_no_secret_or_personal_data(amazon, private_pem, caplog):
    buyer = {
        "buyer": {"name": "Jane Doe", "email": "jane@example.com"},
        "shippingAddress": {"addressLine1": "410 Terry"},
    }
    amazon.then(200, buyer).then(422, {"reasonCode": "InvalidCheckoutSessionStatus", "message": "no"})
    client = make_client(private_pem, amazon.url)
    with caplog.at_level(logging.DEBUG):
        client.get_checkout_session("cs-1")
        with pytest.raises(AmazonPayError):
            client.complete_checkout_session("cs-1", {"chargeAmount": {"amount": "1", "currencyCode": "USD"}})
    text = caplog.text
    assert "operation=GetCheckoutSession status=200 request_id=req-1" in text
    assert "operation=CompleteCheckoutSession status=422" in text and "reason_code=InvalidCheckoutSessionStatus" in text
    pem_line = private_pem.decode().splitlines()[1]
    for secret in (pem_line, "Signature=", "PRIVATE KEY", "Jane Doe", "jane@example.com", "410 Terry"):
        assert secret not in text
    assert "PRIVATE" not in repr(client) and pem_line not in repr(client)


# A PEM frame around bytes that are no key ("not a key" in base64); the marker is split so
# that no tracked file looks like it holds a private key.
NOT_A_KEY = "-----BEGIN " + "PRIVATE KEY-----\nbm90IGEga2V5\n-----END " + "PRIVATE KEY-----"


# -- configuration errors ------------------------------------------------------------------


def test_key_as_path_pkcs8_or_pkcs1_text(tmp_path, private_key, private_pem):
    pkcs8 = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path / "private.pem"
    path.write_bytes(pkcs8)
    for key in (str(path), path, pkcs8, pkcs8.decode(), private_pem, private_pem.decode()):
        assert AmazonPayClient("SANDBOX-X", key, "us").generate_button_signature("{}")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"region": "mars"}, "region: 'mars' is not one of"),
        ({"algorithm": "RSA-SHA1"}, "algorithm: Unsupported"),
        ({"private_key": "/no/such/file.pem"}, "private_key: cannot read key file"),
        ({"private_key": NOT_A_KEY}, "private_key: not a"),
        ({"public_key_id": ""}, "public_key_id: missing"),
        ({"endpoint": "127.0.0.1:5001"}, "endpoint:"),
    ],
)
def test_bad_configuration_fails_at_construction_naming_the_setting(private_pem, options, message):
    arguments = {"public_key_id": "SANDBOX-X", "private_key": private_pem, "region": "us", **options}
    with pytest.raises(ValueError) as caught:
        AmazonPayClient(**arguments)
    assert message in str(caught.value)
    assert "bm90IGEga2V5" not in str(caught.value)  # never echo key material


def test_non_rsa_key_is_refused():
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="RSA"):
        AmazonPayClient("SANDBOX-X", ec_pem, "us")


def test_one_client_is_safe_to_share_between_threads(amazon, private_pem):
    client = make_client(private_pem, amazon.url)
    errors: list[Exception] = []

    def work():
        try:
            for _ in range(5):
                client.get_charge("c-1")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(amazon.seen) == 20
