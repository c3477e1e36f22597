"""Amazon SNS HTTP notifications, the envelope Amazon Pay's IPNs arrive in, and their signature.

Amazon Pay v2 sends its Instant Payment Notifications through Amazon SNS
(https://developer.amazon.com/docs/amazon-pay-checkout/setting-up-instant-payment-notifications.html).
An SNS HTTP(S) delivery is a POST whose body is a JSON envelope
(https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html): ``Type``,
``MessageId``, ``TopicArn``, ``Message`` (for Amazon Pay, the IPN as a JSON string),
``Timestamp``, ``SignatureVersion``, ``Signature``, ``SigningCertURL``, ``UnsubscribeURL``
(``SubscribeURL`` and ``Token`` for a ``SubscriptionConfirmation``). The signature is RSA PKCS#1
v1.5 over a string built from some of those fields in a fixed order, SHA1 for version 1 and
SHA256 for version 2, checked with the public key of the certificate at ``SigningCertURL``
(https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html).

The simulator signs with a test key of its own and a self-signed certificate for the subject
``sns.amazonaws.com``, made in memory on first use and served at :data:`CERT_PATH`: a shop trusts
that URL only in simulator mode.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

#: Where the simulator serves its signing certificate (``SigningCertURL`` = origin + this).
CERT_PATH = "/sns/SimpleNotificationService-simulator.pem"
#: The fields signed, in this order, when present (the SNS signature-verification page).
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
#: The region and account of the simulator's topics (``000000000000``: no real AWS account).
REGION = "us-east-1"
ACCOUNT = "000000000000"


def topic_arn(merchant_id: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:amazon-pay-simulator-{merchant_id}"


def timestamp(moment: datetime) -> str:
    """SNS timestamps: ISO 8601 UTC with milliseconds and ``Z``, e.g. 2024-05-01T12:00:00.123Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def string_to_sign(envelope: dict[str, str]) -> str:
    fields = NOTIFICATION_FIELDS if envelope["Type"] == "Notification" else CONFIRMATION_FIELDS
    return "".join(f"{name}\n{envelope[name]}\n" for name in fields if name in envelope)


def body(envelope: dict[str, str]) -> bytes:
    """The POST body as SNS writes it: two-space indent, ``"Key" : "value"``, UTF-8."""
    return json.dumps(envelope, indent=2, separators=(",", " : "), ensure_ascii=False).encode("utf-8")


class SigningCertificate:
    """The simulator's SNS signing key and its self-signed certificate (RSA 2048, CN
    sns.amazonaws.com, valid from a day ago for a year), made once, in memory, on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: rsa.RSAPrivateKey | None = None
        self._pem: bytes | None = None

    def _ensure(self) -> tuple[rsa.RSAPrivateKey, bytes]:
        with self._lock:
            if self._key is None or self._pem is None:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
                now = datetime.now(UTC)
                certificate = (
                    x509.CertificateBuilder()
                    .subject_name(name)
                    .issuer_name(name)
                    .public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - timedelta(days=1))
                    .not_valid_after(now - timedelta(days=1) + timedelta(days=365))
                    .sign(key, hashes.SHA256())
                )
                self._key, self._pem = key, certificate.public_bytes(serialization.Encoding.PEM)
            return self._key, self._pem

    @property
    def pem(self) -> bytes:
        return self._ensure()[1]

    def sign(self, envelope: dict[str, str], version: str) -> None:
        """Set ``SignatureVersion`` and ``Signature`` (base64 RSA PKCS#1 v1.5, SHA1 or SHA256)."""
        key, _pem = self._ensure()
        signed = key.sign(string_to_sign(envelope).encode("utf-8"), padding.PKCS1v15(), HASHES[version]())
        envelope["SignatureVersion"] = version
        envelope["Signature"] = base64.b64encode(signed).decode("ascii")
