"""The integration self-check: are my keys right? (shown in the back office's status page and
by ``flask amazon-pay-check`` in a terminal).

Amazon Pay step: none; this answers "are my keys right?" before a buyer ever clicks.
The check signs one harmless request (Get Checkout Session for an id that does not exist):
any answer other than InvalidRequestSignature / InvalidAuthentication proves that Amazon
accepted the signature. Nothing is created.
"""

from __future__ import annotations

from dataclasses import dataclass

from .client import AmazonPayClient, AmazonPayError

SIGNATURE_ERRORS = {
    "InvalidRequestSignature",
    "InvalidAuthentication",
    "UnauthorizedAccess",
    "InvalidHeaderValue",
    "MissingHeader",
}


@dataclass
class SelfCheck:
    ok: bool
    summary: str
    detail: str


def check_signature(client: AmazonPayClient) -> SelfCheck:
    try:
        client.get_checkout_session("00000000-0000-0000-0000-000000000000")
    except AmazonPayError as error:
        if error.status is None:
            return SelfCheck(False, "Amazon Pay cannot be reached", error.message)
        if error.reason_code in SIGNATURE_ERRORS:
            return SelfCheck(False, f"Amazon Pay rejected the signature ({error.reason_code})", error.message)
        return SelfCheck(
            True,
            "Signature accepted",
            f"Amazon Pay answered {error.status} {error.reason_code} for a made-up checkout session, as expected.",
        )
    return SelfCheck(True, "Signature accepted", "Amazon Pay answered the signed request.")
