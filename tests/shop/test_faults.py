"""Fault injection: the simulator fails on purpose, the client and the shop survive it.

API level: each fault kind once on Create Checkout Session, Complete Checkout Session and
Create Charge; our AmazonPayClient retries once with the same idempotency key and Amazon
ends up with exactly one object. Shop level: a batch of headless checkouts through the
shop's own routes with a fifth of all API requests failing, an honest buyer who reloads
the "Amazon Pay is not answering" page, and every order in its right final state with one
charge at most. Control API: docs/simulator.md, "Fault injection".
"""

from __future__ import annotations

import random
import re
import time
import types
from collections import Counter

import pytest
import requests
import urllib3.util.retry

import shop
from shop.amazon_pay import AmazonPayClient, AmazonPayError
from shop.lifecycle import orders
from tests.support import PUBLIC_KEY_ID, STORE_ID, text

USD_25 = {"amount": "25.00", "currencyCode": "USD"}
KINDS = ("5xx", "429", "slow", "reset", "lost")
READ_TIMEOUT = 0.5
SLOW_SECONDS = 1.0  # longer than READ_TIMEOUT: a slow answer is a read timeout for the client


def set_faults(sim, rules, seed=7, slow_seconds=SLOW_SECONDS) -> dict:
    answer = requests.post(
        f"{sim.url}/control/faults", json={"seed": seed, "rules": rules, "slowSeconds": slow_seconds}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def fault_report(sim) -> dict:
    return requests.get(f"{sim.url}/control/faults", timeout=5).json()


class CountingClient(AmazonPayClient):
    """Our client, counting the calls it made and the retries they took."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls, self.retries, self.unanswered = 0, 0, Counter()

    def call(self, *args, **kwargs):
        self.calls += 1
        try:
            response = super().call(*args, **kwargs)
        except AmazonPayError as error:
            self.retries += error.retries
            if error.status is None or error.status >= 500 or error.status == 429:
                self.unanswered[error.reason_code or str(error.status)] += 1
            raise
        self.retries += response.retries
        return response


@pytest.fixture
def retry_sleeps(monkeypatch) -> list[float]:
    """urllib3's Retry sleeps (Retry-After: 1 of a 429) are recorded instead of slept.

    Only the retry module's ``time`` is replaced: the simulator, in this process, still sleeps."""
    sleeps: list[float] = []
    fake_time = types.SimpleNamespace(sleep=sleeps.append, time=time.time, monotonic=time.monotonic)
    monkeypatch.setattr(urllib3.util.retry, "time", fake_time)
    return sleeps


@pytest.fixture
def fast_client(sim, private_key, retry_sleeps) -> CountingClient:
    return CountingClient(
        PUBLIC_KEY_ID, private_key, "us", endpoint=sim.url, timeout=(1, READ_TIMEOUT), backoff_factor=0
    )


def stored_answer(sim, key: str) -> dict:
    """What the simulator applied and stored for this idempotency key."""
    return sim.app.extensions["amazon_pay_simulator"].idempotency[("Sandbox", key)][2]


# -- the control API ------------------------------------------------------------------------------------


def test_fault_control_endpoints(sim):
    empty = fault_report(sim)
    assert empty["rules"] == [] and empty["injected"] == {} and empty["slowSeconds"] == 1.5
    configured = set_faults(
        sim, [{"operation": "GetCharge", "kind": "429", "times": 2}, {"operation": "*", "kind": "5xx", "rate": 0.1}]
    )
    assert configured["rules"] == [
        {"operation": "GetCharge", "kind": "429", "rate": 1.0, "times": 2, "injected": 0},
        {"operation": "*", "kind": "5xx", "rate": 0.1, "times": None, "injected": 0},
    ]
    cleared = requests.delete(f"{sim.url}/control/faults", timeout=5).json()
    assert cleared["rules"] == []


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        ({}, "MissingParameterValue", "rules"),
        ({"rules": {}}, "InvalidParameterValue", "rules"),
        ({"rules": [{"kind": "5xx"}]}, "MissingParameterValue", "rules[0].operation"),
        ({"rules": [{"operation": "ChargeEverything", "kind": "5xx"}]}, "InvalidParameterValue", "rules[0].operation"),
        ({"rules": [{"operation": "*", "kind": "fire"}]}, "InvalidParameterValue", "rules[0].kind"),
        ({"rules": [{"operation": "*", "kind": "5xx", "rate": 1.5}]}, "InvalidParameterValue", "rules[0].rate"),
        ({"rules": [{"operation": "*", "kind": "5xx", "times": 0}]}, "InvalidParameterValue", "rules[0].times"),
        ({"rules": [{"operation": "*", "kind": "5xx", "times": True}]}, "InvalidParameterValue", "rules[0].times"),
        ({"rules": [{"operation": "*", "kind": "5xx", "when": 1}]}, "UnrecognizedField", "rules[0].when"),
        ({"rules": [], "slowSeconds": -1}, "InvalidParameterValue", "slowSeconds"),
        ({"rules": [], "seed": "7"}, "InvalidParameterValue", "seed"),
        ({"rules": [], "chaos": True}, "UnrecognizedField", "chaos"),
    ],
)
def test_bad_fault_configurations_are_refused(sim, body, reason, field):
    answer = requests.post(f"{sim.url}/control/faults", json=body, timeout=5)
    assert answer.status_code == 400 and answer.json()["reasonCode"] == reason, answer.text
    assert field in answer.json()["message"]
    assert fault_report(sim)["rules"] == []


