"""Shared fixtures: keys made at run time, the simulator on a real loopback port, clients.

Nothing here holds a secret: every key pair is generated for the test session. The shop's own
fixtures (its config, app and headless buyers) are in tests/shop/conftest.py.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server

import simulator
from shop.amazon_pay import AmazonPayClient
from simulator.clock import Clock
from simulator.operations import Store
from tests.support import PLAIN_KEY_ID, PUBLIC_KEY_ID, STORE_ID


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_pem(private_key) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


#: The merchant's domains "in Seller Central": the return URLs of the tests (http(s)://shop.test/…);
#: loopback (the shop's test client, live servers on 127.0.0.1) needs none in Sandbox.
REGISTERED_DOMAINS = ("shop.test",)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory, private_key) -> Path:
    """The simulator's trusted keys: the same public half under two key ids, each with the
    domains it registered (``<publicKeyId>.domains``, simulator/domains.py)."""
    directory = tmp_path_factory.mktemp("simulator-keys")
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for key_id in (PUBLIC_KEY_ID, PLAIN_KEY_ID):
        (directory / f"{key_id}.pem").write_bytes(public_pem)
        (directory / f"{key_id}.domains").write_text("\n".join(REGISTERED_DOMAINS) + "\n", encoding="utf-8")
    return directory


@dataclass
class Simulator:
    url: str
    app: object
    clock: Clock

    def advance(self, seconds: float) -> None:
        requests.post(f"{self.url}/control/clock", json={"advanceSeconds": seconds}, timeout=5).raise_for_status()

    def counts(self) -> dict:
        return requests.get(f"{self.url}/control/counts", timeout=5).json()


def serve_app(app, ssl_context=None) -> tuple[object, threading.Thread, int]:
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread, server.server_port


@pytest.fixture(scope="session")
def serve():
    """Serve a WSGI app on a loopback port from a thread: ``server, thread, port = serve(app)``;
    the caller shuts the server down."""
    return serve_app


@pytest.fixture(scope="session")
def simulator_server(keys_dir) -> Iterator[tuple[object, str]]:
    """One simulator process-wide on a loopback port (a server per test costs more than most tests)."""
    app = simulator.create_app({"SIMULATOR_KEYS_DIR": str(keys_dir)})
    server, thread, port = serve_app(app)
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def sim(simulator_server) -> Simulator:
    """The simulator with a fresh, empty state (objects, idempotency keys) and its own clock."""
    app, url = simulator_server
    clock = Clock(datetime.now(UTC))
    app.extensions["amazon_pay_simulator"] = Store(clock)
    return Simulator(url, app, clock)


@pytest.fixture
def client(sim, private_key) -> AmazonPayClient:
    # The parsed key, not the PEM: parsing costs ~30 ms, a hundred times a signature.
    return AmazonPayClient(PUBLIC_KEY_ID, private_key, "us", endpoint=sim.url, backoff_factor=0)


class Buyer:
    """Plays the buyer through the simulator's control endpoints (no browser)."""

    def __init__(self, sim: Simulator, client: AmazonPayClient):
        self.sim, self.client = sim, client

    def button_payload(self, **extra) -> str:
        payload = {
            "webCheckoutDetails": {
                "checkoutReviewReturnUrl": "http://shop.test/checkout/review",
                "checkoutCancelUrl": "http://shop.test/cart",
            },
            "storeId": STORE_ID,
            "scopes": ["name", "email", "phoneNumber", "billingAddress"],
        }
        payload.update(extra)
        return json.dumps(payload)

    def click_button(self, payload: str | None = None, signature: str | None = None, **choice) -> dict:
        payload = payload or self.button_payload()
        body = {
            "payloadJSON": payload,
            "publicKeyId": self.client.public_key_id,
            "signature": signature or self.client.generate_button_signature(payload),
            **choice,
        }
        return requests.post(f"{self.sim.url}/control/button-checkout", json=body, timeout=5)

    def sign_in(self, **choice) -> str:
        response = self.click_button(**choice)
        assert response.status_code == 201, response.text
        return response.json()["checkoutSessionId"]

    def pass_redirect(self, session_id: str, outcome: str | None = None) -> requests.Response:
        body = {"outcome": outcome} if outcome else {}
        return requests.post(f"{self.sim.url}/control/checkout-sessions/{session_id}/redirect", json=body, timeout=5)

    def ready_to_complete(self, amount="25.00", currency="USD", intent="Authorize", pending=False, **choice) -> str:
        """Sign in, Update Checkout Session as a merchant would, pass amazonPayRedirectUrl."""
        session_id = self.sign_in(**choice)
        self.client.update_checkout_session(
            session_id,
            {
                "webCheckoutDetails": {"checkoutResultReturnUrl": "http://shop.test/checkout/result"},
                "paymentDetails": {
                    "paymentIntent": intent,
                    "canHandlePendingAuthorization": pending,
                    "chargeAmount": {"amount": amount, "currencyCode": currency},
                },
                "merchantMetadata": {"merchantReferenceId": f"order-{session_id[:8]}"},
            },
        )
        response = self.pass_redirect(session_id)
        assert response.status_code == 200, response.text
        return session_id


@pytest.fixture
def buyer(sim, client) -> Buyer:
    return Buyer(sim, client)


# -- the PostgreSQL leg ------------------------------------------------------------------------
# Tests marked ``both_databases`` run twice: on SQLite (the default, no set-up) and on a real
# PostgreSQL server: TEST_DATABASE_URL, else one answering on 127.0.0.1:5432 (database
# ``test``, user ``postgres``, trust auth, as on this project's CI machines). Each test gets a
# schema of its own, dropped afterwards. Without a server the PostgreSQL runs are skipped, and
# the end of the run says so loudly.

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
_postgres_skips: list[str] = []


@functools.cache
def postgres_server() -> str | None:
    """The PostgreSQL server for tests, or None (then TEST_DATABASE_URL must be unset)."""
    url = os.environ.get("TEST_DATABASE_URL")
    try:
        psycopg.connect(url or LOCAL_POSTGRES, connect_timeout=2).close()
    except psycopg.OperationalError:
        if url:  # asked for by name: its absence is an error, not a skip
            raise
        return None
    return url or LOCAL_POSTGRES


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("both_databases") and "database" in metafunc.fixturenames:
        # The PostgreSQL leg is part of the full run (make test), not of the inner loop (-m "not slow").
        legs = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]
        metafunc.parametrize("database", legs, indirect=True)


@pytest.fixture
def database(request, tmp_path) -> Iterator[str | None]:
    """The DATABASE_URL of this test's shop: None (SQLite under tmp_path) or a fresh PostgreSQL
    schema on the test server."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    server = postgres_server()
    if server is None:
        _postgres_skips.append(request.node.nodeid)
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432 and TEST_DATABASE_URL is unset")
    schema = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def pytest_terminal_summary(terminalreporter):
    if _postgres_skips:
        terminalreporter.write_sep("!", "PostgreSQL leg SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(_postgres_skips)} tests ran on SQLite only: no PostgreSQL server answered on 127.0.0.1:5432 "
            "and TEST_DATABASE_URL is unset. Start one (or set TEST_DATABASE_URL) to test PostgreSQL too.",
            red=True,
            bold=True,
        )
