"""Interop with Node.js: the official Amazon Pay Node SDK against the simulator, and Node's
``crypto`` against our Python signatures.

Both peers are independent of our code: ``@amazonpay/amazon-pay-api-sdk-nodejs`` (pinned in
tests/interop/package-lock.json) signs requests its own way and speaks HTTPS only, and
``tests/interop/verify.js`` rebuilds canonical requests from Amazon's recipe in JavaScript.
Needs ``node`` and ``tests/interop/node_modules`` (``make test`` installs them); never skipped.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

import simulator
from shop.amazon_pay import AmazonPayClient, signing
from simulator.clock import Clock
from tests.support import PLAIN_KEY_ID, PUBLIC_KEY_ID, STORE_ID

pytestmark = [pytest.mark.interop, pytest.mark.slow]

INTEROP_DIR = Path(__file__).parent
SDK_DIR = INTEROP_DIR / "node_modules" / "@amazonpay" / "amazon-pay-api-sdk-nodejs"
SDK_VERSION = "2.3.4"
V1, V2 = signing.ALGORITHM_V1, signing.ALGORITHM_V2
NODE_TIMEOUT = 30


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary; a clear failure (not a skip) when Node or the SDK is missing."""
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("node is not on PATH: the interop tests need Node.js. Install it, then run `make test`.")
    package = SDK_DIR / "package.json"
    if not package.is_file():
        pytest.fail(f"{SDK_DIR} is missing: run `make test` (it runs `npm ci --prefix tests/interop`).")
    version = json.loads(package.read_text())["version"]
    assert version == SDK_VERSION, f"tests/interop has SDK {version}, expected {SDK_VERSION}: run `make test`."
    return binary


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("interop-node")


@pytest.fixture(scope="module")
def tls_files(work_dir) -> tuple[str, str]:
    """A throwaway self-signed certificate for 127.0.0.1 / localhost (the SDK speaks HTTPS only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = work_dir / "simulator-cert.pem", work_dir / "simulator-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.fixture(scope="module")
def private_key_file(work_dir, private_pem) -> str:
    path = work_dir / "merchant-private.pem"
    path.write_bytes(private_pem)
    return str(path)


@pytest.fixture(scope="module")
def wrong_key_file(work_dir) -> str:
    """A key pair the simulator has never seen, to sign as if it were the merchant's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = work_dir / "impostor-private.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return str(path)


@dataclass
class HttpsSimulator:
    url: str
    app: object

    def counts(self) -> dict:
        store = self.app.extensions["amazon_pay_simulator"]
        with store.lock:
            return dict(store.counts)


