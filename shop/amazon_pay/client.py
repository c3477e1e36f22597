"""AmazonPayClient: one method per Amazon Pay API v2 operation.

Amazon Pay step: every server-side call of Checkout v2 (Create / Get / Update / Complete
Checkout Session, Charge Permissions, Charges, Refunds, Get Buyer) goes through here.

What it does for you, and why:
- signs each request (``signing.py``) with a private key parsed once at construction;
- sends ``x-amz-pay-idempotency-key`` on every POST (yours, or a generated one) and re-sends
  the very same signed request on a retry, so a retry can never charge twice;
- retries 408/425/429/5xx and connection errors 3 times with exponential backoff,
  honouring ``Retry-After`` (urllib3 ``Retry`` on one keep-alive ``requests.Session``);
- always sets connect and read timeouts (the PHP and Node SDKs set none), and a total
  deadline per call, retries and back-off included: a retry that could not finish in time is
  not started (``deadline``; ``within(seconds)`` caps every call of a block, e.g. a request);
- logs operation, status, request id, duration and retries, never the key, the
  Authorization header or a buyer's personal data.

Names follow the official SDKs (``getCheckoutSession`` -> ``get_checkout_session``).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util.retry import Retry

from . import signing

log = logging.getLogger(__name__)

#: Config region -> (API host, value of x-amz-pay-region). Same table as the official SDKs, e.g.
#: https://github.com/amzn/amazon-pay-api-sdk-nodejs/blob/HEAD/src/constants.js (API_ENDPOINTS, REGION_MAP).
REGIONS = {
    "us": ("pay-api.amazon.com", "na"),
    "na": ("pay-api.amazon.com", "na"),
    "eu": ("pay-api.amazon.eu", "eu"),
    "de": ("pay-api.amazon.eu", "eu"),
    "uk": ("pay-api.amazon.eu", "eu"),
    "jp": ("pay-api.amazon.jp", "jp"),
}

#: Statuses the official SDKs retry (PHP/Java list; 425 was added in their latest releases).
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

#: Amazon's rule for idempotency keys: at most 32 characters of [A-Za-z0-9_-].
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

USER_AGENT = "amazon-pay-flask-storefront/1.0 (Python; requests)"

#: Extra request headers for one call, e.g. ``x-amz-pay-simulation-code``.
Headers = Mapping[str, str]


@dataclass
class AmazonPayResponse:
    """A 2xx answer: HTTP status, parsed JSON body, Amazon's request id, retries it took."""

    status: int
    body: dict[str, Any]
    request_id: str | None
    retries: int = 0
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


class AmazonPayError(Exception):
    """A non-2xx answer from Amazon Pay (``status`` and ``reason_code`` from its body), or,
    with ``status`` None, no answer at all (connection error or timeout after retries)."""

    def __init__(
        self,
        status: int | None,
        reason_code: str | None,
        message: str,
        request_id: str | None = None,
        retries: int = 0,
    ) -> None:
        super().__init__(f"{status} {reason_code}: {message}")
        self.status = status
        self.reason_code = reason_code
        self.message = message
        self.request_id = request_id
        self.retries = retries