def test_faults_spare_control_endpoints_and_hosted_pages(sim, fast_client):
    set_faults(sim, [{"operation": "*", "kind": "5xx"}])
    assert requests.get(f"{sim.url}/control/counts", timeout=5).status_code == 200
    assert requests.get(f"{sim.url}/static-na/checkout.js", timeout=5).status_code == 200
    assert requests.get(f"{sim.url}/v2/nowhere", timeout=5).status_code == 404  # no operation: no fault
    assert fault_report(sim)["injected"] == {}


def test_the_same_seed_gives_the_same_faults(sim, private_key, buyer):
    session_id = buyer.sign_in()
    once = AmazonPayClient(PUBLIC_KEY_ID, private_key, "us", endpoint=sim.url, max_retries=0, backoff_factor=0)

    def pattern() -> str:
        set_faults(sim, [{"operation": "GetCheckoutSession", "kind": "5xx", "rate": 0.5}], seed=42)
        marks = ""
        for _ in range(24):
            try:
                once.get_checkout_session(session_id)
                marks += "."
            except AmazonPayError as error:
                assert error.status == 503 and error.reason_code == "ServiceUnavailable"
                marks += "F"
        return marks

    first = pattern()
    assert "F" in first and "." in first and pattern() == first
    assert fault_report(sim)["injected"] == {"GetCheckoutSession": {"5xx": first.count("F")}}


def test_times_is_deterministic_and_rules_apply_in_order(sim, fast_client, buyer):
    session_id = buyer.sign_in()
    set_faults(
        sim,
        [
            {"operation": "GetCheckoutSession", "kind": "429", "times": 1},
            {"operation": "*", "kind": "5xx", "times": 2},
        ],
    )
    assert fast_client.get_checkout_session(session_id).retries == 3
    assert fast_client.get_checkout_session(session_id).retries == 0
    report = fault_report(sim)
    assert report["injected"] == {"GetCheckoutSession": {"429": 1, "5xx": 2}}
    assert report["injectedPerKind"] == {"5xx": 2, "429": 1}
    assert [rule["injected"] for rule in report["rules"]] == [1, 2]
    assert report["requests"] == {"GetCheckoutSession": 5}


# -- each kind once: one retry, one object --------------------------------------------------------------


def _create_session(client, buyer, sim):
    key = "create-session-1"
    payload = {"webCheckoutDetails": {"checkoutReviewReturnUrl": "http://shop.test/review"}, "storeId": STORE_ID}
    return "CreateCheckoutSession", lambda: client.create_checkout_session(payload, idempotency_key=key), key


def _complete(client, buyer, sim):
    session_id = buyer.ready_to_complete()
    key = "order-1-complete"
    return (
        "CompleteCheckoutSession",
        lambda: client.complete_checkout_session(session_id, {"chargeAmount": USD_25}, idempotency_key=key),
        key,
    )


def _create_charge(client, buyer, sim):
    session_id = buyer.ready_to_complete(intent="Confirm")
    permission_id = client.complete_checkout_session(session_id, {"chargeAmount": USD_25}).body["chargePermissionId"]
    key = "order-1-charge"
    payload = {"chargePermissionId": permission_id, "chargeAmount": USD_25, "captureNow": False}
    return "CreateCharge", lambda: client.create_charge(payload, idempotency_key=key), key