@pytest.fixture
def https_sim(keys_dir, tls_files, serve):
    """A fresh simulator over HTTPS on a loopback port."""
    app = simulator.create_app({"SIMULATOR_KEYS_DIR": str(keys_dir), "SIMULATOR_CLOCK": Clock(datetime.now(UTC))})
    server, thread, port = serve(app, ssl_context=tls_files)
    try:
        yield HttpsSimulator(f"https://127.0.0.1:{port}", app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def run_node(node: str, script: str, args: list[str] | None = None, env: dict[str, str] | None = None) -> dict:
    """Run tests/interop/<script>; return the JSON it prints (fail with its stderr otherwise)."""
    full_env = {**os.environ, "NODE_TLS_REJECT_UNAUTHORIZED": "0", **(env or {})}
    result = subprocess.run(
        [node, str(INTEROP_DIR / script), *(args or [])],
        cwd=INTEROP_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"node {script} exited {result.returncode}:\n{result.stderr}\n{result.stdout}"
    try:
        return json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"node {script} printed no JSON:\nstdout: {result.stdout[:2000]}\nstderr: {result.stderr[:2000]}")


# -- 1. the Node SDK runs whole checkouts against the simulator ------------------------------

CHECKOUTS = [
    # algorithm, key id, sandbox flag, region, currency, amount, refund, expected URL prefix, buyer country
    pytest.param(V2, PUBLIC_KEY_ID, False, "us", "USD", "19.99", "5.00", "/v2/", "US", id="v2-sandbox-key-us"),
    pytest.param(V1, PUBLIC_KEY_ID, False, "eu", "EUR", "42.50", "42.50", "/v2/", "DE", id="v1-sandbox-key-eu"),
    pytest.param(V2, PLAIN_KEY_ID, True, "de", "EUR", "7.10", "0.10", "/sandbox/v2/", "DE", id="v2-plain-key-de"),
    pytest.param(V1, PLAIN_KEY_ID, True, "jp", "JPY", "2000", "500", "/sandbox/v2/", "JP", id="v1-plain-key-jp"),
]


@pytest.mark.parametrize("algorithm, key_id, sandbox, region, currency, amount, refund, prefix, country", CHECKOUTS)
def test_node_sdk_runs_a_whole_checkout_over_https(
    node, https_sim, private_key_file, algorithm, key_id, sandbox, region, currency, amount, refund, prefix, country
):
    summary = run_node(
        node,
        "checkout.js",
        env={
            "INTEROP_BASE_URL": https_sim.url,
            "INTEROP_KEY_ID": key_id,
            "INTEROP_PRIVATE_KEY_FILE": private_key_file,
            "INTEROP_ALGORITHM": algorithm,
            "INTEROP_REGION": region,
            "INTEROP_SANDBOX": "true" if sandbox else "false",
            "INTEROP_CURRENCY": currency,
            "INTEROP_AMOUNT": amount,
            "INTEROP_REFUND_AMOUNT": refund,
        },
    )
    steps = summary["steps"]
    shown = json.dumps(steps, indent=1, ensure_ascii=False)
    expected = {
        "buttonCheckout": (201, "Open"),
        "createCheckoutSession": (201, "Open"),
        "signInBuyer": (200, "Open"),
        "getCheckoutSession": (200, "Open"),
        "updateCheckoutSession": (200, "Open"),
        "passRedirect": (200, "Open"),
        "completeCheckoutSession": (200, "Completed"),
        "getCharge": (200, "Authorized"),
        "captureCharge": (200, "Captured"),
        "createRefund": (201, "RefundInitiated"),
        "createRefundReplay": (201, "RefundInitiated"),
        # The whole order amount was captured: Amazon closes a one-time Charge Permission by itself
        # (AmazonClosed), so the SDK's Close Charge Permission reaches it already Closed.
        "getChargePermission": (200, "Closed"),
        "closeChargePermission": (422, None),
    }
    assert {name: (step["status"], step["state"]) for name, step in steps.items()} == expected, shown
    assert steps["closeChargePermission"]["error"]["reasonCode"] == "InvalidChargePermissionStatus", shown

    created = steps["createCheckoutSession"]
    assert created["path"].startswith(prefix + "checkoutSessions"), shown  # the SDK chose the URL shape
    assert created["algorithm"] == algorithm, shown  # and signed with the algorithm configured
    assert created["requestId"], shown
    assert "BuyerNotAssociated" in created["constraints"], shown
    assert steps["getCheckoutSession"]["shippingCountry"] == country, shown  # x-amz-pay-region reached it
    assert steps["updateCheckoutSession"]["constraints"] == [], shown
    assert steps["updateCheckoutSession"]["amazonPayRedirectUrl"] is True, shown
    assert steps["updateCheckoutSession"]["merchantStoreName"] == "Café Grüße ✓ 東京", shown
    assert steps["captureCharge"]["captureAmount"] == {"amount": amount, "currencyCode": currency}, shown
    assert steps["createRefund"]["refundId"] == steps["createRefundReplay"]["refundId"], shown
    assert steps["getCharge"]["releaseEnvironment"] == "Sandbox", shown
    assert steps["getChargePermission"]["releaseEnvironment"] == "Sandbox", shown
    assert summary["chargeId"].startswith(summary["chargePermissionId"]), shown

    # One button session, one API session, one order: a replayed refund made nothing new.
    assert https_sim.counts() == {"checkoutSessions": 2, "chargePermissions": 1, "charges": 1, "refunds": 1}


@pytest.mark.parametrize(
    "algorithm, key_id, sandbox, prefix",
    [
        pytest.param(V2, PUBLIC_KEY_ID, False, "/v2/", id="v2-sandbox-key"),
        pytest.param(V1, PLAIN_KEY_ID, True, "/sandbox/v2/", id="v1-plain-key"),
    ],
)
def test_node_sdk_request_signed_with_wrong_key_or_tampered_is_rejected(
    node, https_sim, private_key_file, wrong_key_file, algorithm, key_id, sandbox, prefix
):
    results = run_node(
        node,
        "checkout.js",
        env={
            "INTEROP_MODE": "tamper",
            "INTEROP_BASE_URL": https_sim.url,
            "INTEROP_KEY_ID": key_id,
            "INTEROP_PRIVATE_KEY_FILE": private_key_file,
            "INTEROP_WRONG_KEY_FILE": wrong_key_file,
            "INTEROP_ALGORITHM": algorithm,
            "INTEROP_REGION": "us",
            "INTEROP_SANDBOX": "true" if sandbox else "false",
        },
    )
    assert results["path"] == prefix + "checkoutSessions", results
    assert results["wrongPrivateKey"] == {"status": 403, "reasonCode": "InvalidRequestSignature"}, results
    # Control: the very headers the SDK signed are accepted when the body is the one signed.
    assert results["untamperedRawRequest"] == {"status": 201, "reasonCode": None}, results
    assert results["tamperedBody"] == {"status": 403, "reasonCode": "InvalidRequestSignature"}, results
    assert https_sim.counts() == {"checkoutSessions": 1}


# -- 2. Node's crypto verifies our Python signatures -----------------------------------------

NOW = datetime(2024, 3, 1, 12, 30, 45, tzinfo=UTC)
UNICODE_ORDER = {
    "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://shop.test/checkout/review?a=1&b=/x"},
    "storeId": STORE_ID,
    "merchantMetadata": {"merchantStoreName": "Café Grüße – 東京 😀", "noteToBuyer": 'Quote " and back\\slash'},
}


