"""Amazon Pay request signing: canonical request, string to sign, RSASSA-PSS.

Amazon Pay step: every API call and every button payload is signed here.

Pure functions, no I/O. The byte layout follows Amazon's "Signing requests" page and
the official SDKs (PHP, Java, .NET, Node.js, Ruby), which all produce the same bytes:

    CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
                       (name:value \n for each signed header, sorted) \n
                       SignedHeaders \n hex(sha256(body))
    StringToSign     = ALGORITHM \n hex(sha256(CanonicalRequest))
    Signature        = base64(RSASSA-PSS(SHA-256, MGF1-SHA-256, salt 32 (V2) or 20 (V1)))

PSS is randomised: the same string signs to a different value each time, and every one
verifies. Compare signatures by verifying them, never byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHM_V2 = "AMZN-PAY-RSASSA-PSS-V2"
ALGORITHM_V1 = "AMZN-PAY-RSASSA-PSS"
#: Salt length per algorithm (Amazon's signing page; every official SDK agrees).
SALT_LENGTHS = {ALGORITHM_V2: 32, ALGORITHM_V1: 20}


# RFC 3986 unreserved characters are the only ones left unencoded.
_UNRESERVED = "-_.~"


def hex_sha256(data: bytes | str) -> str:
    """Lower-case hex SHA-256, of UTF-8 text or of raw bytes."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def canonical_uri(path: str) -> str:
    """The path as Java and .NET canonicalise it: runs of '/' collapsed, each byte
    outside A-Za-z0-9-_.~ and '/' percent-encoded in upper-case hex, trailing '/' kept.

    Every real Amazon Pay path is already canonical, so this returns it unchanged.
    """
    path = re.sub("/+", "/", unquote(path or "/"))
    return quote(path, safe=_UNRESERVED + "/") or "/"


def canonical_query(params: Mapping[str, str | Iterable[str]] | None) -> str:
    """name=value pairs, RFC 3986-encoded, sorted by name then value, joined by '&'."""
    if not params:
        return ""
    pairs = []
    for name, values in params.items():
        if isinstance(values, str):
            values = [values]
        for value in values:
            pairs.append((quote(str(name), safe=_UNRESERVED), quote(str(value), safe=_UNRESERVED)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def signed_header_names(headers: Mapping[str, str]) -> str:
    """The SignedHeaders value: lower-cased names, sorted, joined by ';'."""
    return ";".join(sorted(name.lower() for name in headers))


def canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str | Iterable[str]] | None,
    headers: Mapping[str, str],
    body: bytes | str = b"",
) -> str:
    """The canonical request over exactly the headers given (all of them are signed)."""
    lowered = {name.lower(): " ".join(str(value).split()) for name, value in headers.items()}
    header_block = "".join(f"{name}:{lowered[name]}\n" for name in sorted(lowered))
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            header_block,
            signed_header_names(headers),
            hex_sha256(body or b""),
        ]
    )


def string_to_sign(canonical: str, algorithm: str = ALGORITHM_V2) -> str:
    """ALGORITHM + newline + hex(sha256(canonical request)); no trailing newline."""
    check_algorithm(algorithm)
    return f"{algorithm}\n{hex_sha256(canonical)}"


def check_algorithm(algorithm: str) -> str:
    if algorithm not in SALT_LENGTHS:
        raise ValueError(f"Unsupported signature algorithm {algorithm!r}: use {ALGORITHM_V2!r} or {ALGORITHM_V1!r}.")
    return algorithm


def pss_padding(algorithm: str) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=SALT_LENGTHS[check_algorithm(algorithm)])


def sign(text: str, private_key: rsa.RSAPrivateKey, algorithm: str = ALGORITHM_V2) -> str:
    """Base64 RSASSA-PSS signature of the UTF-8 bytes of ``text``."""
    raw = private_key.sign(text.encode("utf-8"), pss_padding(algorithm), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def authorization_header(algorithm: str, public_key_id: str, signed_headers: str, signature: str) -> str:
    """``<ALG> PublicKeyId=<id>, SignedHeaders=<h1;h2>, Signature=<b64>`` (no quotes)."""
    return f"{algorithm} PublicKeyId={public_key_id}, SignedHeaders={signed_headers}, Signature={signature}"


def sign_request(
    method: str,
    path: str,
    query: Mapping[str, str | Iterable[str]] | None,
    headers: Mapping[str, str],
    body: bytes | str,
    private_key: rsa.RSAPrivateKey,
    public_key_id: str,
    algorithm: str = ALGORITHM_V2,
) -> str:
    """The Authorization header value for a request whose ``headers`` are all signed."""
    canonical = canonical_request(method, path, query, headers, body)
    signature = sign(string_to_sign(canonical, algorithm), private_key, algorithm)
    return authorization_header(algorithm, public_key_id, signed_header_names(headers), signature)


def button_string_to_sign(payload: str, algorithm: str = ALGORITHM_V2) -> str:
    """What Amazon verifies for a button: ALGORITHM + newline + hex(sha256(payload)).

    ``payload`` is the exact string the page hands to checkout.js; re-serialising it
    after signing (key order, spacing, escaped slashes) breaks the signature.
    """
    if not isinstance(payload, str):
        raise TypeError("Sign the payload string itself (json.dumps it once, then emit that string).")
    return f"{check_algorithm(algorithm)}\n{hex_sha256(payload)}"


def sign_button_payload(payload: str, private_key: rsa.RSAPrivateKey, algorithm: str = ALGORITHM_V2) -> str:
    """Signature for ``createCheckoutSessionConfig.signature`` / ``signInConfig.signature``."""
    return sign(button_string_to_sign(payload, algorithm), private_key, algorithm)
