"""The merchant's back office: ``/admin``, behind a sign-in, never linked from buyer pages.

- **Sign in**: a name and a password from configuration (``ADMIN_USERNAME``,
  ``ADMIN_PASSWORD_HASH``, a Werkzeug password hash: ``flask admin-password`` makes one);
  session-based, CSRF on every form; wrong passwords make the name wait (refused, never slept).
- **Orders**: the list (newest first, 25 a page, by state) and one order, with Amazon's
  objects read live: **Get Charge Permission** and **Get Charge** for each of its charges
  (states, reasons, authorized, captured and refunded amounts).
- **Actions** on an order, each one Amazon operation with an idempotency key derived from the
  order and the action (``shop.lifecycle.backoffice``): **Capture Charge** (full or part, when
  it ships), **Create Charge** (a further charge for the rest of a split shipment), **Cancel
  Charge** (release the authorization), **Close Charge Permission** (close the order: nothing
  more can be charged, what is not captured is canceled), **Create Refund** (of one of its
  charges, full or part, several). What Amazon's rules forbid is refused with a plain message.
- **Outbox**: the e-mails to buyers, sent or waiting, with their last error.
- **Integration status**: the signature self-check (also ``flask amazon-pay-check``).

In simulator mode (the demo) the name is ``admin`` and the password ``demo`` unless set.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.cli import with_appcontext
from werkzeug.security import check_password_hash, generate_password_hash

from ..amazon_pay import AmazonPayError
from ..amazon_pay.selfcheck import check_signature
from ..lifecycle import accounts, backoffice, notifications, orders
from .pages import amazon_pay
from .problems import Problem

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")

DEMO_PASSWORD = "demo"


@functools.cache
def _demo_password_hash() -> str:
    return generate_password_hash(DEMO_PASSWORD)


def _credentials() -> tuple[str, str | None]:
    config = current_app.config
    password_hash = config.get("ADMIN_PASSWORD_HASH")
    if not password_hash and config["AMAZON_PAY_MODE"] == "simulator":
        password_hash = _demo_password_hash()
    return config.get("ADMIN_USERNAME") or "admin", password_hash


def admin_required(view: Callable) -> Callable:
    """A back-office page: for the signed-in merchant only; anyone else is sent to sign in."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if session.get("admin") != _credentials()[0]:
            return redirect(url_for("admin.login", next=request.path))
        return view(**kwargs)

    return wrapped


@bp.get("/login")
def login():
    return render_template("admin/login.html", configured=_credentials()[1] is not None)


@bp.post("/login")
def sign_in():
    username, password_hash = _credentials()
    given = request.form.get("username", "")[:128]
    until = accounts.admin_locked_until(given)
    if until:
        log.warning("admin: sign-in refused for %r: waiting until %s", given, until)
        raise Problem(
            429,
            "Too many attempts",
            f"Too many wrong passwords. Try again after {until} (UTC).",
            (url_for("admin.login"), "Sign in"),
        )
    password = request.form.get("password", "")
    right = password_hash is not None and secrets.compare_digest(given, username)
    if not (right and check_password_hash(password_hash, password)):
        accounts.admin_login_failed(given)
        log.warning("admin: wrong name or password for %r", given)
        raise Problem(403, "Wrong name or password", "Please try again.", (url_for("admin.login"), "Sign in"))
    accounts.admin_login_succeeded(given)
    session.clear()  # a fresh session for the back office
    session["admin"] = username
    target = request.args.get("next", "")
    return redirect(target if target.startswith("/admin/") else url_for("admin.order_list"), code=303)


@bp.post("/logout")
def sign_out():
    session.pop("admin", None)
    flash("You are signed out of the back office.", "info")
    return redirect(url_for("admin.login"), code=303)


@bp.get("/")
@admin_required
def order_list():
    status = request.args.get("status") if request.args.get("status") in orders.DONE + orders.OPEN else None
    before = request.args.get("before", type=int)
    shown = orders.page(status, before)
    more = len(shown) == 25 and bool(orders.page(status, shown[-1].id, size=1))
    return render_template(
        "admin/orders.html", orders=shown, status=status, more=more, states=orders.OPEN + orders.DONE
    )


@bp.get("/orders/<reference>")
@admin_required
def order_detail(reference: str):
    order = orders.by_reference(reference[:40])
    if order is None:
        raise Problem(
            404, "No such order", "There is no order with this reference.", (url_for("admin.order_list"), "Orders")
        )
    refunds = backoffice.refunds_of(order)
    further = backoffice.further_charges(order)
    asked = next((row for row in further if row.state == "Unconfirmed"), None)  # no answer yet
    return render_template(
        "admin/order.html",
        order=order,
        events=orders.events(order),
        amazon=_amazon_view(order, further),
        refunds=refunds,
        refund_number=len(refunds) + 1,
        further_unconfirmed=asked,
        charge_number=asked.number if asked else len(further) + 2,
        closed=backoffice.closed_by_shop(order),
        carriers=backoffice.CARRIERS,
    )