def _json_bytes(payload) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _request_case(name, client: AmazonPayClient, method, resource, body=b"", query=None, headers=None) -> dict:
    path = client.base_path + resource
    sent = client.signed_headers(method, path, body, query, headers, now=NOW)
    pairs = [[k, v] for k, values in (query or {}).items() for v in ([values] if isinstance(values, str) else values)]
    return {
        "name": name,
        "kind": "request",
        "method": method,
        "path": path,
        "query": pairs,
        "headers": sent,
        "bodyBase64": base64.b64encode(body).decode("ascii"),
    }


def _button_case(name, client: AmazonPayClient, payload: str) -> dict:
    signature = client.generate_button_signature(payload)
    return {"name": name, "kind": "button", "algorithm": client.algorithm, "payload": payload, "signature": signature}


def build_cases(private_key) -> tuple[list[dict], dict[str, bool]]:
    """Cases signed by our code, and whether each must verify (negative controls must not)."""
    clients = {
        (key_id, algorithm): AmazonPayClient(key_id, private_key, "us", sandbox=True, algorithm=algorithm)
        for key_id in (PUBLIC_KEY_ID, PLAIN_KEY_ID)
        for algorithm in (V1, V2)
    }
    try:
        env_v2, env_v1 = clients[(PUBLIC_KEY_ID, V2)], clients[(PUBLIC_KEY_ID, V1)]
        plain_v2, plain_v1 = clients[(PLAIN_KEY_ID, V2)], clients[(PLAIN_KEY_ID, V1)]
        order = _json_bytes(UNICODE_ORDER)
        idem = {"x-amz-pay-idempotency-key": "a1B2c3D4-e5F6_g7H8i9J0k1L2m3N4o5"}
        cases = [
            _request_case("get-v2", env_v2, "GET", "/checkoutSessions/bd504926-f659-4ad7-a1a9-9a747aaf5275"),
            _request_case("get-v1-plain-key", plain_v1, "GET", "/chargePermissions/S01-1234567-1234567"),
            _request_case(
                "get-v1-query",
                env_v1,
                "GET",
                "/authorizationTokens/amzn.mws.1234",
                query={"merchantId": "A1 B/C*!'()~ü", "z": "1", "a": "x+y=z&w"},
            ),
            _request_case("get-v2-encoded-path", env_v2, "GET", "/buyers/tok%C3%A4%20n"),
            _request_case("post-v2-unicode-idempotency", env_v2, "POST", "/checkoutSessions", order, headers=idem),
            _request_case("post-v1-unicode-idempotency", env_v1, "POST", "/checkoutSessions", order, headers=idem),
            _request_case(
                "post-v2-plain-key-simulation-code",
                plain_v2,
                "POST",
                "/charges/S01-1234567-1234567-C000001/capture",
                _json_bytes({"captureAmount": {"amount": "10.00", "currencyCode": "EUR"}, "softDescriptor": "Grüße"}),
                headers={**idem, "x-amz-pay-simulation-code": "CaptureInitiated"},
            ),
            _request_case("patch-v2-unicode", plain_v2, "PATCH", "/checkoutSessions/abc", order),
            _request_case(
                "delete-v1-body",
                plain_v1,
                "DELETE",
                "/chargePermissions/S01-1/close",
                _json_bytes({"closureReason": "Bestellung storniert – danke", "cancelPendingCharges": True}),
            ),
        ]
        button_unicode = json.dumps(UNICODE_ORDER, ensure_ascii=False)
        button_slashes = json.dumps({"storeId": STORE_ID, "url": "https://shop.test/a/b/c?x=/y"})
        button_escaped = button_slashes.replace("/", "\\/")  # PHP json_encode style: a different string
        for client in (env_v1, env_v2):
            tag = "v2" if client.algorithm == V2 else "v1"
            cases += [
                _button_case(f"button-{tag}-unicode", client, button_unicode),
                _button_case(f"button-{tag}-slashes", client, button_slashes),
                _button_case(f"button-{tag}-escaped-slashes", client, button_escaped),
            ]
        expected = {case["name"]: True for case in cases}

        # Negative controls: each must report invalid, or the verifier proves nothing.
        by_name = {case["name"]: case for case in cases}
        tampered = dict(by_name["post-v2-unicode-idempotency"], name="neg-tampered-body")
        tampered["bodyBase64"] = base64.b64encode(order.replace("Café".encode(), b"Cafe")).decode("ascii")
        wrong_salt_check = dict(by_name["get-v2"], name="neg-v2-signature-checked-with-salt-20", saltLength=20)
        tampered_button = dict(by_name["button-v2-slashes"], name="neg-button-escaped-payload")
        tampered_button["payload"] = button_escaped  # signed unescaped, presented escaped
        key = clients[(PUBLIC_KEY_ID, V2)]._private_key
        salt20 = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20)
        raw = key.sign(signing.button_string_to_sign(button_unicode, V2).encode(), salt20, hashes.SHA256())
        wrong_salt = {
            "name": "neg-v2-label-signed-with-salt-20",
            "kind": "button",
            "algorithm": V2,
            "payload": button_unicode,
            "signature": base64.b64encode(raw).decode("ascii"),
        }
        # ... and its positive twin: the crafted signature is sound, only its salt length is wrong.
        wrong_salt_twin = dict(wrong_salt, name="pos-salt-20-signature-checked-with-salt-20", saltLength=20)
        for case in (tampered, wrong_salt_check, tampered_button, wrong_salt):
            cases.append(case)
            expected[case["name"]] = False
        cases.append(wrong_salt_twin)
        expected[wrong_salt_twin["name"]] = True
        return cases, expected
    finally:
        for client in clients.values():
            client.http.close()


