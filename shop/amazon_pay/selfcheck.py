"""The integration self-check: are my keys right? (shown in the back office's status page and
by ``flask amazon-pay-check`` in a terminal).

Amazon Pay step: none; this answers "are my keys right?" before a buyer ever clicks.
The check signs one harmless request, Get Checkout Session for an id that does not exist
(nothing is created), and believes only an answer in Amazon's own error shape,
``{"reasonCode": ..., "message": ...}``
(https://developer.amazon.com/docs/amazon-pay-api-v2/error-handling.html):

- ``ResourceNotFound`` (or another error that is not about the request's authentication):
  Amazon read the request, so it accepted the signature;
- ``InvalidRequestSignature``, ``InvalidAuthentication`` ...: the keys are wrong;
- anything else (a web page, a 404 from another server on that port, no DNS name, a refused
  connection, Amazon's own 5xx): the keys were **not** checked, and the answer says why.

It sends one request without retries and looks the host name up first, so that a mistyped
endpoint or an offline machine is said at once rather than after the client's back-off.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .client import USER_AGENT, AmazonPayClient

#: A made-up id: Amazon answers 404 ResourceNotFound once it has accepted the signature.
PROBE = "/checkoutSessions/00000000-0000-0000-0000-000000000000"
#: Amazon's answers that the keys (or the signature made with them) are not accepted.
SIGNATURE_ERRORS = {
    "InvalidRequestSignature",
    "InvalidAuthentication",
    "UnauthorizedAccess",
    "InvalidAccountStatus",
    "InvalidHeaderValue",  # also a clock that is off: x-amz-pay-date "should not be in future"
    "MissingHeader",
    "MissingHeaderValue",
}
NOT_CHECKED = "The keys were not checked."


@dataclass
class SelfCheck:
    ok: bool
    summary: str
    detail: str


def check_signature(client: AmazonPayClient, timeout: tuple[float, float] = (3.05, 8.0)) -> SelfCheck:
    parts = urlsplit(client.base_url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:  # no retries: a wrong name stays wrong
        reason = getattr(error, "strerror", None) or str(error)
        return SelfCheck(
            False,
            f"Amazon Pay cannot be reached: the name {host} is not found (DNS)",
            f"{reason}. Check the endpoint and the machine's network. {NOT_CHECKED}",
        )
    headers = client.signed_headers("GET", client.base_path + PROBE)
    headers["user-agent"] = USER_AGENT
    try:
        response = requests.get(client.base_url + PROBE, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        return SelfCheck(False, f"Amazon Pay cannot be reached: no answer from {host}:{port} in time", NOT_CHECKED)
    except requests.ConnectionError as error:
        return SelfCheck(
            False,
            f"Amazon Pay cannot be reached: the connection to {host}:{port} failed",
            f"{_root_cause(error)}. {NOT_CHECKED}",
        )
    return _judge(response, f"{host}:{port}")


def _judge(response: requests.Response, where: str) -> SelfCheck:
    """What Amazon's answer to the made-up checkout session says about the keys."""
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if 200 <= status < 300 and isinstance(body, dict) and "checkoutSessionId" in body:
        return SelfCheck(True, "Signature accepted", "Amazon Pay answered the signed request.")
    if not (
        isinstance(body, dict) and isinstance(body.get("reasonCode"), str) and isinstance(body.get("message"), str)
    ):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        return SelfCheck(
            False,
            f"Not an Amazon Pay answer: {where} answered HTTP {status} ({kind})",
            "Amazon Pay answers errors as JSON with a reasonCode and a message; this is another server "
            f"(check the endpoint or the port). {NOT_CHECKED}",
        )
    reason = body["reasonCode"]
    if reason in SIGNATURE_ERRORS:
        return SelfCheck(False, f"Amazon Pay rejected the signature ({reason})", body["message"])
    if status >= 429:
        return SelfCheck(
            False, f"Amazon Pay could not answer now ({status} {reason})", f"Try again in a moment. {NOT_CHECKED}"
        )
    return SelfCheck(
        True,
        "Signature accepted",
        f"Amazon Pay answered {status} {reason} for a made-up checkout session, as expected.",
    )


def _root_cause(error: BaseException) -> str:
    """The innermost reason of a failed connection ("Connection refused"), not urllib3's wrapping."""
    while True:
        inner = getattr(error, "reason", None) or (error.args[0] if error.args else None)
        if not isinstance(inner, BaseException):
            break
        error = inner
    text = str(error)
    return text.split("] ")[-1].rstrip(")") if "Errno" in text else text
