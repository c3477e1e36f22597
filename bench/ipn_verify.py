"""How many Instant Payment Notifications the shop verifies per second, with its certificate
cache warm (the common case: SNS signs with one certificate for months).

Each message is a distinct, genuinely signed SNS Notification (a test key and certificate,
served once on a loopback origin that the verifier trusts as it trusts the simulator's);
every one is parsed, its certificate URL checked, its signature verified (RSA-2048, PKCS#1
v1.5, SHA256 for SignatureVersion 2 and SHA1 for 1) and its Message parsed. Verification
only: what the endpoint does next is one Get Charge (see bench/checkout_load.py for API
timings).

    .venv/bin/python -m bench.ipn_verify [--messages N]
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from shop.amazon_pay.ipn import SnsVerifier, string_to_sign


def certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    builder = (
        builder.serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def serve_certificate(pem: bytes) -> str:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.end_headers()
            self.wfile.write(pem)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def messages(key: rsa.RSAPrivateKey, origin: str, count: int, version: str) -> list[bytes]:
    signed = []
    for i in range(count):
        envelope = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:us-east-1:000000000000:amazon-pay-bench",
            "Message": json.dumps(
                {
                    "MerchantID": "A1BENCHMERCHANT",
                    "ObjectType": "CHARGE",
                    "ObjectId": f"S01-0000000-0000000-C{i:06d}",
                    "ChargePermissionId": "S01-0000000-0000000",
                    "NotificationType": "STATE_CHANGE",
                    "NotificationId": uuid.uuid4().hex,
                    "NotificationVersion": "V2",
                }
            ),
            "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "SignatureVersion": version,
            "SigningCertURL": f"{origin}/SimpleNotificationService-bench.pem",
        }
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()
        envelope["Signature"] = base64.b64encode(
            key.sign(string_to_sign(envelope), padding.PKCS1v15(), digest)
        ).decode()
        signed.append(json.dumps(envelope).encode())
    return signed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    origin = serve_certificate(certificate(key))
    print("| SignatureVersion | messages | seconds | verified IPNs/s | µs each |\n|---|---|---|---|---|")
    for version in ("2", "1"):
        verifier = SnsVerifier(trusted_cert_origin=origin)
        batch = messages(key, origin, args.messages, version)
        verifier.verify(batch[0])  # the certificate is fetched once: the cache is warm
        started = time.perf_counter()
        for body in batch:
            verifier.verify(body)
        seconds = time.perf_counter() - started
        rate = len(batch) / seconds
        print(f"| {version} | {len(batch)} | {seconds:.2f} | {rate:,.0f} | {1e6 / rate:.0f} |")


if __name__ == "__main__":
    main()
