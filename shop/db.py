"""The shop's SQLite database (``instance/orders.sqlite``): one connection per request.

As in the Flask tutorial: ``db()`` opens it on first use in a request, the app context
closes it, and ``init_app`` creates the tables each module declares (orders, accounts).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask, current_app, g


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
