"""The simulator checks signatures, dates and idempotency keys as Amazon Pay does.

Requests here are signed by hand with ``shop.amazon_pay.signing`` so that each test can sign
exactly what one real SDK signs (their signing code, e.g. getPostSignedHeaders in
https://github.com/amzn/amazon-pay-api-sdk-php/blob/master/Amazon/Pay/API/Client.php):
PHP's five headers, Node's extra ``user-agent`` and extended date, Java's
``x-amz-pay-region: NA``, .NET's trailing slash, Ruby's signed ``content-length``, the labs
sample's two headers. Whatever a correct client signs must pass; whatever was changed after
signing must fail with Amazon's 403 and its string to sign
(https://github.com/amzn/amazon-pay-api-sdk-dotnet/issues/4); dates outside ±15 minutes fail
with Amazon's 400 messages (https://github.com/amzn/amazon-payments-magento-2-plugin/issues/1103).
"""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from shop.amazon_pay import AmazonPayClient, signing
from simulator.clock import Clock
from tests.support import PLAIN_KEY_ID, PUBLIC_KEY_ID, STORE_ID

V1, V2 = signing.ALGORITHM_V1, signing.ALGORITHM_V2
USD_25 = {"amount": "25.00", "currencyCode": "USD"}
SESSION = {"webCheckoutDetails": {"checkoutReviewReturnUrl": "https://shop.test/checkout/review"}, "storeId": STORE_ID}
SESSION_BYTES = json.dumps(SESSION).encode()
# Environment-specific keys take no environment segment (createServiceUrl):
# https://github.com/amzn/amazon-pay-api-sdk-php/blob/master/Amazon/Pay/API/Client.php
SANDBOX = ("/v2", PUBLIC_KEY_ID)  # environment-specific key: no environment segment
PLAIN = ("/sandbox/v2", PLAIN_KEY_ID)  # legacy key: the SDKs add /sandbox
RUBY = ("/sandbox/v2", PUBLIC_KEY_ID)  # the Ruby SDK keeps the segment even for SANDBOX- keys