def test_node_crypto_verifies_python_signatures(node, work_dir, private_key):
    cases, expected = build_cases(private_key)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cases_file = work_dir / "signature-cases.json"
    cases_file.write_text(json.dumps({"publicKeyPem": public_pem.decode("ascii"), "cases": cases}, ensure_ascii=False))

    output = run_node(node, "verify.js", [str(cases_file)])
    results = {result["name"]: result for result in output["results"]}
    assert sorted(results) == sorted(expected)
    verdicts = {name: result["valid"] for name, result in results.items()}
    mismatched = {name: results[name] for name in expected if verdicts[name] is not expected[name]}
    assert not mismatched, json.dumps(mismatched, indent=1, ensure_ascii=False)
    assert sum(expected.values()) >= 16 and list(expected.values()).count(False) == 4

    for case in cases:
        result = results[case["name"]]
        if case["kind"] == "request":
            assert "error" not in result, result
            assert result["signsEveryHeaderSent"] and result["signedHeadersSorted"], result
            assert result["publicKeyId"] in (PUBLIC_KEY_ID, PLAIN_KEY_ID), result
            expected_salt = case.get("saltLength", signing.SALT_LENGTHS[result["algorithm"]])
            assert result["saltLength"] == expected_salt, result
    # The URL shapes we signed are the ones the SDK uses for each kind of key.
    assert results["get-v2"]["canonicalRequest"].startswith("GET\n/v2/checkoutSessions/")
    assert results["get-v1-plain-key"]["canonicalRequest"].startswith("GET\n/sandbox/v2/chargePermissions/")
    query_line = results["get-v1-query"]["canonicalRequest"].split("\n")[2]
    assert query_line == "a=x%2By%3Dz%26w&merchantId=A1%20B%2FC%2A%21%27%28%29~%C3%BC&z=1"