SETUPS = {
    "CreateCheckoutSession": _create_session,
    "CompleteCheckoutSession": _complete,
    "CreateCharge": _create_charge,
}
MADE = {"CreateCheckoutSession": "checkoutSessions", "CompleteCheckoutSession": "charges", "CreateCharge": "charges"}


# A "slow" answer waits out the client's read timeout: those cases are slow tests, the others are not.
@pytest.mark.parametrize("kind", [pytest.param(k, marks=pytest.mark.slow) if k == "slow" else k for k in KINDS])
@pytest.mark.parametrize("operation", list(SETUPS))
def test_one_fault_one_retry_one_object(sim, fast_client, buyer, retry_sleeps, operation, kind):
    name, call, key = SETUPS[operation](fast_client, buyer, sim)
    before = sim.counts()["counts"].get(MADE[operation], 0)
    set_faults(sim, [{"operation": name, "kind": kind, "times": 1}])
    started = time.perf_counter()

    response = call()

    assert response.status in (200, 201) and response.retries == 1
    assert sim.counts()["counts"][MADE[operation]] == before + 1  # exactly one object made
    report = fault_report(sim)
    assert report["injected"] == {name: {kind: 1}} and report["requests"] == {name: 2}
    assert response.body == stored_answer(sim, key)  # for lost/slow: the replay of what was applied
    if kind == "429":
        assert retry_sleeps == [1.0]  # Retry-After: 1 honoured (recorded, not slept)
    if kind == "slow":
        assert time.perf_counter() - started >= READ_TIMEOUT  # the client gave up once, then got the replay
    assert call().body == response.body  # the same key once more: the same answer, still one object
    assert sim.counts()["counts"][MADE[operation]] == before + 1


def test_lost_complete_replays_exactly_what_was_applied(sim, fast_client, buyer):
    session_id = buyer.ready_to_complete()
    set_faults(sim, [{"operation": "CompleteCheckoutSession", "kind": "lost", "times": 1}])
    response = fast_client.complete_checkout_session(session_id, {"chargeAmount": USD_25}, idempotency_key="k-1")
    charge_id = response.body["chargeId"]
    assert response.retries == 1 and charge_id
    assert sim.counts()["chargesPerChargePermission"] == {response.body["chargePermissionId"]: 1}
    assert fast_client.get_charge(charge_id).body["statusDetails"]["state"] == "Authorized"
    assert fast_client.get_checkout_session(session_id).body["chargeId"] == charge_id


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [("5xx", 503, "ServiceUnavailable"), ("429", 429, "TooManyRequests"), ("reset", None, "ConnectionError")],
)
def test_unlimited_faults_give_up_after_three_retries(sim, fast_client, kind, status, reason):
    set_faults(sim, [{"operation": "*", "kind": kind}])
    payload = {"webCheckoutDetails": {"checkoutReviewReturnUrl": "http://shop.test/review"}, "storeId": STORE_ID}
    with pytest.raises(AmazonPayError) as caught:
        fast_client.create_checkout_session(payload)
    assert (caught.value.status, caught.value.reason_code, caught.value.retries) == (status, reason, 3)
    assert fault_report(sim)["requests"] == {"CreateCheckoutSession": 4}
    assert sim.counts()["counts"].get("checkoutSessions", 0) == 0


def test_always_slow_gives_up_with_a_timeout_but_was_applied(sim, private_key, buyer):
    impatient = AmazonPayClient(
        PUBLIC_KEY_ID, private_key, "us", endpoint=sim.url, timeout=(1, 0.1), max_retries=1, backoff_factor=0
    )
    session_id = buyer.ready_to_complete()
    set_faults(sim, [{"operation": "*", "kind": "slow"}], slow_seconds=0.3)
    with pytest.raises(AmazonPayError) as caught:
        impatient.complete_checkout_session(session_id, {"chargeAmount": USD_25}, idempotency_key="k-2")
    assert (caught.value.status, caught.value.reason_code, caught.value.retries) == (None, "RequestTimeout", 1)
    requests.delete(f"{sim.url}/control/faults", timeout=5)
    again = impatient.complete_checkout_session(session_id, {"chargeAmount": USD_25}, idempotency_key="k-2")
    assert again.status == 200 and sim.counts()["counts"]["charges"] == 1


# -- the shop under faults ---------------------------------------------------------------------------------

EXPECTED = {"1111": ("paid", "Thank you for your order"), "0701": ("pending", "We have your order")}
EXPECTED["3434"] = ("failed", "Your payment was not successful")
MAX_RELOADS = 6
NOT_ANSWERING = "Amazon Pay is not answering"


