"""Signature verification as Amazon Pay does it, from the request as received.

The verifier rebuilds the canonical request from what arrived on the wire (the path before
percent-decoding, the raw query, the headers named in ``SignedHeaders`` with the values sent,
the raw body bytes), so any correct client passes, not only ours: PHP signs five headers,
Node also signs ``user-agent``, Java sends ``x-amz-pay-region: NA``, Node sends an extended
ISO date. Deliberately independent of ``shop.amazon_pay.signing``. Recipe:
https://developer.amazon.com/docs/amazon-pay-api-v2/signing-requests.html, as the official SDKs
implement it, e.g.
https://github.com/amzn/amazon-pay-api-sdk-java/blob/master/src/com/amazon/pay/api/SignatureHelper.java
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import ApiError, invalid_header, missing_header
from .keys import KeyRing

SALT_LENGTHS = {"AMZN-PAY-RSASSA-PSS": 20, "AMZN-PAY-RSASSA-PSS-V2": 32}

#: Allowed distance between x-amz-pay-date and the simulator's clock. Amazon publishes no figure
#: (https://developer.amazon.com/docs/amazon-pay-api-v2/signing-requests.html names none);
#: 15 minutes is the simulator's choice.
DATE_TOLERANCE = timedelta(minutes=15)

_DATE_FORMATS = ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Caller:
    public_key_id: str
    algorithm: str


@dataclass(frozen=True)
class Authorization:
    algorithm: str
    public_key_id: str
    signed_headers: list[str]
    signature: bytes
    signature_text: str


def parse_authorization(value: str | None) -> Authorization:
    """``ALG PublicKeyId=…, SignedHeaders=a;b, Signature=…`` (split on the first '=' only)."""
    if value is None:
        raise missing_header("authorization")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm not in SALT_LENGTHS:
        raise invalid_header("authorization", detail=f" Unsupported algorithm {algorithm[:40]!r}.")
    fields = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name] = field_value
    try:
        key_id, headers, signature_text = fields["PublicKeyId"], fields["SignedHeaders"], fields["Signature"]
        signature = base64.b64decode(signature_text, validate=True)
    except (KeyError, binascii.Error, ValueError):
        raise invalid_header(
            "authorization",
            detail=" Expected: <algorithm> PublicKeyId=<id>, SignedHeaders=<h1;h2>, Signature=<base64>.",
        ) from None
    names = [name for name in headers.split(";") if name]
    if not key_id or not names or not signature:
        raise invalid_header("authorization")
    return Authorization(algorithm, key_id, names, signature, signature_text)


def _encode(text: str, safe: str) -> str:
    return quote(text, safe=safe)


def canonical_uri(raw_path: str) -> str:
    path = re.sub("/+", "/", unquote(raw_path or "/"))
    return _encode(path, "-_.~/") or "/"


def canonical_query(raw_query: str) -> str:
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((_encode(unquote(name), "-_.~"), _encode(unquote(value), "-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers,
    auth: Authorization,
    body: bytes,
    query_as_received: bool = False,
) -> str:
    lines = []
    for name in auth.signed_headers:
        value = headers.get(name)
        if value is None:
            raise missing_header(name)
        lines.append(f"{name.lower()}:{' '.join(value.split())}\n")
    query = raw_query if query_as_received else canonical_query(raw_query)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            query,
            "".join(lines),
            ";".join(auth.signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def string_to_sign(algorithm: str, canonical: str) -> str:
    return f"{algorithm}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def verify_pss(public_key: rsa.RSAPublicKey, algorithm: str, text: str, signature: bytes) -> bool:
    try:
        public_key.verify(
            signature,
            text.encode("utf-8"),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=SALT_LENGTHS[algorithm]),
            hashes.SHA256(),
        )
    except InvalidSignature:
        return False
    return True


def parse_amz_date(value: str) -> datetime | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def check_date(headers, signed_headers: list[str], now: datetime) -> None:
    value = headers.get("x-amz-pay-date")
    if value is None:
        raise missing_header("x-amz-pay-date")
    if "x-amz-pay-date" not in [name.lower() for name in signed_headers]:
        raise invalid_header("authorization", detail=" SignedHeaders must include x-amz-pay-date.")
    moment = parse_amz_date(value.strip())
    if moment is None:
        raise invalid_header("x-amz-pay-date", value[:40])
    if moment - now > DATE_TOLERANCE:
        # Amazon's exact words for a clock that runs ahead:
        # https://github.com/amzn/amazon-payments-magento-2-plugin/issues/1103
        raise ApiError(
            400, "InvalidHeaderValue", f"The value {value} provided for x-amz-pay-date should not be in future"
        )
    if now - moment > DATE_TOLERANCE:
        raise ApiError(400, "InvalidHeaderValue", f"The value {value} provided for x-amz-pay-date has expired")


def verify_request(request, keys: KeyRing, now: datetime) -> Caller:
    """Check the Authorization header, the date and the signature; return who signed."""
    headers = request.headers
    auth = parse_authorization(headers.get("authorization"))
    check_date(headers, auth.signed_headers, now)
    public_key = keys.get(auth.public_key_id)
    if public_key is None:
        raise ApiError(
            403,
            "InvalidAuthentication",
            f"The PublicKeyId {auth.public_key_id[:64]} is not registered for this merchant.",
        )
    raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or quote(request.path)
    raw_path = raw_uri.split("?", 1)[0]
    raw_query = request.query_string.decode("latin-1")
    body = request.get_data(cache=True)
    attempts = [False, True] if raw_query else [False]
    sts = ""
    for as_received in attempts:  # retry with the raw query covers Ruby's '+' and Node's '!*()'
        sts = string_to_sign(
            auth.algorithm,
            canonical_request(request.method, raw_path, raw_query, headers, auth, body, query_as_received=as_received),
        )
        if verify_pss(public_key, auth.algorithm, sts, auth.signature):
            return Caller(auth.public_key_id, auth.algorithm)
    # Amazon's message echoes its own string to sign: the first thing to compare when debugging.
    raise ApiError(
        403,
        "InvalidRequestSignature",
        f"Unable to verify signature, signing String [{sts}] , signature [{auth.signature_text}]",
    )


def verify_button_signature(keys: KeyRing, public_key_id: str, algorithm: str, payload: str, signature: str) -> bool:
    """A button payload signature: ALGORITHM + newline + hex(sha256(payload string))."""
    public_key = keys.get(public_key_id or "")
    if public_key is None or algorithm not in SALT_LENGTHS:
        return False
    try:
        raw = base64.b64decode(signature or "", validate=True)
    except (binascii.Error, ValueError):
        return False
    text = f"{algorithm}\n{hashlib.sha256(payload.encode('utf-8')).hexdigest()}"
    return verify_pss(public_key, algorithm, text, raw)
