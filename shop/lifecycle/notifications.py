"""The buyer's e-mails: written to an outbox (table ``outbox``) when an order changes, sent
later by the periodic pass (``jobs.one_pass``: cron in production, a timer in the demo).

Moments, each at most one message per order (a UNIQUE key on the order and the moment, so a
retry, a reload or a duplicate Instant Payment Notification adds nothing):

- ``paid``: Amazon Pay confirmed the payment. "Your order … is confirmed" when it was paid
  straight away (or after "being confirmed", a lost answer); "Payment confirmed" when the
  order was on hold (pending) first.
- ``pending``: Amazon Pay is still deciding (up to a day): "We have your order"; it never
  says the payment is confirmed.
- ``failed``, after pending or "being confirmed" only: "Your payment … did not go through"
  (a buyer declined at once saw it on the page, and one who left at Amazon never ordered).
- ``shipped``: the back office captured the payment (the first parcel); ``shipped:<n>``: each
  further parcel of a split shipment, when its further charge ``n`` is captured.
- ``canceled``: the back office released the payment (Cancel Charge, or the order closed
  before anything was captured).
- ``refunded:<refund id>``: one for each refund Amazon Pay completed.

Nothing for ``awaiting_payment`` or ``unconfirmed``: no message before Amazon Pay answered.
Only orders with the buyer's e-mail address (Amazon Pay gives it at checkout).

The listener only writes a row (no network): a slow or broken mail server never touches a
buyer's request. Delivery (``deliver``) uses the standard library's ``smtplib`` (STARTTLS
with the server's certificate verified, then the sign-in), each operation bounded by
``MAIL_TIMEOUT``. A message that fails stays in the outbox with its error and is tried again
by a later pass, waiting longer each time (``RETRY_AFTER``: the next pass, then 2 minutes,
doubling, about 8 hours in all), at most ``MAX_ATTEMPTS`` times; then it is left for the
merchant to see in the back office (``/admin/outbox``). A message is taken under a short lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so passes on several machines send it once; only a
pass that dies after the server took it and before it was marked sent sends it again (with
the same Message-ID).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
import unicodedata
from collections import Counter
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from ipaddress import ip_address
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.engine import Row

from .. import addresses
from ..money import display
from ..regions import REGIONS
from . import backoffice, orders
from .db import db, insert_or_ignore, later, now, read, write

log = logging.getLogger(__name__)

outbox_table = db.Table(
    "outbox",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("moment", sa.String(80), nullable=False),
    sa.Column("to", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("sent_at", sa.String(32), index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("next_try_at", sa.String(32)),  # not before: a lease while sending, then the wait
    sa.UniqueConstraint("order_id", "moment", name="uq_outbox_order_moment"),
)

SHOP_NAME = "Trailhead Supply"
#: Seconds to wait after a failed attempt (the 1st, 2nd, …) before the next one: the next pass,
#: then 2 minutes, doubling (about 8.5 hours in all). The last failure is final.
RETRY_AFTER = (0, 120, 240, 480, 960, 1920, 3840, 7680, 15360)
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
#: How long a pass may take one message before another pass may (far above MAIL_TIMEOUT's
#: few operations).
LEASE_SECONDS = 300
#: A pass stops taking new messages after this long (the rest wait for the next one).
PASS_SECONDS = 60


def init_app(app: Flask) -> None:
    """Write the buyer's e-mails for this app's orders (the listener is per app, like the
    saved wallet's)."""
    orders.order_changed.connect(_order_changed, sender=app)


# -- writing: one message per moment ------------------------------------------------------------


def _order_changed(app: Flask, order: orders.Order, before: str, step: str | None) -> None:
    if not order.buyer_email:
        return
    try:
        messages = _messages(app, order, before, step)
        if not messages:
            return
        with write() as connection:
            for moment, subject, body in messages:  # a moment written before adds nothing (UNIQUE)
                connection.execute(
                    insert_or_ignore(
                        outbox_table,
                        order_id=order.id,
                        moment=moment,
                        to=order.buyer_email,
                        subject=subject,
                        body=body,
                        created_at=now(),
                        attempts=0,
                    )
                )
    except sa.exc.SQLAlchemyError:
        # The order is stored already: the buyer's page must not fail for an e-mail.
        log.exception("mail: the e-mail about %s could not be written to the outbox", order.reference)


def _messages(app: Flask, order: orders.Order, before: str, step: str | None) -> list[tuple[str, str, str]]:
    """(moment, subject, body) for what just happened to the order; none for most changes."""
    text = Texts(app, order)
    if step == "shipped":
        parcels = [row for row in backoffice.further_charges(order) if row.state == "Captured"]
        if not parcels:
            return [("shipped", *text.shipped())]
        return [(f"shipped:{row.number}", *text.shipped_more(row.amount)) for row in parcels]
    if step == "canceled":
        return [("canceled", *text.canceled())]
    if step == "refunded":
        done = [refund for refund in backoffice.refunds_of(order) if refund.state == "Refunded"]
        return [(f"refunded:{refund.refund_id}", *text.refunded(refund.amount)) for refund in done]
    if step is not None or order.status == before:
        return []
    if order.status == "pending":
        return [("pending", *text.pending())]
    if order.status not in ("paid", "failed"):
        return []  # awaiting_payment, unconfirmed: Amazon Pay has not answered yet
    steps = {event.status for event in orders.events(order)}
    if order.status == "paid":
        return [("paid", *(text.payment_confirmed() if "pending" in steps else text.confirmed()))]
    if "canceled" in steps or not ({"pending", "unconfirmed"} & steps):
        return []  # the shop released it (the buyer was told), or the buyer saw the refusal at once
    return [("failed", *text.failed())]


class Texts:
    """The e-mails, in the buyer's words: the order's reference, its items and totals in the
    shop's currency format and tax words (US sales tax added; VAT or consumption tax
    included), where it goes as its country writes addresses (or that it is a download), how
    it is paid, and the link to the order page. A download never "ships"."""

    def __init__(self, app: Flask, order: orders.Order):
        self.order, self.region = order, REGIONS[app.config["AMAZON_PAY_REGION"]]
        self.locale, self.download = self.region.locale, order.digital_only
        self.link = f"{app.config['SHOP_URL']}/orders/{order.reference}"

    def money(self, amount: Decimal) -> str:
        return display(Decimal(str(amount)), self.order.currency, self.locale)

    def confirmed(self) -> tuple[str, str]:
        then = "your download is ready on your order page." if self.download else "we are preparing your order."
        return f"Your order {self.order.reference} is confirmed", self._mail(
            f"Thank you for your order. Amazon Pay has confirmed your payment, and {then}"
        )

    def pending(self) -> tuple[str, str]:
        then = "your download is ready then." if self.download else "we ship nothing before then."
        return f"We have your order {self.order.reference}", self._mail(
            "Thank you for your order. Amazon Pay is still confirming your payment: this can take up to a day, "
            "and you do not need to do anything. We will write to you again as soon as it is confirmed, "
            f"and {then}"
        )

    def payment_confirmed(self) -> tuple[str, str]:
        then = "your download is ready on your order page." if self.download else "we are preparing your order."
        return f"Payment confirmed for your order {self.order.reference}", self._mail(
            f"Good news: Amazon Pay has now confirmed your payment, and {then}"
        )

    def failed(self) -> tuple[str, str]:
        instead = "these items are not yours to download" if self.download else "we will not send these items"
        return f"Your payment for order {self.order.reference} did not go through", self._mail(
            f"We are sorry: Amazon Pay could not confirm your payment, so nothing was charged and {instead}. "
            'If you still want them, open your order and choose "Pay for these items again" to pay another way.'
        )

    def shipped(self) -> tuple[str, str]:
        if self.download:
            return f"Your order {self.order.reference} is complete", self._mail(
                "Amazon Pay has now taken your payment for your download."
            )
        return f"Your order {self.order.reference} is on its way", self._mail(
            "Good news: we have shipped your order, and Amazon Pay has now taken your payment."
        )

    def shipped_more(self, amount: Decimal) -> tuple[str, str]:
        return f"Another parcel of your order {self.order.reference} is on its way", self._mail(
            f"Good news: we have shipped another parcel of your order, and Amazon Pay has now taken "
            f"{self.money(amount)} for it."
        )

    def canceled(self) -> tuple[str, str]:
        return f"Your order {self.order.reference} is canceled", self._mail(
            "We have canceled your order. Amazon Pay has released your payment: nothing was charged."
        )

    def refunded(self, amount: Decimal) -> tuple[str, str]:
        return f"Refund for your order {self.order.reference}", self._mail(
            f"Amazon Pay has returned {self.money(amount)} to you for this order. Depending on your bank, it can "
            "take a few days to show on your statement."
        )

    def bill(self) -> str:
        """The items and totals, as the order page shows them, in two aligned columns."""
        order, tax = self.order, self.region.tax
        rows = [(f"{item['quantity']} × {item['name']}", self.money(item["total"])) for item in order.items]
        rows.append(("Subtotal", self.money(order.subtotal)))
        if not self.download:
            rows.append(("Shipping", self.money(order.shipping)))
        if not tax.included:
            rows.append((tax.row, self.money(order.tax)))
        rows.append((tax.total, self.money(order.total)))
        if tax.included and order.included_tax is not None:
            rows.append((tax.row, self.money(order.included_tax)))
        labels, amounts = (max(_width(cell) for cell in column) for column in zip(*rows, strict=True))
        return "\n".join(
            f"  {label}{' ' * (labels - _width(label))}  {' ' * (amounts - _width(amount))}{amount}"
            for label, amount in rows
        )

    def _mail(self, news: str) -> str:
        order = self.order
        if self.download:
            delivery = "Delivery: a download (nothing is shipped)"
        else:
            delivery = "Ship to:\n" + "\n".join(f"  {line}" for line in addresses.lines(order.ship_to, self.locale))
        paid_with = f"Pay with: Amazon Pay, {order.payment_descriptor or 'your Amazon Pay payment method'}"
        return (
            f"Hello{' ' + order.buyer_name if order.buyer_name else ''},\n\n{news}\n\n"
            f"Order {order.reference}, placed {self.region.when(order.created_at)}\n\n{self.bill()}\n\n"
            f"{delivery}\n\n{paid_with}\n\n"
            f"See your order (in the browser you ordered with):\n{self.link}\n\n{SHOP_NAME}\n"
        )


def _width(text: str) -> int:
    """Columns the text takes in a fixed-width font: Japanese characters take two."""
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


# -- sending: the periodic pass ----------------------------------------------------------------


def deliver(limit: int = 500) -> Counter:
    """Send the outbox's messages that are due, oldest first, through ``MAIL_SERVER``; without
    one (the demo) they stay in the outbox. Returns how many were sent and failed."""
    config = current_app.config
    outcome: Counter = Counter()
    if not config.get("MAIL_SERVER"):
        return outcome
    started, after_id, server = time.monotonic(), 0, None
    try:
        while outcome.total() < limit and time.monotonic() - started < PASS_SECONDS:
            message = _take(after_id)
            if message is None:
                break
            after_id = message.id
            if server is None:
                try:
                    server = _connect(config)
                except OSError as error:  # smtplib's errors, refused connections and timeouts alike
                    _failed(message, error)
                    outcome["failed"] += 1
                    break  # the server cannot be reached or refuses us: the others wait for the next pass
            try:
                server.send_message(_email(message, config))
            except (OSError, ValueError) as error:
                _failed(message, error)
                outcome["failed"] += 1
                server = _close(server)  # the next message starts afresh
                continue
            _sent(message)
            outcome["sent"] += 1
    finally:
        _close(server)
    if outcome:
        log.info("mail: %d sent, %d failed", outcome["sent"], outcome["failed"])
    return outcome


def _take(after_id: int) -> Row | None:
    """The next message that is due (after ``after_id``: each is tried once per pass), leased
    to this pass and its attempt counted; PostgreSQL skips those another pass holds."""
    at = now()
    due = sa.or_(outbox_table.c.next_try_at.is_(None), outbox_table.c.next_try_at <= at)
    chosen = (
        sa.select(outbox_table.c.id)
        .where(
            outbox_table.c.sent_at.is_(None),
            outbox_table.c.attempts < MAX_ATTEMPTS,
            outbox_table.c.id > after_id,
            due,
        )
        .order_by(outbox_table.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    taken = (
        sa.update(outbox_table)
        .where(outbox_table.c.id.in_(chosen.scalar_subquery()))
        .values(attempts=outbox_table.c.attempts + 1, next_try_at=later(LEASE_SECONDS))
        .returning(*outbox_table.c)
    )
    with write() as connection:
        return connection.execute(taken).first()


def _connect(config) -> smtplib.SMTP:
    """A connection to ``MAIL_SERVER``: STARTTLS with the certificate and host name verified
    (never a fall-back to plain text), then the sign-in."""
    server = smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], local_hostname=_helo_name(config), timeout=config["MAIL_TIMEOUT"]
    )
    try:
        if config["MAIL_USE_TLS"]:
            server.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            server.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        _close(server)
        raise
    return server


def _helo_name(config) -> str:
    """The name the shop gives in EHLO: its own host (asking the system for its name can
    wait for DNS)."""
    host = urlsplit(config["SHOP_URL"]).hostname or "localhost"
    try:
        return f"[{ip_address(host)}]"
    except ValueError:
        return host


def _close(server: smtplib.SMTP | None) -> None:
    """Say goodbye (QUIT), or just hang up if the server is gone; None to forget it."""
    if server is not None:
        try:
            server.quit()
        except OSError:
            server.close()


def _email(message: Row, config) -> EmailMessage:
    email = EmailMessage()
    sender = config["MAIL_FROM"]
    created = datetime.fromisoformat(message.created_at)
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(created, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = f"<{created:%Y%m%d%H%M%S}.{message.id}@{domain}>"  # the same if sent again
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    email.set_content(message.body, cte="quoted-printable")
    return email


def _sent(message: Row) -> None:
    with write() as connection:
        connection.execute(
            sa.update(outbox_table).where(outbox_table.c.id == message.id).values(sent_at=now(), next_try_at=None)
        )


def _failed(message: Row, error: Exception) -> None:
    reason = describe(error)
    final = message.attempts >= MAX_ATTEMPTS
    log.log(
        logging.ERROR if final else logging.WARNING,
        "mail: %s to the buyer of order %s, attempt %d: %s%s",
        message.moment,
        message.order_id,
        message.attempts,
        reason,
        " (given up: see /admin/outbox)" if final else "",
    )
    wait = None if final else later(RETRY_AFTER[message.attempts - 1])
    with write() as connection:
        connection.execute(
            sa.update(outbox_table).where(outbox_table.c.id == message.id).values(last_error=reason, next_try_at=wait)
        )


def describe(error: Exception) -> str:
    """What went wrong, for the merchant: the server's answer, or the connection's failure."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = [f"{code} {text.decode(errors='replace')}" for code, text in error.recipients.values()]
        return "recipient refused: " + "; ".join(answers)
    if isinstance(error, smtplib.SMTPResponseException):
        answer = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{error.smtp_code} {answer}"[:500]
    return f"{type(error).__name__}: {error}"[:500]


# -- the back office ----------------------------------------------------------------------------


def page(before_id: int | None = None, size: int = 25) -> list[Row]:
    """Newest messages first, ``size`` at a time, after ``before_id`` (keyset pagination), each
    with its order's reference."""
    query = (
        sa.select(outbox_table, orders.orders_table.c.reference)
        .join(orders.orders_table, orders.orders_table.c.id == outbox_table.c.order_id)
        .order_by(outbox_table.c.id.desc())
        .limit(size)
    )
    if before_id:
        query = query.where(outbox_table.c.id < before_id)
    with read() as connection:
        return connection.execute(query).all()