ACTIONS = {
    "capture": "Capture",
    "charge": "Further charge",
    "cancel": "Cancel",
    "close": "Close order",
    "refund": "Refund",
}


@bp.post("/orders/<reference>/<action>")
@admin_required
def act(reference: str, action: str):
    """Capture, further charge, cancel, close or refund (POST, CSRF-checked); 303 back to the
    order, with what happened."""
    order = orders.by_reference(reference[:40])
    if order is None or action not in ACTIONS:
        raise Problem(
            404, "No such order", "There is no order with this reference.", (url_for("admin.order_list"), "Orders")
        )
    form = request.form
    carrier, tracking = form.get("carrier", "")[:32], form.get("tracking", "").strip()[:64]
    number = form.get("number", type=int) or 0
    try:
        if action == "capture":
            backoffice.capture(order, _amount(), carrier, tracking)
        elif action == "charge":
            backoffice.charge_further(order, _amount(), number, carrier, tracking)
        elif action == "cancel":
            backoffice.cancel(order)
        elif action == "close":
            backoffice.close_order(order, form.get("reason", ""))
        else:
            backoffice.refund(order, _amount(), number, form.get("charge_id", "")[:64] or None)
        flash(f"{ACTIONS[action]}: sent to Amazon Pay.", "info")
    except backoffice.Refused as refused:
        log.info("admin: %s of %s refused: %s", action, order.reference, refused)
        flash(f"{ACTIONS[action]} not done: {refused}", "error")
    return redirect(url_for("admin.order_detail", reference=order.reference), code=303)


def _amount() -> Decimal:
    try:
        return Decimal(request.form.get("amount", "").strip())
    except InvalidOperation:
        raise backoffice.Refused("The amount must be a number such as 12.50.") from None


def _amazon_view(order: orders.Order, further: list) -> dict[str, Any]:
    """Amazon's objects for this order, read now (Get Charge Permission, Get Charge for each of
    its charges); what could not be read is said so. ``charges``: one line per charge, first to
    last, with Amazon's Charge (None if unread) and, for a further charge, the shop's row (a
    further charge Amazon refused or did not answer has no Charge)."""
    view: dict[str, Any] = {"charge_permission": None, "charges": [], "errors": []}
    client = amazon_pay()
    if order.charge_permission_id:
        view["charge_permission"] = _read(
            view, "Charge Permission", client.get_charge_permission, order.charge_permission_id
        )
    lines = [(1, order.charge_id, None)] if order.charge_id else []
    lines += [(row.number, row.charge_id, row) for row in further]
    for number, charge_id, row in lines:
        charge = _read(view, f"Charge {number}", client.get_charge, charge_id) if charge_id else None
        view["charges"].append({"number": number, "charge": charge, "row": row})
    view["charge"] = view["charges"][0]["charge"] if view["charges"] else None
    return view


def _read(view: dict[str, Any], name: str, read: Callable, object_id: str) -> dict[str, Any] | None:
    try:
        return read(object_id).body
    except AmazonPayError as error:
        view["errors"].append(f"{name}: Amazon Pay said {error.status} {error.reason_code}")
        return None


@bp.get("/status")
@admin_required
def status():
    client = amazon_pay()
    return render_template(
        "admin/status.html", client=client, check=check_signature(client), mode=current_app.config["AMAZON_PAY_MODE"]
    )


@click.command("amazon-pay-check")
@with_appcontext
def check_command():
    """Sign one harmless request and say whether Amazon Pay accepts the keys (starts no server:
    in simulator mode the demo must be running)."""
    client = current_app.extensions["amazon_pay"]
    result = check_signature(client)
    click.secho(f"{client.base_url} ({client.public_key_id}): {result.summary}", fg="green" if result.ok else "red")
    click.echo(result.detail)
    if not result.ok and current_app.config["AMAZON_PAY_MODE"] == "simulator":
        click.echo("Simulator mode: the simulator runs inside the demo; start it first with `make demo`.")
    raise SystemExit(0 if result.ok else 1)


@click.command("admin-password")
@click.password_option(prompt="The back office's password")
def password_command(password: str) -> None:
    """Print the hash to put in ADMIN_PASSWORD_HASH (the password itself is never stored)."""
    click.echo(generate_password_hash(password))


cli = [check_command, password_command]


# -- the outbox: the buyer's e-mails (shop.lifecycle.notifications) -----------------------------


@bp.get("/outbox")
@admin_required
def outbox():
    """The buyer's e-mails, newest first, 25 a page (keyset): sent, waiting, or given up."""
    before = request.args.get("before", type=int)
    shown = notifications.page(before)
    more = len(shown) == 25 and bool(notifications.page(shown[-1].id, size=1))
    return render_template(
        "admin/outbox.html",
        messages=shown,
        more=more,
        mail_server=current_app.config.get("MAIL_SERVER"),
        max_attempts=notifications.MAX_ATTEMPTS,
    )
