"""The shop's database, through SQLAlchemy 2 (Core): SQLite under ``instance/`` by default,
PostgreSQL when ``DATABASE_URL`` names one. The schema changes only through Alembic
migrations (``migrations/``, run by ``flask db upgrade``; the demo runs them on start).

Every function of the lifecycle layer is one short unit of work on a connection of its own
(``read()`` or ``write()``), never a transaction held open while Amazon is called. A write
transaction starts with its write (INSERT … ON CONFLICT, UPDATE), so two requests for the
same order are serialised by the database, on SQLite and on PostgreSQL alike.

``order_lock`` serialises work on one order across threads, processes and machines without
a polling loop, and its holder's death releases it: a PostgreSQL advisory lock, or on SQLite
(one machine) an ``flock`` on a lock file.
"""

from __future__ import annotations

import fcntl
import functools
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..config import ConfigError

db = SQLAlchemy()
migrate = Migrate()

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")

#: Lock files for ``named_lock`` on SQLite: two names share one only by chance, and then wait.
LOCK_BUCKETS = 64


class Money(sa.TypeDecorator):
    """A Decimal amount stored as its exact text ("25.00", "3200"): the same on every database,
    never a float."""

    impl = sa.String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def init_app(app: Flask) -> None:
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", database_url(app))
    _private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.abspath(MIGRATIONS))
    if app.config.get("DATABASE_MIGRATE_ON_START", True):
        with app.app_context():
            try:
                migrate_to_head()
            except sa.exc.OperationalError as error:  # no server, wrong name, refused login
                url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
                reason = str(error.orig).strip().splitlines()[0] if error.orig else "no answer"
                raise ConfigError(f"DATABASE_URL: the database {url} did not answer ({reason})") from None


def migrate_to_head() -> None:
    """Bring the database to the newest migration. A brand-new, empty database gets the
    tables at once and is stamped with the head revision, as Alembic's docs advise ("create
    all, then stamp"); a test proves that this and the migrations give the same schema."""
    with named_lock("schema-migration"):  # several workers starting at once migrate once
        if sa.inspect(db.engine).get_table_names():
            upgrade()
            return
        _create_and_stamp()


def _create_and_stamp() -> None:
    with write() as connection:
        db.metadata.create_all(connection)
        version = sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String(32), primary_key=True))
        version.create(connection)
        connection.execute(version.insert().values(version_num=head_revision()))


@functools.cache
def head_revision() -> str:
    return ScriptDirectory(os.path.abspath(MIGRATIONS)).get_current_head()


def _private_sqlite_file(url: str) -> None:
    """The SQLite file holds buyers' e-mails and addresses: only its owner may read it (0600),
    in a folder only its owner may enter; made so before SQLite creates it (and its journal)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return
    path = url.removeprefix("sqlite:///")
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def database_url(app: Flask) -> str:
    """``DATABASE_URL`` (a PostgreSQL server), else SQLite at ``DATABASE`` under instance/."""
    url = app.config.get("DATABASE_URL")
    if url:
        # Heroku-style URLs say postgres://; SQLAlchemy wants a driver: psycopg 3.
        return url.replace("postgres://", "postgresql+psycopg://", 1).replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    return "sqlite:///" + os.path.abspath(app.config["DATABASE"])


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Wait for a writer (up to 10 s) instead of failing at once.
        return {"connect_args": {"timeout": 10}}
    return {"pool_pre_ping": True}


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


@contextmanager
def read() -> Iterator[Connection]:
    """A connection for reads; no transaction is left open."""
    with db.engine.connect() as connection:
        yield connection


@contextmanager
def write() -> Iterator[Connection]:
    """A write transaction: committed when the block ends, rolled back if it raises."""
    with db.engine.begin() as connection:
        yield connection


def insert_or_ignore(table: sa.Table, **values: Any) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING, in the database's own dialect."""
    dialect = postgresql if is_postgresql() else sqlite
    return dialect.insert(table).values(**values).on_conflict_do_nothing()


def upsert(table: sa.Table, key: str, update: dict[str, Any], **values: Any) -> sa.Insert:
    """INSERT … ON CONFLICT (key) DO UPDATE SET update, in the database's own dialect."""
    dialect = postgresql if is_postgresql() else sqlite
    return dialect.insert(table).values(**values).on_conflict_do_update(index_elements=[key], set_=update)


@contextmanager
def order_lock(reference: str) -> Iterator[None]:
    """Hold the lock of one order while a block runs: a second request for the same order, on
    any worker or machine, waits until the first is done, then sees its result."""
    with named_lock(f"order:{reference}"):
        yield


@contextmanager
def named_lock(name: str) -> Iterator[None]:
    """An exclusive lock shared by every worker and app server, held while a block runs.
    Released when the block ends, and by the database or the kernel if the holder dies, so
    a crash never blocks anyone: a PostgreSQL advisory lock, or (SQLite: one machine) an
    ``flock`` on a lock file in ``locks/`` beside the database file."""
    number = zlib.crc32(name.encode())
    if is_postgresql():
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": number})
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": number})
                connection.commit()
        return
    # Beside the database file: whoever shares the database shares its locks.
    directory = os.path.join(os.path.dirname(db.engine.url.database or current_app.instance_path), "locks")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    descriptor = os.open(os.path.join(directory, f"lock-{number % LOCK_BUCKETS:03d}"), os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")