class HonestBuyer:
    """A buyer who reloads (or submits again) when the shop says Amazon Pay is not answering."""

    def __init__(self, browser, stats: Counter):
        self.browser, self.stats = browser, stats

    def __getattr__(self, name):  # the rest is the browser's (a ShopBuyer from make_shop_buyer)
        return getattr(self.browser, name)

    def load(self, method: str, path: str, data: dict | None = None):
        answer = self.web.open(path, method=method, data=data)  # a 500 in TESTING mode raises here
        page = text(answer)
        assert answer.status_code != 500 and "Traceback" not in page, (method, path, answer.status_code, page)
        return answer

    def until_answered(self, method: str, path: str, data: dict | None = None):
        for _ in range(MAX_RELOADS):
            answer = self.load(method, path, data)
            if method == "POST" and answer.headers.get("Location") == "/problem":
                answer = self.load("GET", "/problem")  # a form's problem is shown by a GET page
            if answer.status_code != 503:
                return answer
            assert NOT_ANSWERING in text(answer)
            self.stats[f"503 at {method} {path.split('?')[0]}"] += 1
        raise AssertionError(f"{method} {path}: Amazon Pay still not answering after {MAX_RELOADS} tries")

    def buy(self, instrument: str) -> str:
        """One whole checkout; the checkout session id."""
        self.add(random.Random(instrument).choice(["canvas-tote", "trail-mug", "field-notebook"]))
        review = self.click_amazon_pay(instrument=instrument)
        page = self.until_answered("GET", review)
        assert page.status_code == 200 and "Place order" in text(page), text(page)
        session_id = review.split("amazonCheckoutSessionId=")[1]
        form = {
            "csrf_token": self.csrf(),
            "amazonCheckoutSessionId": session_id,
            "reviewed": re.search(r'name="reviewed" value="([^"]*)"', text(page))[1],
        }
        placed = self.until_answered("POST", "/checkout/place-order", form)  # the same form, submitted again
        assert placed.status_code == 303 and placed.headers["Location"].startswith(self.sim.url), text(placed)
        result = self.until_answered("GET", self.pay_at_amazon(placed.headers["Location"]))
        assert result.status_code == 200, text(result)
        assert EXPECTED[instrument][1] in text(result)
        return session_id


@pytest.fixture
def faulty_shop(sim, private_key, tmp_path, retry_sleeps, shop_config):
    client = CountingClient(
        PUBLIC_KEY_ID, private_key, "us", endpoint=sim.url, timeout=(1, READ_TIMEOUT), backoff_factor=0
    )
    return shop.create_app(shop_config(client, tmp_path)), client


def conditional_rates(total: float, kinds=KINDS) -> list[dict]:
    """Rules on every operation, tried in order, that together fail ``total`` of all requests,
    each kind an equal share (a later rule only sees what earlier ones let through)."""
    share, rules = total / len(kinds), []
    for index, kind in enumerate(kinds):
        rules.append({"operation": "*", "kind": kind, "rate": share / (1 - share * index)})
    return rules


@pytest.mark.slow
def test_shop_survives_a_fifth_of_amazon_pay_failing(sim, faulty_shop, capsys, make_shop_buyer):
    app, client = faulty_shop
    instruments = ["1111"] * 20 + ["3434"] * 5 + ["0701"] * 5
    random.Random(11).shuffle(instruments)
    set_faults(sim, conditional_rates(0.2), seed=21)  # this seed hits Complete with every kind
    stats: Counter = Counter()
    started = time.perf_counter()

    bought = [(instrument, HonestBuyer(make_shop_buyer(app), stats).buy(instrument)) for instrument in instruments]

    elapsed = time.perf_counter() - started
    report = fault_report(sim)
    counts = sim.counts()
    states: Counter = Counter()
    with app.app_context():
        for instrument, session_id in bought:
            order = orders.by_checkout_session(session_id)
            expected_state = EXPECTED[instrument][0]
            assert order.status == expected_state, (instrument, order)
            states[order.status] += 1
            charges = counts["chargesPerMerchantReference"].get(order.reference, 0)
            assert charges == (0 if expected_state == "failed" else 1), (order.reference, charges)
    assert sum(counts["chargesPerMerchantReference"].values()) == counts["counts"]["charges"] == 25
    assert sum(report["injectedPerKind"].values()) > 0 and set(report["injectedPerKind"]) == set(KINDS)

    with capsys.disabled():
        print(
            f"\n[faults] {len(bought)} checkouts in {elapsed:.1f} s; API requests {sum(report['requests'].values())} "
            f"for {client.calls} client calls; faults injected {sum(report['injectedPerKind'].values())} "
            f"{report['injectedPerKind']}; client retries {client.retries}; calls given up {dict(client.unanswered)}; "
            f"shop 503 pages reloaded {sum(v for k, v in stats.items() if k.startswith('503'))} "
            f"{ {k: v for k, v in stats.items() if v} }; orders {dict(states)}; "
            f"charges {counts['counts']['charges']}"
        )
        print(f"[faults] per operation: {report['injected']}")