def basic(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def extended(moment: datetime) -> str:  # what the Node SDK sends
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def api(sim, client, private_key, buyer) -> Api:
    return Api(sim, client, private_key, buyer)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Api:
    """Hand-signed requests: sign what a given SDK signs, then send what the test wants sent."""

    def __init__(self, sim, client: AmazonPayClient, private_key: rsa.RSAPrivateKey, buyer):
        self.sim, self.client, self.private_key = sim, client, private_key
        self.host = urlsplit(sim.url).netloc
        self.buyer = buyer  # the ``buyer`` fixture: Buyer(sim, client)

    def now(self) -> datetime:
        return self.sim.clock.request_time()

    def default_headers(self, moment: datetime | None = None, date=basic, region: str = "na") -> dict[str, str]:
        """The five headers every official SDK signs, e.g. getPostSignedHeaders in
        https://github.com/amzn/amazon-pay-api-sdk-php/blob/master/Amazon/Pay/API/Client.php"""
        return {
            "accept": "application/json",
            "content-type": "application/json",
            "x-amz-pay-date": date(moment or self.now()),
            "x-amz-pay-host": self.host,
            "x-amz-pay-region": region,
        }

    def authorization(
        self,
        method: str,
        path: str,
        signed: dict[str, str],
        body: bytes = b"",
        *,
        key_id: str = PUBLIC_KEY_ID,
        algorithm: str = V2,
        claimed: str | None = None,
        query: dict[str, str] | None = None,
        private_key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """Sign ``signed`` (all of it) with ``algorithm``'s salt; name ``claimed`` in the header."""
        claimed = claimed or algorithm
        canonical = signing.canonical_request(method, path, query, signed, body)
        signature = signing.sign(signing.string_to_sign(canonical, claimed), private_key or self.private_key, algorithm)
        return signing.authorization_header(claimed, key_id, signing.signed_header_names(signed), signature)

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, query=None):
        return requests.request(method, self.sim.url + path, params=query, data=body, headers=headers or {}, timeout=10)

    def signed(self, method: str, path: str, body: bytes = b"", signed=None, unsigned=None, **options):
        """Sign and send in one go; returns the response."""
        signed = dict(signed if signed is not None else self.default_headers())
        headers = {
            **signed,
            **(unsigned or {}),
            "authorization": self.authorization(method, path, signed, body, **options),
        }
        return self.send(method, path, body, headers, options.get("query"))

    def counts(self) -> dict[str, int]:
        return self.sim.counts()["counts"]


def error(response: requests.Response, status: int, reason: str) -> str:
    """Assert Amazon's error answer and return its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-amz-pay-request-id")
    body = response.json()
    assert set(body) == {"reasonCode", "message"} and body["reasonCode"] == reason, body
    return body["message"]


def ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers.get("x-amz-pay-request-id")
    return response.json()


# -- what correct clients send is accepted --------------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"], ids=["no-slash", "trailing-slash"])
@pytest.mark.parametrize(
    "shape", [SANDBOX, PLAIN, RUBY], ids=["v2+SANDBOX-key", "sandbox-v2+plain-key", "sandbox-v2+SANDBOX-key"]
)
@pytest.mark.parametrize("date", [basic, extended], ids=["basic-date", "extended-date"])
@pytest.mark.parametrize("algorithm", [V2, V1])
def test_both_algorithms_date_formats_url_shapes_and_slashes(api, algorithm, date, shape, slash):
    prefix, key_id = shape
    path = f"{prefix}/checkoutSessions{slash}"
    headers = {**api.default_headers(date=date), "x-amz-pay-idempotency-key": "create-1"}
    created = ok(api.signed("POST", path, SESSION_BYTES, headers, key_id=key_id, algorithm=algorithm), 201)
    assert created["releaseEnvironment"] == "Sandbox"

    path = f"{prefix}/checkoutSessions/{created['checkoutSessionId']}{slash}"
    read = ok(api.signed("GET", path, signed=api.default_headers(date=date), key_id=key_id, algorithm=algorithm))
    assert read["checkoutSessionId"] == created["checkoutSessionId"]


def sdk_style(api: Api, style: str, method: str, body: bytes) -> tuple[dict[str, str], dict[str, str], str]:
    """(signed headers, unsigned headers, path prefix) as one SDK builds them (its signing code, e.g.
    https://github.com/amzn/amazon-pay-api-sdk-php/blob/master/Amazon/Pay/API/Client.php)."""
    post = method == "POST"
    key = {"x-amz-pay-idempotency-key": f"{style}-key"} if post else {}
    if style == "php":  # five headers + the idempotency key; SDK headers unsigned, original-case key name
        unsigned = {
            "user-agent": "amazon-pay-api-sdk-php/2.7.2 (PHP/8.2.0; Linux/x86_64/6.1)",
            "x-amz-pay-sdk-type": "PHP",
            "x-amz-pay-sdk-version": "2.7.2",
            "x-amz-pay-language-version": "8.2.0",
        }
        return {**api.default_headers(), **key}, unsigned, "/v2"
    if style == "node":  # also signs user-agent; extended ISO date
        agent = {"user-agent": "amazon-pay-api-sdk-nodejs/2.3.3 (JS/v20.11.0; linux)"}
        return {**api.default_headers(date=extended), **agent, **key}, {}, "/v2"
    if style == "java":  # upper-case region, every user header signed
        agent = {"user-agent": "amazon-pay-api-sdk-java/2.6.7 (Java/17; Linux/6.1)"}
        return {**api.default_headers(region="NA"), **key}, agent, "/v2"
    if style == "ruby":  # signs its SDK headers and content-length when there is a body
        extra = {"x-amz-pay-sdk-type": "ruby", "x-amz-pay-sdk-version": "1.2.0"}
        if body:
            extra["content-length"] = str(len(body))
        return {**api.default_headers(), **extra, **key}, {"user-agent": "Ruby"}, "/sandbox/v2"
    if style == "labs-python":  # only accept + date (+ content-type and key on POST); no host, no region
        signed = {"accept": "application/json", "x-amz-pay-date": basic(api.now())}
        if post:
            signed.update({"content-type": "application/json", **key})
        return signed, {}, "/v2"
    if style == "region-us":  # older docs show x-amz-pay-region: us
        return {**api.default_headers(region="us"), **key}, {}, "/v2"
    if style == "unsigned-extras":  # proxies and integrators add headers nobody signs
        unsigned = {
            "x-forwarded-for": "203.0.113.7",
            "x-amz-pay-integrator-id": "ABC",
            "x-request-id": "7",
            "cookie": "a=b",
            "user-agent": "curl/8",
        }
        return {**api.default_headers(), **key}, unsigned, "/v2"
    raise AssertionError(style)


@pytest.mark.parametrize("style", ["php", "node", "java", "ruby", "labs-python", "region-us", "unsigned-extras"])
def test_each_sdk_header_style_is_accepted(api, style):
    signed, unsigned, prefix = sdk_style(api, style, "POST", SESSION_BYTES)
    key_id = PLAIN_KEY_ID if prefix == "/sandbox/v2" else PUBLIC_KEY_ID
    if style == "php":  # PHP sends the key header with the case the merchant gave it
        unsigned["x-amz-pay-Idempotency-Key"] = signed["x-amz-pay-idempotency-key"]
    created = ok(api.signed("POST", f"{prefix}/checkoutSessions", SESSION_BYTES, signed, unsigned, key_id=key_id), 201)

    signed, unsigned, prefix = sdk_style(api, style, "GET", b"")
    path = f"{prefix}/checkoutSessions/{created['checkoutSessionId']}"
    assert ok(api.signed("GET", path, b"", signed, unsigned, key_id=key_id))["checkoutSessionId"]


def test_dotnet_style_trailing_slash_on_every_call_with_v1(api):
    """.NET builds every URL with a trailing '/' and defaults to the V1 algorithm:
    https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK/ApiUrlBuilder.cs"""
    session_id = api.buyer.ready_to_complete()
    body = json.dumps({"chargeAmount": USD_25}).encode()
    headers = {**api.default_headers(), "x-amz-pay-idempotency-key": "dotnet-complete"}
    path = f"/v2/checkoutSessions/{session_id}/complete/"
    done = ok(api.signed("POST", path, body, headers, algorithm=V1))
    closed = api.signed(
        "DELETE",
        f"/v2/chargePermissions/{done['chargePermissionId']}/close/",
        b'{"closureReason":"done","cancelPendingCharges":false}',
        algorithm=V1,
    )
    assert ok(closed)["statusDetails"]["state"] == "Closed"


@pytest.mark.parametrize(
    "path", ["/v2//checkoutSessions", "/sandbox//v2/checkoutSessions", "/v2/checkoutSessions//"], ids=str
)
def test_doubled_slashes_are_never_an_html_redirect(api, path):
    """Amazon: "Remove redundant ... path components"; Java and .NET collapse '//' when signing.
    https://developer.amazon.com/docs/amazon-pay-api-v2/signing-requests.html

    Served (201) or not found (404), the answer is Amazon's JSON with a request id, never an HTML
    redirect that a client (Java disables redirects) cannot read.
    """
    key_id = PLAIN_KEY_ID if path.startswith("/sandbox") else PUBLIC_KEY_ID
    headers = api.default_headers()
    headers["authorization"] = api.authorization("POST", path, headers, SESSION_BYTES, key_id=key_id)
    url = api.sim.url + path
    response = requests.post(url, data=SESSION_BYTES, headers=headers, allow_redirects=False, timeout=10)
    assert response.status_code in (201, 404), (response.status_code, response.headers, response.text[:200])
    assert response.headers.get("content-type", "").startswith("application/json"), response.text[:200]
    assert response.headers.get("x-amz-pay-request-id")


def test_advancing_the_simulator_clock_does_not_expire_signatures(api):
    """Test advances age Amazon's objects; merchants still sign with the real time (clock.request_time)."""
    api.sim.advance(3 * 3600)
    assert ok(api.signed("POST", "/v2/checkoutSessions", SESSION_BYTES), 201)


# -- anything changed after signing: 403 InvalidRequestSignature with the server's string to sign ----------------


def expected_signature_error(claimed: str, method: str, path: str, signed: dict[str, str], body: bytes, query=None):
    canonical = signing.canonical_request(method, path, query, signed, body)
    return signing.string_to_sign(canonical, claimed)


def assert_signature_refused(response: requests.Response, string_to_sign: str, authorization: str) -> None:
    message = error(response, 403, "InvalidRequestSignature")
    signature = authorization.rsplit("Signature=", 1)[1]
    assert message == f"Unable to verify signature, signing String [{string_to_sign}] , signature [{signature}]"


def test_tampered_body(api):
    headers = {**api.default_headers(), "x-amz-pay-idempotency-key": "tamper-body"}
    auth = api.authorization("POST", "/v2/checkoutSessions", headers, SESSION_BYTES)
    sent = SESSION_BYTES.replace(b"shop.test", b"evil.test")
    response = api.send("POST", "/v2/checkoutSessions", sent, {**headers, "authorization": auth})
    assert_signature_refused(
        response, expected_signature_error(V2, "POST", "/v2/checkoutSessions", headers, sent), auth
    )
    assert api.counts() == {}


@pytest.mark.parametrize("name", ["x-amz-pay-host", "x-amz-pay-region", "x-amz-pay-idempotency-key", "accept"])
def test_tampered_signed_header(api, name):
    headers = {**api.default_headers(), "x-amz-pay-idempotency-key": "tamper-header"}
    auth = api.authorization("POST", "/v2/checkoutSessions", headers, SESSION_BYTES)
    sent = {**headers, name: headers[name] + "x"}
    response = api.send("POST", "/v2/checkoutSessions", SESSION_BYTES, {**sent, "authorization": auth})
    expected = expected_signature_error(V2, "POST", "/v2/checkoutSessions", sent, SESSION_BYTES)
    assert_signature_refused(response, expected, auth)
    assert api.counts() == {}


def test_tampered_date_within_tolerance(api):
    headers = api.default_headers()
    auth = api.authorization("GET", "/v2/checkoutSessions/abc", headers)
    sent = {**headers, "x-amz-pay-date": basic(api.now() - timedelta(minutes=1))}
    response = api.send("GET", "/v2/checkoutSessions/abc", b"", {**sent, "authorization": auth})
    assert_signature_refused(response, expected_signature_error(V2, "GET", "/v2/checkoutSessions/abc", sent, b""), auth)


def test_tampered_path(api):
    session_id = api.client.create_checkout_session(SESSION).body["checkoutSessionId"]
    headers = api.default_headers()
    auth = api.authorization("GET", "/v2/checkoutSessions/someone-else", headers)
    path = f"/v2/checkoutSessions/{session_id}"
    response = api.send("GET", path, b"", {**headers, "authorization": auth})
    assert_signature_refused(response, expected_signature_error(V2, "GET", path, headers, b""), auth)


def test_tampered_method(api):
    """A GET signature replayed as a PATCH of the same session (same path, different verb)."""
    session_id = api.client.create_checkout_session(SESSION).body["checkoutSessionId"]
    path, headers = f"/v2/checkoutSessions/{session_id}", api.default_headers()
    auth = api.authorization("GET", path, headers)
    response = api.send("PATCH", path, b"", {**headers, "authorization": auth})
    assert_signature_refused(response, expected_signature_error(V2, "PATCH", path, headers, b""), auth)


def test_query_added_after_signing(api):
    headers = api.default_headers()
    auth = api.authorization("GET", "/v2/checkoutSessions/abc", headers)
    response = api.send("GET", "/v2/checkoutSessions/abc", b"", {**headers, "authorization": auth}, {"foo": "bar"})
    expected = expected_signature_error(V2, "GET", "/v2/checkoutSessions/abc", headers, b"", {"foo": "bar"})
    assert_signature_refused(response, expected, auth)


@pytest.mark.parametrize("salt, claimed", [(V1, V2), (V2, V1)], ids=["v1-salt-labelled-v2", "v2-salt-labelled-v1"])
def test_wrong_salt_for_the_named_algorithm(api, salt, claimed):
    headers = api.default_headers()
    auth = api.authorization("GET", "/v2/checkoutSessions/abc", headers, algorithm=salt, claimed=claimed)
    response = api.send("GET", "/v2/checkoutSessions/abc", b"", {**headers, "authorization": auth})
    expected = expected_signature_error(claimed, "GET", "/v2/checkoutSessions/abc", headers, b"")
    assert_signature_refused(response, expected, auth)


def test_signed_with_another_private_key(api, other_key):
    headers = api.default_headers()
    auth = api.authorization("GET", "/v2/checkoutSessions/abc", headers, private_key=other_key)
    response = api.send("GET", "/v2/checkoutSessions/abc", b"", {**headers, "authorization": auth})
    assert_signature_refused(
        response, expected_signature_error(V2, "GET", "/v2/checkoutSessions/abc", headers, b""), auth
    )


def test_signature_for_another_environment_segment(api):
    """Signed for /live/v2, sent to /sandbox/v2: the path is part of what is signed."""
    headers = api.default_headers()
    auth = api.authorization("GET", "/live/v2/checkoutSessions/abc", headers, key_id=PLAIN_KEY_ID)
    path = "/sandbox/v2/checkoutSessions/abc"
    response = api.send("GET", path, b"", {**headers, "authorization": auth})
    assert_signature_refused(response, expected_signature_error(V2, "GET", path, headers, b""), auth)


# -- headers missing, keys unknown, Authorization garbage -------------------------------------------------------


@pytest.mark.parametrize("name", ["x-amz-pay-idempotency-key", "x-amz-pay-host", "x-amz-pay-region", "x-amz-pay-date"])
def test_header_listed_in_signed_headers_but_not_sent(api, name):
    headers = {**api.default_headers(), "x-amz-pay-idempotency-key": "listed-not-sent"}
    auth = api.authorization("POST", "/v2/checkoutSessions", headers, SESSION_BYTES)
    sent = {key: value for key, value in headers.items() if key != name}
    response = api.send("POST", "/v2/checkoutSessions", SESSION_BYTES, {**sent, "authorization": auth})
    assert name in error(response, 400, "MissingHeader")
    assert api.counts() == {}


def test_content_type_listed_but_not_sent_on_a_get(api):
    headers = api.default_headers()
    auth = api.authorization("GET", "/v2/checkoutSessions/abc", headers)
    sent = {key: value for key, value in headers.items() if key != "content-type"}
    response = api.send("GET", "/v2/checkoutSessions/abc", b"", {**sent, "authorization": auth})
    assert "content-type" in error(response, 400, "MissingHeader")


def test_no_authorization_header(api):
    response = api.send("POST", "/v2/checkoutSessions", SESSION_BYTES, api.default_headers())
    assert "authorization" in error(response, 400, "MissingHeader")
    assert api.counts() == {}


@pytest.mark.parametrize(
    "key_id",
    ["SANDBOX-NOSUCHKEY000000000000000", "LIVE-TESTKEY0000000000000000A", "../../etc/passwd", "K" * 5000, "é-key"],
    ids=["unknown-sandbox", "unknown-live", "path-traversal", "very-long", "non-ascii"],
)
def test_unknown_public_key_id(api, key_id):
    headers = api.default_headers()
    auth = api.authorization("GET", "/v2/checkoutSessions/abc", headers, key_id=key_id)
    response = api.send("GET", "/v2/checkoutSessions/abc", b"", {**headers, "authorization": auth})
    error(response, 403, "InvalidAuthentication")


def test_unprefixed_key_on_the_v2_shape_is_refused(api):
    """SIMULATOR CHOICE (api.py ``environment``): a key without SANDBOX-/LIVE- needs /sandbox or /live."""
    response = api.signed("POST", "/v2/checkoutSessions", SESSION_BYTES, key_id=PLAIN_KEY_ID)
    error(response, 400, "InvalidRequest")
    assert api.counts() == {}


def _valid_signature() -> str:
    return base64.b64encode(b"\x01" * 256).decode()


GARBAGE_AUTHORIZATION = [
    ("empty", "", 400, "InvalidHeaderValue"),
    ("tab-separated", V2 + "\tPublicKeyId={key}, SignedHeaders={names}, Signature={sig}", 400, "InvalidHeaderValue"),
    ("word", "garbage", 400, "InvalidHeaderValue"),
    ("bearer", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", 400, "InvalidHeaderValue"),
    ("aws-sigv4", "AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/s3/aws4_request, Signature=ab", 400, None),
    ("algorithm-only", V2, 400, "InvalidHeaderValue"),
    ("algorithm-and-space", V2 + " ", 400, "InvalidHeaderValue"),
    (
        "unknown-algorithm",
        "AMZN-PAY-RSASSA-PSS-V3 PublicKeyId={key}, SignedHeaders={names}, Signature={sig}",
        400,
        None,
    ),
    ("lower-case-algorithm", V2.lower() + " PublicKeyId={key}, SignedHeaders={names}, Signature={sig}", 400, None),
    ("no-signature", V2 + " PublicKeyId={key}, SignedHeaders={names}", 400, "InvalidHeaderValue"),
    ("no-signed-headers", V2 + " PublicKeyId={key}, Signature={sig}", 400, "InvalidHeaderValue"),
    ("no-key-id", V2 + " SignedHeaders={names}, Signature={sig}", 400, "InvalidHeaderValue"),
    ("empty-key-id", V2 + " PublicKeyId=, SignedHeaders={names}, Signature={sig}", 400, "InvalidHeaderValue"),
    ("empty-signed-headers", V2 + " PublicKeyId={key}, SignedHeaders=, Signature={sig}", 400, "InvalidHeaderValue"),
    ("only-semicolons", V2 + " PublicKeyId={key}, SignedHeaders=;;;, Signature={sig}", 400, "InvalidHeaderValue"),
    ("empty-signature", V2 + " PublicKeyId={key}, SignedHeaders={names}, Signature=", 400, "InvalidHeaderValue"),
    ("signature-not-base64", V2 + " PublicKeyId={key}, SignedHeaders={names}, Signature=!!!", 400, None),
    ("signature-non-ascii", V2 + " PublicKeyId={key}, SignedHeaders={names}, Signature=ü+/=", 400, None),
    (
        "signature-short",
        V2 + " PublicKeyId={key}, SignedHeaders={names}, Signature=AAAA",
        403,
        "InvalidRequestSignature",
    ),
    ("signature-garbage", V2 + " PublicKeyId={key}, SignedHeaders={names}, Signature={sig}", 403, None),
    ("date-not-signed", V2 + " PublicKeyId={key}, SignedHeaders=accept, Signature={sig}", 400, None),
    ("signs-authorization", V2 + " PublicKeyId={key}, SignedHeaders=authorization, Signature={sig}", 400, None),
    ("unknown-key", V2 + " PublicKeyId=NOPE, SignedHeaders={names}, Signature={sig}", 403, "InvalidAuthentication"),
    ("fields-reversed", V2 + " Signature={sig}, SignedHeaders={names}, PublicKeyId={key}", 403, None),
    ("no-commas", V2 + " PublicKeyId={key} SignedHeaders={names} Signature={sig}", 400, "InvalidHeaderValue"),
    ("huge", V2 + " PublicKeyId={key}, SignedHeaders={names}, Signature=" + "A" * 20000, 403, None),
    ("many-signed-headers", V2 + " PublicKeyId={key}, SignedHeaders=" + "x;" * 2000 + ", Signature={sig}", 400, None),
]


@pytest.mark.parametrize(
    "template, status, reason", [pytest.param(*case[1:], id=case[0]) for case in GARBAGE_AUTHORIZATION]
)
def test_garbage_authorization_is_a_4xx_never_a_500(api, template, status, reason):
    headers = api.default_headers()
    names = signing.signed_header_names(headers)
    value = template.format(key=PUBLIC_KEY_ID, names=names, sig=_valid_signature())
    response = api.send("POST", "/v2/checkoutSessions", SESSION_BYTES, {**headers, "authorization": value})
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"reasonCode", "message"} and response.headers.get("x-amz-pay-request-id")
    if reason is not None:
        assert body["reasonCode"] == reason, body
    else:
        assert body["reasonCode"] in (
            "InvalidHeaderValue",
            "MissingHeader",
            "InvalidRequestSignature",
            "InvalidAuthentication",
        ), body
    assert api.counts() == {}


# -- x-amz-pay-date ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("date", [basic, extended], ids=["basic", "extended"])
@pytest.mark.parametrize(
    "offset",
    [timedelta(0), timedelta(minutes=14), -timedelta(minutes=14), timedelta(minutes=14, seconds=59)],
    ids=["now", "14-min-ahead", "14-min-old", "just-inside-ahead"],
)
def test_dates_within_15_minutes_are_accepted(api, date, offset):
    headers = api.default_headers(api.now() + offset, date)
    assert ok(api.signed("POST", "/v2/checkoutSessions", SESSION_BYTES, headers), 201)


@pytest.mark.parametrize("date", [basic, extended], ids=["basic", "extended"])
@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=15, seconds=2), timedelta(minutes=16), timedelta(days=1), timedelta(days=3650)],
    ids=["just-outside", "16-min", "1-day", "10-years"],
)
def test_dates_in_the_future_are_refused_with_amazons_message(api, date, offset):
    value = date(api.now() + offset)
    response = api.signed("POST", "/v2/checkoutSessions", SESSION_BYTES, api.default_headers(api.now() + offset, date))
    assert error(response, 400, "InvalidHeaderValue") == (
        f"The value {value} provided for x-amz-pay-date should not be in future"
    )
    assert api.counts() == {}


