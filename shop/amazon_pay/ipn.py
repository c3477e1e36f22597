"""Instant Payment Notifications: verify the Amazon SNS message Amazon Pay POSTs to the shop.

Amazon Pay step: **IPN**. Amazon tells a merchant that a Charge, Refund or Charge Permission
changed by an Amazon SNS HTTP notification
(https://developer.amazon.com/docs/amazon-pay-checkout/setting-up-instant-payment-notifications.html).
Its ``Message`` names the object, never its state: the receiver then GETs the object. Before
that, the envelope is verified as AWS documents
(https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html):

- ``SigningCertURL`` is https, on ``sns.<region>.amazonaws.com`` (or ``.amazonaws.com.cn``),
  and ends in ``.pem``; the certificate is fetched with a timeout, cached, and must be valid
  now;
- the string to sign is built from the message's fields in AWS's fixed order, and the
  signature verified with RSA PKCS#1 v1.5: SHA1 for ``SignatureVersion`` 1, SHA256 for 2;
- optionally, ``TopicArn`` must be one the merchant expects.

Why not a library: the PyPI verifiers either pull in boto3 and pydantic and confirm
subscriptions by default, or support SignatureVersion 1 only; the check is short on
``cryptography``, which the client already needs. No Flask here: ``shop.web.ipn`` is the
endpoint.

``trusted_cert_origin`` exists for the offline simulator only, whose certificate is served
from its own origin: the shop sets it in simulator mode and refuses it in sandbox and live.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Where AWS serves SNS signing certificates (AWS's own SDKs check the same pattern).
SNS_HOST = re.compile(r"sns\.[a-z0-9-]{3,}\.amazonaws\.com(\.cn)?")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
#: The fields signed, in AWS's order, per message type (those present are used).
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
REQUIRED = ("Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL")
OBJECT_TYPES = ("CHARGE", "REFUND", "CHARGE_PERMISSION", "CHARGEBACK")
MAX_CERTIFICATES = 32


class IpnError(ValueError):
    """A message that is not a genuine, well-formed SNS notification: refused, nothing done."""


@dataclass(frozen=True)
class Notification:
    """A verified SNS message. For a ``Notification``, ``message`` is Amazon Pay's IPN:
    ``MerchantID``, ``ObjectType``, ``ObjectId``, ``ChargePermissionId``, ``NotificationType``,
    ``NotificationId``, ``NotificationVersion``."""

    type: str
    message_id: str
    topic_arn: str
    message: dict[str, Any]
    subscribe_url: str | None = None

    @property
    def notification_id(self) -> str:
        return str(self.message.get("NotificationId") or self.message_id)


class SnsVerifier:
    """Verifies SNS messages; one per app (it caches certificates, thread-safe)."""

    def __init__(
        self,
        topic_arns: tuple[str, ...] = (),
        trusted_cert_origin: str | None = None,
        timeout: float = 5.0,
        session: requests.Session | None = None,
    ) -> None:
        self.topic_arns = tuple(topic_arns)
        self.trusted_cert_origin = trusted_cert_origin.rstrip("/") if trusted_cert_origin else None
        self.timeout = timeout
        self.http = session or requests.Session()
        self._certificates: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def verify(self, body: bytes) -> Notification:
        """The notification in ``body`` (the raw POST body), or IpnError saying why not."""
        envelope = _envelope(body)
        if self.topic_arns and envelope["TopicArn"] not in self.topic_arns:
            raise IpnError(f"TopicArn {envelope['TopicArn'][:120]!r} is not one this shop expects")
        certificate = self._certificate(envelope["SigningCertURL"])
        _check_signature(envelope, certificate)
        message: dict[str, Any] = {}
        if envelope["Type"] == "Notification":
            message = _ipn_message(envelope["Message"])
        return Notification(
            envelope["Type"], envelope["MessageId"], envelope["TopicArn"], message, envelope.get("SubscribeURL")
        )

    def allowed_topic(self, topic_arn: str) -> bool:
        """Only an expected topic's subscription may be confirmed (none if none is configured)."""
        return topic_arn in self.topic_arns

    def _certificate(self, url: str) -> x509.Certificate:
        self._check_cert_url(url)
        with self._lock:
            certificate = self._certificates.get(url)
        if certificate is None:
            certificate = self._fetch(url)
            with self._lock:
                if len(self._certificates) >= MAX_CERTIFICATES:
                    self._certificates.pop(next(iter(self._certificates)))
                self._certificates[url] = certificate
        now = datetime.now(UTC)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise IpnError("the signing certificate is not valid now")
        return certificate

    def _check_cert_url(self, url: str) -> None:
        parts = urlsplit(url)
        if self.trusted_cert_origin and url.startswith(self.trusted_cert_origin + "/"):
            return  # the offline simulator's own certificate (simulator mode only)
        if parts.scheme != "https" or not SNS_HOST.fullmatch(parts.hostname or "") or not parts.path.endswith(".pem"):
            raise IpnError(f"SigningCertURL {url[:120]!r} is not an https .pem on sns.<region>.amazonaws.com")
        if parts.port not in (None, 443) or parts.query or parts.username:
            raise IpnError(f"SigningCertURL {url[:120]!r} is not a plain AWS certificate URL")

    def _fetch(self, url: str) -> x509.Certificate:
        try:
            answer = self.http.get(url, timeout=self.timeout, allow_redirects=False)
            answer.raise_for_status()
            return x509.load_pem_x509_certificate(answer.content)
        except (requests.RequestException, ValueError) as error:
            raise IpnError(f"the signing certificate could not be fetched or read ({type(error).__name__})") from None


def _envelope(body: bytes) -> dict[str, str]:
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise IpnError("the body is not JSON") from None
    if not isinstance(envelope, dict):
        raise IpnError("the body is not a JSON object")
    missing = [name for name in REQUIRED if not isinstance(envelope.get(name), str)]
    if missing:
        raise IpnError(f"missing or not text: {', '.join(missing)}")
    if envelope["Type"] not in SIGNED_FIELDS:
        raise IpnError(f"unknown Type {envelope['Type'][:40]!r}")
    if envelope["SignatureVersion"] not in HASHES:
        raise IpnError(f"SignatureVersion {envelope['SignatureVersion'][:8]!r} is not 1 or 2")
    return envelope


def string_to_sign(envelope: dict[str, str]) -> bytes:
    """AWS's string to sign: ``name\\nvalue\\n`` for each signed field present, in order."""
    fields = SIGNED_FIELDS[envelope["Type"]]
    return "".join(f"{name}\n{envelope[name]}\n" for name in fields if name in envelope).encode()


def _check_signature(envelope: dict[str, str], certificate: x509.Certificate) -> None:
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise IpnError("the signing certificate does not hold an RSA key")
    try:
        signature = base64.b64decode(envelope["Signature"], validate=True)
        algorithm = HASHES[envelope["SignatureVersion"]]()
        public_key.verify(signature, string_to_sign(envelope), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, binascii.Error, ValueError):
        raise IpnError("the signature does not verify") from None


def _ipn_message(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise IpnError("the Message is not JSON") from None
    if not isinstance(message, dict):
        raise IpnError("the Message is not a JSON object")
    if message.get("ObjectType") not in OBJECT_TYPES or not isinstance(message.get("ObjectId"), str):
        raise IpnError("the Message names no Amazon Pay object (ObjectType, ObjectId)")
    return message
