"""The shop and the Amazon Pay simulator as processes, as in production: each a gunicorn of its
own on a loopback port. Used by ``bench/checkout_load.py`` and by
``tests/shop/test_several_app_servers.py``.

- ``start_simulator(keys_dir)``: ``gunicorn -w 1 --threads 16 'simulator:create_app()'``. Its
  state is in memory, so it is always exactly one process.
- ``start_shop(instance, simulator_url, workers)``: ``gunicorn -c gunicorn.conf.py
  'shop:create_app()'`` in simulator mode, on the instance folder ``instance``
  (``SHOP_INSTANCE_PATH``: demo key, SQLite file) and, if given, a PostgreSQL ``DATABASE_URL``.
  Two shops on one instance folder and one database are two app servers of one shop.
- ``prepare_instance(folder)``: the demo key pair made once, before any worker starts (each
  worker would otherwise race to make its own), and the folder the simulator must trust.
- ``stored_orders(instance, database_url)``: the orders table, to count what was made.

Every server binds port 0 and the port is read from its log ("Listening at: …"), so runs never
collide. Each runs in a process group of its own; ``stop()`` ends the whole group (master and
workers), and ``Servers`` stops everything it started even when the caller fails. Logs go to
files (a pipe nobody reads would block the server once full); ``log_tail()`` shows the end.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
START_TIMEOUT = 30  # seconds; a worker that migrates a fresh database needs ~1 s


class ServerError(RuntimeError):
    """A server did not start (its log tail is in the message)."""


def prepare_instance(folder: Path) -> Path:
    """The shop's instance folder with its demo key pair already made; returns the directory
    of public keys the simulator must trust (``<folder>/simulator-keys``)."""
    from shop.config import demo_private_key  # the shop's own code makes the key, as on first start

    folder.mkdir(parents=True, exist_ok=True)
    demo_private_key(str(folder))
    return folder / "simulator-keys"


def stored_orders(instance: Path, database_url: str | None) -> list[dict]:
    """Every order in the shop's database (PostgreSQL ``database_url``, else the SQLite file in
    ``instance``): reference, payment_request, status, oldest first."""
    if database_url:
        url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = f"sqlite:///{instance / 'orders.sqlite'}"
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            query = sa.text("SELECT reference, payment_request, status FROM orders ORDER BY id")
            return [row._asdict() for row in connection.execute(query)]
    finally:
        engine.dispose()


class Server:
    """One gunicorn master and its workers, in a process group of their own."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log_path: Path):
        self.name, self.log_path, self.url = name, log_path, ""
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_until_up(self, health_path: str = "/", timeout: float = START_TIMEOUT) -> Server:
        """Wait for the listening line, then for one answer from a worker."""
        deadline = time.monotonic() + timeout
        while not self.url:
            found = LISTENING.search(self.log_path.read_text(errors="replace"))
            if found:
                self.url = found[1]
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise ServerError(f"{self.name} did not start:\n{self.log_tail()}")
            else:
                time.sleep(0.05)
        while True:
            try:
                # Until a worker has booted, the connection waits in the listen queue.
                wait = max(deadline - time.monotonic(), 0.1)
                if requests.get(self.url + health_path, timeout=(2, wait)).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise ServerError(f"{self.name} did not answer {health_path}:\n{self.log_tail()}")
            time.sleep(0.05)

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) used so far by the master and its workers: every process
        of its group, read from ``/proc`` (None where there is none). The CPU a request costs
        is less disturbed by other programs than requests per second are."""
        total = 0
        try:
            pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
        except OSError:
            return None
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[2]) == self.process.pid:  # process group (the master leads its own)
                total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to the master (gunicorn's graceful shutdown: workers finish their request),
        then SIGKILL to the whole group (master and workers) if anything lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # The master may be gone while a worker lingers: the group gets SIGKILL either way.
        _signal_group(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(5)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _gunicorn() -> list[str]:
    return [sys.executable, "-m", "gunicorn"]


def _base_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AMAZON_PAY_", "SHOP_"))}
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


class Servers:
    """The processes of one run; a context manager that stops them all, whatever happens."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Server] = []

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        while self.started:
            self.started.pop().stop()

    def _start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> Server:
        server = Server(name, argv, env, cwd, self.log_dir / f"{name}.log")
        self.started.append(server)
        return server

    def simulator(self, keys_dir: Path) -> Server:
        """The simulator, one process with threads (its state is in memory). It runs from the
        log folder, so gunicorn does not pick up the shop's gunicorn.conf.py."""
        argv = [*_gunicorn(), "-w", "1", "--threads", "16", "--no-control-socket", "-b", "127.0.0.1:0"]
        env = _base_env(AMAZON_PAY_SIMULATOR_KEYS=str(keys_dir))
        return self._start("simulator", [*argv, "simulator:create_app()"], env, self.log_dir)

    def shop(
        self,
        name: str,
        instance: Path,
        simulator_url: str,
        workers: int,
        database_url: str | None = None,
        secret_key: str | None = None,
    ) -> Server:
        """The shop under gunicorn with the repository's gunicorn.conf.py, in simulator mode."""
        env = _base_env(
            SHOP_BIND="127.0.0.1:0",
            WEB_CONCURRENCY=str(workers),
            SHOP_INSTANCE_PATH=str(instance),
            AMAZON_PAY_SIMULATOR_URL=simulator_url,
            SECRET_KEY=secret_key or secrets.token_hex(32),
        )
        if database_url:
            env["DATABASE_URL"] = database_url
        argv = [*_gunicorn(), "-c", str(ROOT / "gunicorn.conf.py"), "shop:create_app()"]
        return self._start(name, argv, env, ROOT)

    def wsgi(self, name: str, app: str, workers: int) -> Server:
        """Any WSGI app under the shop's gunicorn settings (the benchmark's bare Flask floor)."""
        env = _base_env(SHOP_BIND="127.0.0.1:0", WEB_CONCURRENCY=str(workers))
        return self._start(name, [*_gunicorn(), "-c", str(ROOT / "gunicorn.conf.py"), app], env, ROOT)


@contextmanager
def postgresql_schema(server: str) -> Iterator[str]:
    """A schema of its own on ``server``, dropped afterwards; yields the shop's DATABASE_URL."""
    schema = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def postgresql_available(server: str) -> bool:
    """Whether a PostgreSQL server answers at ``server`` (the benchmarks skip it loudly if not)."""
    try:
        psycopg.connect(server, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True