@pytest.mark.parametrize("date", [basic, extended], ids=["basic", "extended"])
@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=15, seconds=2), timedelta(minutes=16), timedelta(days=1), timedelta(days=3650)],
    ids=["just-outside", "16-min", "1-day", "10-years"],
)
def test_stale_dates_are_refused_as_expired(api, date, offset):
    value = date(api.now() - offset)
    response = api.signed("POST", "/v2/checkoutSessions", SESSION_BYTES, api.default_headers(api.now() - offset, date))
    assert error(response, 400, "InvalidHeaderValue") == f"The value {value} provided for x-amz-pay-date has expired"
    assert api.counts() == {}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "20240102T030405",
        "20240102 030405Z",
        "2024-01-02 03:04:05Z",
        "2024-01-02T03:04:05+00:00",
        "2024-01-02T03:04:05.123Z",
        "20241302T030405Z",
        "20240230T030405Z",
        "1704164645",
        "Tue, 02 Jan 2024 03:04:05 GMT",
        "9" * 400,
    ],
)
def test_malformed_dates_are_invalid_header_values(api, value):
    headers = {**api.default_headers(), "x-amz-pay-date": value}
    response = api.signed("POST", "/v2/checkoutSessions", SESSION_BYTES, headers)
    assert "x-amz-pay-date" in error(response, 400, "InvalidHeaderValue")


