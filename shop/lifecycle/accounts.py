"""Buyers who signed in with Amazon, their saved Amazon Pay wallet (table ``buyers``), and which
browser is signed in as whom (table ``browser_sessions``).

A buyer is known by Amazon's ``buyerId`` (from Get Buyer after Sign in with Amazon). The
saved wallet is a ``PaymentMethodOnFile`` Charge Permission made at checkout; the shop keeps
only its id and the product type (PayAndShip / PayOnly) it was saved with. Everything else
(descriptor, address, Chargeable or not) is read from Amazon when shown.

A browser is known by the random ``owner`` id in its session cookie. Who it is signed in as
is kept here, on the server, not in the cookie: signing out marks that owner signed out, so a
copy of the cookie taken before (a shared computer, a stolen cookie) is a stranger afterwards,
with no wallet and none of the browser's orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .db import db, later, now, read, upsert, write

buyers_table = db.Table(
    "buyers",
    sa.Column("buyer_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("email", sa.String(320)),
    sa.Column("charge_permission_id", sa.String(64)),
    sa.Column("product_type", sa.String(16)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)


browser_sessions_table = db.Table(
    "browser_sessions",
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("buyer_id", sa.String(128)),
    sa.Column("signed_out_at", sa.String(32)),
    sa.Column("created_at", sa.String(32), nullable=False),
)


@dataclass(frozen=True)
class Buyer:
    buyer_id: str
    name: str | None
    email: str | None
    charge_permission_id: str | None
    product_type: str | None
    created_at: str
    updated_at: str


def get(buyer_id: str | None) -> Buyer | None:
    if not buyer_id:
        return None
    with read() as connection:
        row = connection.execute(sa.select(buyers_table).where(buyers_table.c.buyer_id == buyer_id)).first()
    return Buyer(**row._asdict()) if row else None


def signed_in(buyer_id: str, name: str | None, email: str | None) -> Buyer:
    at = now()
    with write() as connection:
        connection.execute(
            upsert(
                buyers_table,
                "buyer_id",
                {"name": name, "email": email, "updated_at": at},
                buyer_id=buyer_id,
                name=name,
                email=email,
                created_at=at,
                updated_at=at,
            )
        )
    return get(buyer_id)


def save_wallet(buyer_id: str, charge_permission_id: str | None, product_type: str | None) -> None:
    with write() as connection:
        connection.execute(
            sa.update(buyers_table)
            .where(buyers_table.c.buyer_id == buyer_id)
            .values(charge_permission_id=charge_permission_id, product_type=product_type, updated_at=now())
        )


def signed_in_browser(owner: str) -> tuple[Buyer | None, bool]:
    """(the buyer this browser is signed in as, whether this browser has signed out)."""
    with read() as connection:
        row = connection.execute(
            sa.select(browser_sessions_table).where(browser_sessions_table.c.owner == owner)
        ).first()
    if row is None:
        return None, False
    if row.signed_out_at:
        return None, True
    return get(row.buyer_id), False


def sign_in_browser(owner: str, buyer_id: str) -> None:
    with write() as connection:
        connection.execute(
            upsert(
                browser_sessions_table,
                "owner",
                {"buyer_id": buyer_id},
                owner=owner,
                buyer_id=buyer_id,
                created_at=now(),
            )
        )


def sign_out_browser(owner: str) -> None:
    """This browser's session ends for good: every copy of its cookie becomes a stranger."""
    at = now()
    with write() as connection:
        connection.execute(
            upsert(
                browser_sessions_table,
                "owner",
                {"buyer_id": None, "signed_out_at": at},
                owner=owner,
                signed_out_at=at,
                created_at=at,
            )
        )


# -- the back office's sign-in -------------------------------------------------------------------

admin_logins_table = db.Table(
    "admin_login_failures",
    sa.Column("username", sa.String(128), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.String(32)),
)

#: Wrong passwords allowed before the back office makes a name wait; the wait doubles each time.
FREE_ATTEMPTS = 5
FIRST_WAIT_SECONDS = 30
LONGEST_WAIT_SECONDS = 3600


def admin_locked_until(username: str) -> str | None:
    """When this name may try again, if it is waiting now (too many wrong passwords)."""
    with read() as connection:
        until = connection.execute(
            sa.select(admin_logins_table.c.locked_until).where(admin_logins_table.c.username == username)
        ).scalar()
    return until if until and until > now() else None


def admin_login_failed(username: str) -> None:
    """Count a wrong password; from the sixth on, the name waits 30 s, then 60 s, … up to an hour.
    (Slowed down by refusing, not by sleeping: a worker is never held up.)"""
    with write() as connection:
        connection.execute(
            upsert(
                admin_logins_table,
                "username",
                {"failures": admin_logins_table.c.failures + 1},
                username=username,
                failures=1,
            )
        )
        failures = connection.execute(
            sa.select(admin_logins_table.c.failures).where(admin_logins_table.c.username == username)
        ).scalar()
        if failures >= FREE_ATTEMPTS:
            wait = min(FIRST_WAIT_SECONDS * 2 ** (failures - FREE_ATTEMPTS), LONGEST_WAIT_SECONDS)
            connection.execute(
                sa.update(admin_logins_table)
                .where(admin_logins_table.c.username == username)
                .values(locked_until=later(wait))
            )


def admin_login_succeeded(username: str) -> None:
    with write() as connection:
        connection.execute(sa.delete(admin_logins_table).where(admin_logins_table.c.username == username))
