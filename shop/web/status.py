"""Integration status: which Amazon Pay account and endpoint the shop uses, and a live
signature self-check (``/status`` in the browser, ``flask amazon-pay-check`` in a terminal).

Amazon Pay step: none; this answers "are my keys right?" before a buyer ever clicks.
The check signs one harmless request (Get Checkout Session for an id that does not exist):
any answer other than InvalidRequestSignature / InvalidAuthentication proves that Amazon
accepted the signature. Nothing is created.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
from flask import Blueprint, current_app, render_template
from flask.cli import with_appcontext

from ..amazon_pay import AmazonPayClient, AmazonPayError

bp = Blueprint("status", __name__)

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


@bp.get("/status")
def index():
    client = current_app.extensions["amazon_pay"]
    return render_template(
        "status.html", client=client, check=check_signature(client), mode=current_app.config["AMAZON_PAY_MODE"]
    )


@click.command("amazon-pay-check")
@with_appcontext
def cli():
    """Sign one harmless request and say whether Amazon Pay accepts the keys."""
    client = current_app.extensions["amazon_pay"]
    result = check_signature(client)
    click.echo(f"{client.base_url} ({client.public_key_id}): {result.summary}\n{result.detail}")
    raise SystemExit(0 if result.ok else 1)