def test_no_date_header_at_all(api):
    headers = {key: value for key, value in api.default_headers().items() if key != "x-amz-pay-date"}
    response = api.signed("POST", "/v2/checkoutSessions", SESSION_BYTES, headers)
    assert "x-amz-pay-date" in error(response, 400, "MissingHeader")


# -- replays: SDKs re-send the very same signed request on a retry -----------------------------------------------


def test_identical_signed_requests_are_accepted_again(api):
    headers = {**api.default_headers(), "x-amz-pay-idempotency-key": "replay-create"}
    create = {**headers, "authorization": api.authorization("POST", "/v2/checkoutSessions", headers, SESSION_BYTES)}
    first = ok(api.send("POST", "/v2/checkoutSessions", SESSION_BYTES, create), 201)
    second = ok(api.send("POST", "/v2/checkoutSessions", SESSION_BYTES, create), 201)
    assert second == first
    assert api.counts() == {"checkoutSessions": 1}

    path = f"/v2/checkoutSessions/{first['checkoutSessionId']}"
    get = {**api.default_headers(), "authorization": api.authorization("GET", path, api.default_headers())}
    assert ok(api.send("GET", path, b"", get)) == ok(api.send("GET", path, b"", get))

    patch_body = b'{"merchantMetadata":{"merchantReferenceId":"order-7"}}'
    patch = {
        **api.default_headers(),
        "authorization": api.authorization("PATCH", path, api.default_headers(), patch_body),
    }
    for _ in range(2):
        assert ok(api.send("PATCH", path, patch_body, patch))["merchantMetadata"]["merchantReferenceId"] == "order-7"


