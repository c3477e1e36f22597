"""Playwright fixtures: the shop and the simulator on their own ports (two origins, as with
Amazon), one shop per region, and Chromium: the system's when there is one.

Run: ``.venv/bin/python -m pytest e2e`` (``make test`` does). A failing test keeps a
screenshot and a trace in ``test-results/`` (``playwright show-trace <trace.zip>``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server

import shop
import simulator
from e2e.browser import CHROMIUM_ARGS, system_chromium
from e2e.journey import Journey
from shop.amazon_pay import AmazonPayClient

PUBLIC_KEY_ID = "SANDBOX-E2ETESTKEY00000000000000"
STORE_ID = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef"
REGIONS = ("us", "eu", "uk", "jp")


def pytest_configure(config):
    # Keep evidence of a failure, nothing otherwise (pytest-playwright's own options).
    config.option.screenshot = "only-on-failure"
    config.option.tracing = "retain-on-failure"
    config.option.output = "test-results"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Chromium from the system when present (this project's CI), else Playwright's own."""
    executable = system_chromium()
    args = [
        *CHROMIUM_ARGS,
        # A page served by page.route's fulfill() counts as "public" for Local Network Access, so
        # it could not load checkout.js from the simulator on 127.0.0.1; real shops and Amazon
        # are both public, so the check has nothing to say about them.
        "--disable-features=LocalNetworkAccessChecks",
    ]
    options = {**browser_type_launch_args, "args": args}
    if executable:
        options["executable_path"] = executable
    return options


def serve(app) -> tuple[object, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@dataclass
class Servers:
    simulator_url: str
    shops: dict[str, str]


@pytest.fixture(scope="session")
def servers(tmp_path_factory) -> Iterator[Servers]:
    keys_dir = tmp_path_factory.mktemp("simulator-keys")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (keys_dir / f"{PUBLIC_KEY_ID}.pem").write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    running = []
    sim_server, simulator_url = serve(simulator.create_app({"SIMULATOR_KEYS_DIR": str(keys_dir)}))
    running.append(sim_server)
    shops = {}
    for region in REGIONS:
        client = AmazonPayClient(PUBLIC_KEY_ID, private_key, region, endpoint=simulator_url)
        app = shop.create_app(
            {
                "SECRET_KEY": f"e2e-{region}",
                "AMAZON_PAY_MODE": "simulator",
                "AMAZON_PAY_CLIENT": client,
                "AMAZON_PAY_REGION": region,
                "AMAZON_PAY_ENDPOINT": simulator_url,
                "AMAZON_PAY_MERCHANT_ID": "A1E2ETESTMERCHANT",
                "AMAZON_PAY_STORE_ID": STORE_ID,
                "DATABASE": str(tmp_path_factory.mktemp(f"shop-{region}") / "orders.sqlite"),
            }
        )
        shop_server, shops[region] = serve(app)
        app.config["SHOP_URL"] = shops[region]  # its public address: known once it listens
        running.append(shop_server)
    yield Servers(simulator_url, shops)
    for server in running:
        server.shutdown()


@pytest.fixture
def shop_url(servers) -> str:
    return servers.shops["us"]


@pytest.fixture(autouse=True)
def _fail_fast(context):
    """Ten seconds for any page action: every step here takes well under one."""
    context.set_default_timeout(10_000)


@pytest.fixture
def journey(page, servers):
    """``journey(region)``: a buyer on that region's shop, in this test's page (see journey.py)."""

    def start(region: str = "us") -> Journey:
        return Journey(page, servers, region)

    return start


# Chromium prints CSP violations to the console itself; this listener makes sure each one is
# reported as an error even where it would not (e.g. a violation in report-only mode).
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def browser_errors(context) -> list[str]:
    """Every console error, uncaught exception and CSP violation of this test's pages, as
    ``"<page url>: <message>"``: a test asserts the list is empty."""
    errors: list[str] = []

    def on_console(message):
        if message.type == "error":
            errors.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def on_web_error(web_error):
        errors.append(f"{web_error.page.url if web_error.page else '?'}: uncaught {web_error.error}")

    context.add_init_script(script=_REPORT_CSP_VIOLATIONS)
    context.on("console", on_console)
    context.on("weberror", on_web_error)
    return errors
