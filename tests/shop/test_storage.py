"""The order store on SQLite and on PostgreSQL: one order per payment request, one Update
Checkout Session per order, locks that a dead process does not keep, rows shared out with
SKIP LOCKED, and migrations that make the schema the code declares."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import upgrade

import shop
from shop.lifecycle import db, orders
from shop.money import Totals

pytestmark = pytest.mark.both_databases

TOTALS = Totals.of(Decimal("24.00"), Decimal("5.00"), Decimal("0"), "USD")
LINES = [{"productId": "canvas-tote", "name": "Canvas tote", "quantity": 1, "unitPrice": "24.00", "total": "24.00"}]


@pytest.fixture
def app(shop_app):
    with shop_app.app_context():
        yield shop_app


def at_once(count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads released together; their answers in order."""
    ready, answers = threading.Barrier(count), [None] * count
    app = current_app._get_current_object()

    def run(i: int) -> None:
        with app.app_context():
            ready.wait()
            answers[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def new_order(payment_request: str = "checkout:one") -> orders.Order:
    return orders.create(payment_request, "owner-1", LINES, TOTALS, "buyer@example.com")


def test_an_order_keeps_its_amounts_exactly(app):
    order = new_order()
    again = orders.by_reference(order.reference)
    assert (again.subtotal, again.shipping, again.tax, again.total) == (
        Decimal("24.00"),
        Decimal("5.00"),
        Decimal("0"),
        Decimal("29.00"),
    )
    assert again.items == LINES and again.status == "awaiting_payment"
    assert [event.detail for event in orders.events(again)] == ["Order placed; total 29.00 USD"]


def test_one_order_per_payment_request_when_eight_arrive_at_once(app):
    made = at_once(8, lambda i: new_order("checkout:same").reference)
    assert len(set(made)) == 1
    [order] = [orders.by_reference(made[0])]
    assert len(orders.events(order)) == 1  # one "Order placed"


def test_one_update_checkout_session_per_order_when_six_clicks_arrive_at_once(app):
    order, sent = new_order(), []

    def update(current: orders.Order) -> str:
        sent.append(current.reference)
        time.sleep(0.3)  # Amazon takes its time; the others wait on the lock, not in a loop
        return f"https://amazon.example/pay?order={current.reference}"

    urls = at_once(6, lambda i: orders.redirect_once(order, update))
    assert sent == [order.reference]
    assert set(urls) == {f"https://amazon.example/pay?order={order.reference}"}
    assert orders.by_reference(order.reference).redirect_url == urls[0]


def test_a_failed_update_stores_nothing_and_the_next_click_sends_it_again(app):
    order = new_order()

    def amazon_fails(current):
        raise RuntimeError("no answer")

    with pytest.raises(RuntimeError):
        orders.redirect_once(order, amazon_fails)
    assert orders.by_reference(order.reference).redirect_url is None
    assert orders.redirect_once(order, lambda current: "https://amazon.example/pay") == "https://amazon.example/pay"


HOLD_THE_LOCK_AND_HANG = """
import sys, time
import shop
from shop.lifecycle import db
app = shop.create_app(eval(sys.argv[1]))
with app.app_context(), db.order_lock("ORD-KILLED"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_killed_process_does_not_keep_an_order_locked(app, client, tmp_path, shop_config):
    config = {
        key: value
        for key, value in shop_config(client, tmp_path).items()
        if key in ("DATABASE", "DATABASE_URL", "SECRET_KEY", "TESTING")
    }
    config.update(AMAZON_PAY_MODE="simulator", DATABASE_MIGRATE_ON_START=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK_AND_HANG, repr(config)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "SHOP_INSTANCE_PATH": str(tmp_path / "instance")},  # its demo key: not in the repo
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        waiter = threading.Thread(target=lambda: _lock_once(app))
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive()  # the holder is alive: the order is locked
        holder.kill()  # kill -9: no finally block runs in the holder
        waiter.join(10)
        assert not waiter.is_alive()  # the database or the kernel released it
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def _lock_once(app) -> None:
    with app.app_context(), db.order_lock("ORD-KILLED"):
        pass


def test_open_orders_are_shared_out_between_reconcile_passes_at_once(app):
    for i in range(8):
        new_order(f"checkout:{i}")
    orders.record(orders.by_payment_request("checkout:7"), "paid", "settled")

    def lease(i: int) -> list[str]:
        with db.write() as connection:
            return [order.reference for order in orders.lease_open(connection, 0, 4)]

    first, second = at_once(2, lease)
    assert len(first) + len(second) == 7 and not set(first) & set(second)  # each open order once
    with db.write() as connection:
        assert orders.lease_open(connection, 0, 10) == []  # leased: a third pass finds nothing yet


def test_migrations_make_exactly_the_schema_the_code_declares(shop_config, client, tmp_path, database):
    """``flask db upgrade`` on an empty database, and the demo's create-and-stamp, agree with
    the tables declared in shop/lifecycle (no difference Alembic's autogenerate can see)."""
    (tmp_path / "migrated").mkdir()
    migrated = shop.create_app(shop_config(client, tmp_path / "migrated", DATABASE_MIGRATE_ON_START=False))
    with migrated.app_context():
        if database is not None:  # the schema of this test is shared: start from nothing
            db.db.metadata.drop_all(db.db.engine)
            with db.write() as connection:
                connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        with db.db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.db.metadata)
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert differences == []
    assert version == db.head_revision()
    with shop.create_app(shop_config(client, tmp_path)).app_context():  # create-and-stamp
        tables = set(sa.inspect(db.db.engine).get_table_names())
    assert {"orders", "order_events", "checkout_claims", "buyers", "alembic_version"} <= tables
