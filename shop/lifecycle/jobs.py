"""The lifecycle's background work, one pass at a time: ``flask amazon-pay reconcile`` (cron in
production) and the demo's timer. A pass settles every open order (``reconcile.py``) and every
refund and further charge still on its way (``backoffice.py``) from Amazon's state, asks again
about further charges whose answer was lost (the same Create Charge and idempotency key), then
sends the buyer's e-mails waiting in the outbox (``notifications.py``).
"""

from __future__ import annotations

import logging
import threading

import click
from flask.cli import AppGroup

from ..amazon_pay import AmazonPayError
from . import backoffice, notifications, reconcile

log = logging.getLogger(__name__)

cli = AppGroup("amazon-pay", help="Amazon Pay jobs for the shop's orders.")


def one_pass() -> reconcile.Pass:
    outcome = reconcile.reconcile_pass()
    for kind, pending, settle in (
        ("refund", backoffice.pending_refunds, backoffice.settle_refund),
        ("further charge", backoffice.pending_charges, backoffice.settle_charge),
        ("unconfirmed further charge", backoffice.unconfirmed_charges, backoffice.confirm_charge),
    ):
        for object_id in pending():
            try:
                log.info("reconcile: %s", settle(object_id))
            except AmazonPayError as error:
                log.warning("reconcile: %s %s: %s %s", kind, object_id, error.status, error.reason_code)
    notifications.deliver()  # after settling: this pass's news goes out in this pass
    return outcome


@cli.command("reconcile")
def reconcile_command() -> None:
    """Settle every order and refund that is not final from Amazon's state, and send the buyer's
    e-mails (one pass; run it from cron)."""
    outcome = one_pass()
    summary = ", ".join(f"{name} {count}" for name, count in sorted(outcome.settled.items()))
    click.echo(f"{outcome.seen} open orders in {outcome.seconds:.1f} s: {summary or 'nothing to do'}")
    raise SystemExit(1 if outcome.settled.get("error") else 0)


def run_every(app, seconds: float, stop: threading.Event | None = None) -> threading.Thread:
    """The demo's timer: a pass every ``seconds`` in a background thread."""
    stop = stop or threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                with app.app_context():
                    one_pass()
            except Exception:  # the timer must outlive a failed pass (the next one retries)
                log.exception("reconcile: the pass failed")

    thread = threading.Thread(target=loop, name="amazon-pay-reconcile", daemon=True)
    thread.start()
    return thread