def load_private_key(private_key: Any) -> rsa.RSAPrivateKey:
    """Parse an RSA private key given as PEM text, PEM bytes or a path (PKCS#1 or PKCS#8).

    Errors name the setting but never echo the key material.
    """
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key
    if isinstance(private_key, str) and "-----BEGIN" not in private_key:
        private_key = Path(private_key)
    if isinstance(private_key, Path):
        try:
            private_key = private_key.read_bytes()
        except OSError as exc:
            # Name the file only when the value looks like a path: a key pasted without its
            # BEGIN/END lines must not be echoed into logs or a terminal.
            shown = str(private_key)
            looks_like_path = len(shown) <= 255 and ("/" in shown or shown.endswith(".pem")) and "\n" not in shown
            where = f"key file {shown!r}" if looks_like_path else "the value as a file, and it is not a PEM key either"
            raise ValueError(f"private_key: cannot read {where} ({exc.strerror}).") from None
    if isinstance(private_key, str):
        private_key = private_key.encode("ascii", "replace")
    if not isinstance(private_key, bytes):
        raise ValueError("private_key: give PEM text, PEM bytes or a path to a PEM file.")
    try:
        key = serialization.load_pem_private_key(private_key.strip() + b"\n", password=None)
    except (ValueError, TypeError):
        raise ValueError(
            "private_key: not a readable unencrypted PEM private key "
            "(expected the PKCS#8 or PKCS#1 PEM file Seller Central gave you, BEGIN and END lines included)."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("private_key: Amazon Pay keys are RSA keys; this PEM holds another key type.")
    return key


def is_environment_specific(public_key_id: str) -> bool:
    """Keys like ``SANDBOX-…`` / ``LIVE-…`` select the environment themselves (URL ``/v2``)."""
    return public_key_id.upper().startswith(("SANDBOX", "LIVE"))


def generate_idempotency_key() -> str:
    """A fresh key for one POST; a retry of that POST must reuse it."""
    return uuid.uuid4().hex  # 32 characters of [0-9a-f]: within Amazon's limit


def _base_url(endpoint: str) -> str:
    """A configured endpoint (the simulator, a proxy) as a base URL without a trailing slash."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"endpoint: {endpoint!r} is not a base URL such as http://127.0.0.1:5001.")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


#: (when the call must end, the longest one attempt may take): read by DeadlineRetry.
_CALL_LIMITS: ContextVar[tuple[float, float] | None] = ContextVar("amazon_pay_call_limits", default=None)
#: When every call of the current block (a web request) must end, if someone set it.
_BLOCK_ENDS: ContextVar[float | None] = ContextVar("amazon_pay_block_ends", default=None)


class within:  # noqa: N801 (used as a function: ``with within(25):``)
    """Every call made in this block (this thread) ends within ``seconds`` from its start,
    retries included: the shop wraps each buyer's request in it, below the server's worker
    timeout. (A class, not ``@contextmanager``: it is entered on every request.)"""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._token: Token | None = None

    def __enter__(self) -> None:
        self._token = _BLOCK_ENDS.set(time.monotonic() + self.seconds)

    def __exit__(self, *_exc) -> None:
        if self._token is not None:
            _BLOCK_ENDS.reset(self._token)
            self._token = None


class DeadlineRetry(Retry):
    """urllib3's Retry, which also declines a retry that could not finish before the call's
    deadline (the back-off or ``Retry-After`` wait, plus one whole attempt)."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        limits = _CALL_LIMITS.get()
        if limits is not None:
            ends, attempt = limits
            wait = (response is not None and new.get_retry_after(response)) or new.get_backoff_time()
            if time.monotonic() + wait + attempt > ends:
                raise MaxRetryError(_pool, url, error or ResponseError("no time left for a retry"))
        return new


def _retrying_session(http: requests.Session, max_retries: int, backoff_factor: float) -> requests.Session:
    """Retries as the official SDKs do: connection failures, 408/425/429/5xx, honouring
    Retry-After. POSTs too: their idempotency key makes a repeat safe."""
    retry = DeadlineRetry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,
        backoff_factor=backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http


class AmazonPayClient:
    """Signed calls to the Amazon Pay API v2.

    >>> client = AmazonPayClient("SANDBOX-AAAA…", "instance/private.pem", region="us")
    >>> client.get_checkout_session(checkout_session_id).body["statusDetails"]["state"]
    'Open'
    """

    def __init__(
        self,
        public_key_id: str,
        private_key: Any,
        region: str,
        sandbox: bool = True,
        algorithm: str = signing.ALGORITHM_V2,
        endpoint: str | None = None,
        *,
        timeout: tuple[float, float] = (3.05, 8.0),
        deadline: float = 25.0,
        max_retries: int = 3,
        backoff_factor: float = 1.0,
        session: requests.Session | None = None,
    ) -> None:
        if not public_key_id or not isinstance(public_key_id, str):
            raise ValueError("public_key_id: missing (your Public Key ID from Seller Central).")
        region_key = str(region).lower()
        if region_key not in REGIONS:
            raise ValueError(f"region: {region!r} is not one of {', '.join(sorted(REGIONS))}.")
        try:
            self.algorithm = signing.check_algorithm(algorithm)
        except ValueError as exc:
            raise ValueError(f"algorithm: {exc}") from None
        self.public_key_id = public_key_id
        self.region = region_key
        self.sandbox = sandbox
        self._private_key = load_private_key(private_key)
        self.timeout = timeout
        self.deadline = deadline
        self.max_retries = max_retries

        host, self.amz_region = REGIONS[region_key]
        base = _base_url(endpoint) if endpoint else f"https://{host}"
        self.host = urlsplit(base).netloc
        # Environment-specific keys (SANDBOX-…, LIVE-…) carry the environment: no path segment.
        environment = "" if is_environment_specific(public_key_id) else ("/sandbox" if sandbox else "/live")
        self.base_path = urlsplit(base).path + environment + "/v2"
        self.base_url = base.rstrip("/") + environment + "/v2"
        self.http = _retrying_session(session or requests.Session(), max_retries, backoff_factor)

    def __repr__(self) -> str:  # never show the key
        return (
            f"AmazonPayClient(public_key_id={self.public_key_id!r}, region={self.region!r}, base_url={self.base_url!r})"
        )

    # -- signing ---------------------------------------------------------------------

    def generate_button_signature(self, payload: str) -> str:
        """Sign a button payload string byte for byte (``createCheckoutSessionConfig``)."""
        return signing.sign_button_payload(payload, self._private_key, self.algorithm)

    def signed_headers(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        query: Mapping[str, str] | None = None,
        headers: Headers | None = None,
        now: datetime | None = None,
    ) -> dict[str, str]:
        """The headers to send for one request, Authorization included (all others signed)."""
        now = now or datetime.now(UTC)
        to_sign = {
            "accept": "application/json",
            "content-type": "application/json",
            "x-amz-pay-date": now.strftime("%Y%m%dT%H%M%SZ"),
            "x-amz-pay-host": self.host,
            "x-amz-pay-region": self.amz_region,
        }
        for name, value in (headers or {}).items():
            if value is not None and value != "":
                to_sign[name.lower()] = str(value)
        to_sign["authorization"] = signing.sign_request(
            method, path, query, to_sign, body, self._private_key, self.public_key_id, self.algorithm
        )
        return to_sign

    # -- transport -------------------------------------------------------------------

    def call(
        self,
        operation: str,
        method: str,
        resource: str,
        payload: Any = None,
        *,
        idempotency_key: str | None = None,
        headers: Headers | None = None,
        query: Mapping[str, str] | None = None,
    ) -> AmazonPayResponse:
        """Send one signed request; raise AmazonPayError unless Amazon answers 2xx."""
        extra = {name.lower(): value for name, value in (headers or {}).items()}
        if method == "POST":
            key = idempotency_key or extra.get("x-amz-pay-idempotency-key") or generate_idempotency_key()
            if not IDEMPOTENCY_KEY.fullmatch(key):
                raise ValueError("idempotency_key: at most 32 characters of A-Z, a-z, 0-9, '-' and '_'.")
            extra["x-amz-pay-idempotency-key"] = key
        body = _encode_body(payload) if method != "GET" else b""
        sent_headers = self.signed_headers(method, self.base_path + resource, body, query, extra)
        sent_headers["user-agent"] = USER_AGENT
        started = time.perf_counter()
        timeout, limits = self._limits()
        token = _CALL_LIMITS.set(limits)
        try:
            response = self.http.request(
                method,
                self.base_url + resource,
                params=query,
                data=body or None,
                headers=sent_headers,
                timeout=timeout,
            )
        except requests.RequestException as exc:
            raise self._no_answer(operation, exc, started) from None
        finally:
            _CALL_LIMITS.reset(token)
        return self._answer(operation, response, started)

    def _limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """This call's (connect, read) timeouts and (end, one attempt): the call ends by its own
        deadline, or by the block's (``within``) if that comes first."""
        now = time.monotonic()
        ends = min(now + self.deadline, _BLOCK_ENDS.get() or float("inf"))
        left = max(ends - now, 0.01)
        connect, read = min(self.timeout[0], left), min(self.timeout[1], left)
        return (connect, read), (ends, connect + read)

    def _no_answer(self, operation: str, exc: requests.RequestException, started: float) -> AmazonPayError:
        """The error for a request that got no HTTP answer, even after retries (logged)."""
        retries, timed_out = _transport_failure(exc, self.max_retries)
        reason = "RequestTimeout" if timed_out else "ConnectionError"
        log.warning(
            "amazon_pay operation=%s status=none reason=%s duration_ms=%.0f retries=%d",
            operation,
            reason,
            (time.perf_counter() - started) * 1000,
            retries,
        )
        message = f"No answer from Amazon Pay after {retries} retries ({type(exc).__name__})."
        return AmazonPayError(None, reason, message, retries=retries)

    def _answer(self, operation: str, response: requests.Response, started: float) -> AmazonPayResponse:
        """Amazon's answer, logged; an AmazonPayError unless it is a 2xx with a JSON body."""
        request_id = response.headers.get("x-amz-pay-request-id")
        retries = _retries_from_response(response)
        body_json = _decode_body(response)
        log.log(
            logging.INFO if response.ok else logging.WARNING,
            "amazon_pay operation=%s status=%d request_id=%s duration_ms=%.0f retries=%d%s",
            operation,
            response.status_code,
            request_id,
            (time.perf_counter() - started) * 1000,
            retries,
            "" if response.ok else f" reason_code={(body_json or {}).get('reasonCode')}",
        )
        if not response.ok or body_json is None:
            body_json = body_json or {}
            raise AmazonPayError(
                response.status_code,
                body_json.get("reasonCode") or ("InvalidResponse" if response.ok else None),
                body_json.get("message") or f"HTTP {response.status_code} without an Amazon Pay error body.",
                request_id=request_id,
                retries=retries,
            )
        return AmazonPayResponse(response.status_code, body_json, request_id, retries, response.headers)

    # -- Checkout Session --------------------------------------------------------------

    def create_checkout_session(
        self, payload: Any, idempotency_key: str | None = None, headers: Headers | None = None
    ) -> AmazonPayResponse:
        """Create Checkout Session: https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html#create-checkout-session"""
        return self.call(
            "CreateCheckoutSession",
            "POST",
            "/checkoutSessions",
            payload,
            idempotency_key=idempotency_key,
            headers=headers,
        )

    def get_checkout_session(self, checkout_session_id: str, headers: Headers | None = None) -> AmazonPayResponse:
        """Get Checkout Session: https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html#get-checkout-session"""
        return self.call("GetCheckoutSession", "GET", f"/checkoutSessions/{_id(checkout_session_id)}", headers=headers)

    def update_checkout_session(
        self, checkout_session_id: str, payload: Any, headers: Headers | None = None
    ) -> AmazonPayResponse:
        """Update Checkout Session: https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html#update-checkout-session"""
        return self.call(
            "UpdateCheckoutSession", "PATCH", f"/checkoutSessions/{_id(checkout_session_id)}", payload, headers=headers
        )

    def complete_checkout_session(
        self,
        checkout_session_id: str,
        payload: Any,
        idempotency_key: str | None = None,
        headers: Headers | None = None,
    ) -> AmazonPayResponse:
        """Complete Checkout Session: https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html#complete-checkout-session"""
        return self.call(
            "CompleteCheckoutSession",
            "POST",
            f"/checkoutSessions/{_id(checkout_session_id)}/complete",
            payload,
            idempotency_key=idempotency_key,
            headers=headers,
        )

    def finalize_checkout_session(
        self,
        checkout_session_id: str,
        payload: Any,
        idempotency_key: str | None = None,
        headers: Headers | None = None,
    ) -> AmazonPayResponse:
        """Finalize Checkout Session: https://developer.amazon.com/docs/amazon-pay-api-v2/checkout-session.html#finalize-checkout-session"""
        return self.call(
            "FinalizeCheckoutSession",
            "POST",
            f"/checkoutSessions/{_id(checkout_session_id)}/finalize",
            payload,
            idempotency_key=idempotency_key,
            headers=headers,
        )

    # -- Charge Permission -------------------------------------------------------------

    def get_charge_permission(self, charge_permission_id: str, headers: Headers | None = None) -> AmazonPayResponse:
        """Get Charge Permission: https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html#get-charge-permission"""
        return self.call(
            "GetChargePermission", "GET", f"/chargePermissions/{_id(charge_permission_id)}", headers=headers
        )

    def update_charge_permission(
        self, charge_permission_id: str, payload: Any, headers: Headers | None = None
    ) -> AmazonPayResponse:
        """Update Charge Permission: https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html#update-charge-permission"""
        return self.call(
            "UpdateChargePermission",
            "PATCH",
            f"/chargePermissions/{_id(charge_permission_id)}",
            payload,
            headers=headers,
        )

    def close_charge_permission(
        self, charge_permission_id: str, payload: Any, headers: Headers | None = None
    ) -> AmazonPayResponse:
        """Close Charge Permission: https://developer.amazon.com/docs/amazon-pay-api-v2/charge-permission.html#close-charge-permission"""
        return self.call(
            "CloseChargePermission",
            "DELETE",
            f"/chargePermissions/{_id(charge_permission_id)}/close",
            payload,
            headers=headers,
        )

    # -- Charge ------------------------------------------------------------------------

    def create_charge(
        self, payload: Any, idempotency_key: str | None = None, headers: Headers | None = None
    ) -> AmazonPayResponse:
        """Create Charge: https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#create-charge"""
        return self.call("CreateCharge", "POST", "/charges", payload, idempotency_key=idempotency_key, headers=headers)

    def get_charge(self, charge_id: str, headers: Headers | None = None) -> AmazonPayResponse:
        """Get Charge: https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#get-charge"""
        return self.call("GetCharge", "GET", f"/charges/{_id(charge_id)}", headers=headers)

    def capture_charge(
        self, charge_id: str, payload: Any, idempotency_key: str | None = None, headers: Headers | None = None
    ) -> AmazonPayResponse:
        """Capture Charge: https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#capture-charge"""
        return self.call(
            "CaptureCharge",
            "POST",
            f"/charges/{_id(charge_id)}/capture",
            payload,
            idempotency_key=idempotency_key,
            headers=headers,
        )

    def cancel_charge(self, charge_id: str, payload: Any, headers: Headers | None = None) -> AmazonPayResponse:
        """Cancel Charge: https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html#cancel-charge"""
        return self.call("CancelCharge", "DELETE", f"/charges/{_id(charge_id)}/cancel", payload, headers=headers)

    # -- Refund and Buyer --------------------------------------------------------------

    def create_refund(
        self, payload: Any, idempotency_key: str | None = None, headers: Headers | None = None
    ) -> AmazonPayResponse:
        """Create Refund: https://developer.amazon.com/docs/amazon-pay-api-v2/refund.html#create-refund"""
        return self.call("CreateRefund", "POST", "/refunds", payload, idempotency_key=idempotency_key, headers=headers)

    def get_refund(self, refund_id: str, headers: Headers | None = None) -> AmazonPayResponse:
        """Get Refund: https://developer.amazon.com/docs/amazon-pay-api-v2/refund.html#get-refund"""
        return self.call("GetRefund", "GET", f"/refunds/{_id(refund_id)}", headers=headers)

    def delivery_trackers(
        self, payload: Any, idempotency_key: str | None = None, headers: Headers | None = None
    ) -> AmazonPayResponse:
        """Create Delivery Tracker: https://developer.amazon.com/docs/amazon-pay-api-v2/delivery-tracker.html"""
        return self.call(
            "DeliveryTrackers", "POST", "/deliveryTrackers", payload, idempotency_key=idempotency_key, headers=headers
        )

    def get_buyer(self, buyer_token: str, headers: Headers | None = None) -> AmazonPayResponse:
        """Get Buyer: https://developer.amazon.com/docs/amazon-pay-api-v2/buyer.html#get-buyer"""
        return self.call("GetBuyer", "GET", f"/buyers/{_id(buyer_token)}", headers=headers)


def _id(value: str) -> str:
    """An object id as one path segment: ids from a browser must not reach another path."""
    if not isinstance(value, str) or not value:
        raise ValueError("An Amazon Pay object id must be a non-empty string.")
    return quote(value, safe="-_.~")


def _encode_body(payload: Any) -> bytes:
    """JSON bytes exactly as sent (and hashed). Strings and bytes are sent as given."""
    if payload is None:
        return b""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _decode_body(response: requests.Response) -> dict[str, Any] | None:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _retries_from_response(response: requests.Response) -> int:
    retries = getattr(response.raw, "retries", None)
    return len(retries.history) if retries is not None else 0


def _transport_failure(exc: requests.RequestException, max_retries: int) -> tuple[int, bool]:
    """(retries made, whether it was a timeout) for a request that got no answer.

    urllib3 raises MaxRetryError only once every retry is spent; requests wraps it.
    """
    inner = exc.args[0] if exc.args else None
    retries = max_retries if isinstance(inner, MaxRetryError) else 0
    reason = getattr(inner, "reason", inner)
    # urllib3's NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError.
    refused = isinstance(reason, NewConnectionError)
    timed_out = isinstance(exc, requests.Timeout) or (
        not refused and isinstance(reason, TimeoutError | ReadTimeoutError | ConnectTimeoutError)
    )
    return retries, timed_out