# -- the 503 page's own way back -----------------------------------------------------------------------------


def _failing_update(sim):
    """Update Checkout Session fails on the first call and all three retries: the shop shows 503."""
    set_faults(sim, [{"operation": "UpdateCheckoutSession", "kind": "5xx", "times": 4}])


def test_amazon_down_at_complete_the_buyer_reloads_the_result(sim, faulty_shop, make_shop_buyer):
    app, _client = faulty_shop
    browser = HonestBuyer(make_shop_buyer(app), Counter())
    browser.add()
    review = browser.click_amazon_pay()
    placed = browser.place_order(review)
    result_path = browser.pay_at_amazon(placed.headers["Location"])
    set_faults(
        sim,
        [
            {"operation": "CompleteCheckoutSession", "kind": "lost", "times": 1},
            {"operation": "*", "kind": "5xx", "times": 3},
        ],
    )
    down = browser.web.get(result_path)
    # Amazon applied it and the shop does not know yet: "being confirmed", never "not charged".
    assert down.status_code == 200 and "We are confirming your payment" in text(down)
    assert "will not be charged twice" in text(down) and "nothing was charged" not in text(down).lower()
    assert sim.counts()["counts"]["charges"] == 1
    again = browser.load("GET", result_path)
    assert again.status_code == 200 and "Thank you for your order" in text(again)
    assert sim.counts()["counts"]["charges"] == 1


def test_the_503_page_after_place_order_leads_back_to_a_way_to_pay(sim, faulty_shop, make_shop_buyer):
    app, _client = faulty_shop
    browser = HonestBuyer(make_shop_buyer(app), Counter())
    browser.add()
    review = browser.click_amazon_pay()
    page = text(browser.load("GET", review))
    form = {
        "csrf_token": browser.csrf(),
        "amazonCheckoutSessionId": review.split("amazonCheckoutSessionId=")[1],
        "reviewed": re.search(r'name="reviewed" value="([^"]*)"', page)[1],
    }
    _failing_update(sim)
    sent = browser.load("POST", "/checkout/place-order", form)
    assert sent.status_code == 303 and sent.headers["Location"] == "/problem"  # not a page at a form's URL
    down = browser.load("GET", "/problem")
    assert down.status_code == 503 and "Back to your order review" in text(down)
    way_back = re.search(r'<a class="button" href="([^"]+)">Back to your order review</a>', text(down))[1]
    followed = browser.web.get(way_back.replace("&amp;", "&"), follow_redirects=True)
    assert followed.status_code == 200
    assert 'data-testid="place-order"' in text(followed)  # the buyer can place the order again


def test_a_buyer_request_ends_by_its_deadline_however_slow_amazon_is(
    sim, private_key, tmp_path, shop_config, make_shop_buyer
):
    """Amazon answers nothing in time, on every attempt: the result page still answers within
    AMAZON_PAY_REQUEST_DEADLINE (here 2.5 s), saying the payment is being confirmed."""
    client = AmazonPayClient(PUBLIC_KEY_ID, private_key, "us", endpoint=sim.url, timeout=(1, 1), backoff_factor=0.1)
    app = shop.create_app(shop_config(client, tmp_path, AMAZON_PAY_REQUEST_DEADLINE=2.5))
    browser = make_shop_buyer(app)
    browser.add()
    result_path = browser.pay_at_amazon(browser.place_order(browser.click_amazon_pay()).headers["Location"])
    set_faults(sim, [{"operation": "CompleteCheckoutSession", "kind": "slow", "times": 10}], slow_seconds=1.5)
    started = time.monotonic()
    page = browser.web.get(result_path)
    assert time.monotonic() - started < 3.5  # 2.5 s, and slack for a busy machine
    assert page.status_code == 200 and "We are confirming your payment" in text(page)
    assert fault_report(sim)["requests"]["CompleteCheckoutSession"] <= 3
