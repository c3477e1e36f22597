"""Several app servers, one shop: two gunicorn instances of the shop (two workers each) on one
database, as two machines behind a load balancer, and the simulator as a process of its own.

The instances share what a deployment shares: the database (one SQLite file on this machine, or
a PostgreSQL schema), SECRET_KEY (a browser's session cookie works on both) and the instance
folder with the demo key. Both start at once on a fresh database (migrations take a lock).
Buyers run at the same time, over real HTTP, and each of their requests goes to one instance
or the other: the review on one, Place Order on both at once (a double click the load balancer
spread), the result on the other; Sign in with Amazon started on one and returning to the
other; Pay with the saved wallet submitted to both at once.

What a buyer would notice is what is checked: every checkout ends on the success page, exactly
one order per checkout and one charge per order, and no server error anywhere. Timing is the
benchmark's business (bench/checkout_load.py), not this test's.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bench.http_buyer import HttpBuyer, order_reference
from bench.servers import Server, Servers, prepare_instance, stored_orders

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]

WORKERS = 2  # per instance
CHECKOUT_BUYERS = 6
CHECKOUTS_EACH = 2
WALLET_BUYERS = 2
WALLET_PAYMENTS_EACH = 2
SERVER_ERROR = re.compile(r'" 5\d\d ')  # the status in gunicorn.conf.py's access log format


@dataclass
class Deployment:
    simulator: Server
    shops: list[Server]
    instance: Path
    database_url: str | None

    @property
    def a(self) -> str:
        return self.shops[0].url

    @property
    def b(self) -> str:
        return self.shops[1].url

    def counts(self) -> dict:
        return requests.get(f"{self.simulator.url}/control/counts", timeout=5).json()


@pytest.fixture
def deployment(database, tmp_path) -> Deployment:
    """The simulator and two shop instances on this test's database; all stopped afterwards
    (process groups), even if a server failed to start or the test failed."""
    instance = tmp_path / "instance"
    with Servers(tmp_path) as servers:
        try:
            simulator = servers.simulator(prepare_instance(instance)).wait_until_up("/control")
            secret_key = secrets.token_hex(32)
            shops = [
                servers.shop(name, instance, simulator.url, WORKERS, database, secret_key)
                for name in ("shop-a", "shop-b")
            ]
            for shop in shops:
                shop.wait_until_up()
            yield Deployment(simulator, shops, instance, database)
        finally:
            for server in servers.started:  # shown by pytest only if the test failed
                print(f"--- {server.name} ({server.log_path}) ---\n{server.log_tail(25)}")


def test_checkouts_and_wallet_payments_spread_over_two_app_servers(deployment):
    a, b = deployment.a, deployment.b

    def checkout_buyer(number: int) -> list[str]:
        """Round robin over both instances, starting on either: review on one, Place Order on
        both at once, the result on the other."""
        buyer = HttpBuyer(deployment.simulator.url)
        shops = [a, b] if number % 2 else [b, a]
        try:
            return [buyer.checkout(shops, double_click=True) for _ in range(CHECKOUTS_EACH)]
        finally:
            buyer.close()

    def wallet_buyer(number: int) -> list[str]:
        """Sign in on one instance, come back on the other; save the wallet at checkout; then
        pay with it, each Pay click submitted to both instances at once."""
        buyer = HttpBuyer(deployment.simulator.url)
        first, second = (a, b) if number % 2 else (b, a)
        try:
            buyer.sign_in(first, return_to=second)
            buyer.save_wallet(second, buyer.catalog(first))
            references = [buyer.checkout([first, second], double_click=True)]
            for _ in range(WALLET_PAYMENTS_EACH):
                buyer.add(second, buyer.catalog(first))
                pages = buyer.pay_with_wallet([first, second], buyer.wallet_form(second))
                both = {order_reference(page) for page in pages}
                assert len(both) == 1, f"one Pay click, two orders: {both}"
                references.append(both.pop())
            return references
        finally:
            buyer.close()

    with ThreadPoolExecutor(CHECKOUT_BUYERS + WALLET_BUYERS) as pool:
        runs = [pool.submit(checkout_buyer, n) for n in range(CHECKOUT_BUYERS)]
        runs += [pool.submit(wallet_buyer, n) for n in range(WALLET_BUYERS)]
        failures = [str(run.exception()) for run in runs if run.exception()]
        assert not failures, failures  # every checkout and every payment ended on the success page
        references = [reference for run in runs for reference in run.result()]

    expected = CHECKOUT_BUYERS * CHECKOUTS_EACH + WALLET_BUYERS * (1 + WALLET_PAYMENTS_EACH)
    assert len(references) == len(set(references)) == expected  # a new order for every checkout

    orders = stored_orders(deployment.instance, deployment.database_url)
    assert sorted(order["reference"] for order in orders) == sorted(references)  # one order each, none extra
    assert Counter(order["status"] for order in orders) == {"paid": expected}

    counts = deployment.counts()
    assert counts["chargesPerMerchantReference"] == dict.fromkeys(references, 1)  # one charge per order
    assert counts["counts"]["charges"] == expected
    assert counts["counts"]["checkoutSessions"] == CHECKOUT_BUYERS * CHECKOUTS_EACH + WALLET_BUYERS

    for shop in deployment.shops:
        log = shop.log_path.read_text()
        assert "POST /checkout/place-order" in log and "POST /account/wallet/pay" in log  # both took their share
        assert not SERVER_ERROR.search(log) and "Traceback" not in log, shop.log_tail()
    assert "Traceback" not in deployment.simulator.log_path.read_text()
