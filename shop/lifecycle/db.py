"""The shop's SQLite database (``instance/orders.sqlite``): one connection per request.

As in the Flask tutorial: ``db()`` opens it on first use in a request, the app context
closes it, and ``init_app`` creates the tables each module declares (orders, accounts).
``order_lock`` serialises work on one order across threads and processes, without a
polling loop, and is released by the operating system if its holder dies.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask, current_app, g

#: Lock files for ``order_lock``: two orders share one only by chance, and then merely wait.
LOCK_BUCKETS = 64


def db() -> sqlite3.Connection:
    if "db" not in g:
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE) where it matters.
        g.db = sqlite3.connect(current_app.config["DATABASE"], timeout=10, isolation_level=None)
        g.db.row_factory = sqlite3.Row
    return g.db


@contextmanager
def transaction() -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the database lock at once: two requests for the same
    order (a double click) are serialised instead of both inserting."""
    connection = db()
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@contextmanager
def order_lock(key: str) -> Iterator[None]:
    """Hold the lock of one order (by its reference) while a block runs: a second request for
    the same order waits in the kernel until the first is done, then sees its result. A lock
    file per bucket under ``instance/locks/``; ``flock`` is released when the holder's file
    is closed, including when its process is killed, so a crash never blocks an order."""
    directory = os.path.join(current_app.instance_path, "locks")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    bucket = zlib.crc32(key.encode()) % LOCK_BUCKETS
    with open(os.path.join(directory, f"order-{bucket:03d}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def close_db(_error: BaseException | None = None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def init_app(app: Flask, *schemas: str) -> None:
    connection = sqlite3.connect(app.config["DATABASE"])
    try:
        for schema in schemas:
            connection.executescript(schema)
    finally:
        connection.close()
    app.teardown_appcontext(close_db)


def add_missing_columns(app: Flask, table: str, columns: dict[str, str]) -> None:
    """A minimal migration: add columns a newer version declares (SQLite ALTER TABLE ADD)."""
    connection = sqlite3.connect(app.config["DATABASE"])
    try:
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in present:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        connection.commit()
    finally:
        connection.close()