def test_concurrent_identical_retries_create_one_object(api):
    """A retry can overlap the original (client timeout): one Checkout Session, one answer for all."""
    headers = {**api.default_headers(), "x-amz-pay-idempotency-key": "concurrent-create"}
    sent = {**headers, "authorization": api.authorization("POST", "/v2/checkoutSessions", headers, SESSION_BYTES)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: api.send("POST", "/v2/checkoutSessions", SESSION_BYTES, sent), range(8)))
    assert {(answer.status_code, answer.text) for answer in answers} == {(201, answers[0].text)}
    assert api.counts() == {"checkoutSessions": 1}


def test_a_replay_is_accepted_until_its_date_goes_stale(api):
    headers = api.default_headers(api.now() - timedelta(minutes=10))
    get = {**headers, "authorization": api.authorization("GET", "/v2/checkoutSessions/abc", headers)}
    error(api.send("GET", "/v2/checkoutSessions/abc", b"", get), 404, "ResourceNotFound")
    api.sim.clock = api.sim.app.extensions["amazon_pay_simulator"].clock = Clock(api.now() + timedelta(minutes=6))
    assert "has expired" in error(api.send("GET", "/v2/checkoutSessions/abc", b"", get), 400, "InvalidHeaderValue")


# -- idempotency (https://developer.amazon.com/docs/amazon-pay-api-v2/idempotency.html) --------------------------------


def _charge_setup(api: Api) -> dict[str, str]:
    """A 25.00 Charge of a 50.00 order: the tests make more Charges on its one-time Charge
    Permission, which takes no more than the total order amount."""
    session_id = api.buyer.sign_in()
    api.client.update_checkout_session(
        session_id,
        {
            "webCheckoutDetails": {"checkoutResultReturnUrl": "http://shop.test/checkout/result"},
            "paymentDetails": {
                "paymentIntent": "Authorize",
                "chargeAmount": USD_25,
                "totalOrderAmount": {"amount": "50.00", "currencyCode": "USD"},
            },
        },
    )
    assert api.buyer.pass_redirect(session_id).status_code == 200
    done = api.client.complete_checkout_session(session_id, {"chargeAmount": USD_25}).body
    return {"cp": done["chargePermissionId"], "charge": done["chargeId"]}


def _captured(api: Api, ids: dict[str, str]) -> str:
    body = {
        "chargePermissionId": ids["cp"],
        "chargeAmount": {"amount": "5.00", "currencyCode": "USD"},
        "captureNow": True,
    }
    return api.client.create_charge(body).body["chargeId"]


OPERATIONS = {
    "create-checkout-session": lambda api, ids: ("/v2/checkoutSessions", SESSION, {**SESSION, "platformId": "p"}),
    "complete-checkout-session": lambda api, ids: (
        f"/v2/checkoutSessions/{api.buyer.ready_to_complete()}/complete",
        {"chargeAmount": USD_25},
        {"chargeAmount": {"amount": "24.00", "currencyCode": "USD"}},
    ),
    "create-charge": lambda api, ids: (
        "/v2/charges",
        {"chargePermissionId": ids["cp"], "chargeAmount": {"amount": "2.00", "currencyCode": "USD"}},
        {"chargePermissionId": ids["cp"], "chargeAmount": {"amount": "3.00", "currencyCode": "USD"}},
    ),
    "capture-charge": lambda api, ids: (
        f"/v2/charges/{ids['charge']}/capture",
        {"captureAmount": USD_25},
        {"captureAmount": {"amount": "20.00", "currencyCode": "USD"}},
    ),
    "create-refund": lambda api, ids: (
        "/v2/refunds",
        {"chargeId": _captured(api, ids), "refundAmount": {"amount": "1.00", "currencyCode": "USD"}},
        {"chargeId": ids["charge"], "refundAmount": {"amount": "2.00", "currencyCode": "USD"}},
    ),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_same_idempotency_key_and_request_replays_the_first_answer(api, operation):
    path, body, _ = OPERATIONS[operation](api, _charge_setup(api))
    raw = json.dumps(body).encode()
    key = {"x-amz-pay-idempotency-key": f"{operation}-1"}
    first = api.signed("POST", path, raw, {**api.default_headers(), **key})
    assert first.status_code in (200, 201), first.text
    counts = api.counts()
    # A retry re-signed later (Ruby re-signs every attempt) and one re-sent as is: same answer, nothing new.
    later = api.default_headers(api.now() + timedelta(minutes=2), extended)
    again = api.signed("POST", path, raw, {**later, **key})
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers.get("x-amz-pay-request-id")
    assert api.counts() == counts


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_same_idempotency_key_with_another_body_is_a_duplicate(api, operation):
    path, body, other = OPERATIONS[operation](api, _charge_setup(api))
    key = {"x-amz-pay-idempotency-key": f"{operation}-2"}
    first = api.signed("POST", path, json.dumps(body).encode(), {**api.default_headers(), **key})
    assert first.status_code in (200, 201), first.text
    counts = api.counts()
    response = api.signed("POST", path, json.dumps(other).encode(), {**api.default_headers(), **key})
    message = error(response, 400, "DuplicateIdempotencyKey")
    assert "already used" in message
    assert api.counts() == counts


def test_same_idempotency_key_for_another_operation_is_a_duplicate(api):
    """Keys are per merchant, not per operation (the Node SDK test needs a new key for the refund)."""
    ids = _charge_setup(api)
    key = {"x-amz-pay-idempotency-key": "one-key-for-two-calls"}
    body = {"chargePermissionId": ids["cp"], "chargeAmount": {"amount": "2.00", "currencyCode": "USD"}}
    assert ok(api.signed("POST", "/v2/charges", json.dumps(body).encode(), {**api.default_headers(), **key}), 201)
    counts = api.counts()
    refund = {"chargeId": ids["charge"], "refundAmount": {"amount": "1.00", "currencyCode": "USD"}}
    response = api.signed("POST", "/v2/refunds", json.dumps(refund).encode(), {**api.default_headers(), **key})
    error(response, 400, "DuplicateIdempotencyKey")
    assert api.counts() == counts


def test_idempotency_key_has_no_effect_on_patch_and_get(api):
    """Amazon: not recommended on GET/PATCH/DELETE, "they have no effect":
    https://developer.amazon.com/docs/amazon-pay-api-v2/idempotency.html"""
    session_id = api.client.create_checkout_session(SESSION).body["checkoutSessionId"]
    path, key = f"/v2/checkoutSessions/{session_id}", {"x-amz-pay-idempotency-key": "patch-key"}
    for reference in ("order-1", "order-2"):
        body = json.dumps({"merchantMetadata": {"merchantReferenceId": reference}}).encode()
        answer = ok(api.signed("PATCH", path, body, {**api.default_headers(), **key}))
        assert answer["merchantMetadata"]["merchantReferenceId"] == reference
    assert ok(api.signed("GET", path, b"", {**api.default_headers(), **key}))["checkoutSessionId"] == session_id
