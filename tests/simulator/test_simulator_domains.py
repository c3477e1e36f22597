"""Return URLs only on the merchant's registered domains, as Amazon checks them.

Amazon's rules (simulator/domains.py, docs/simulator.md):
- "You must add the domains where the Amazon Pay button will be rendered to Seller Central"
  (https://developer.amazon.com/docs/amazon-pay-checkout/add-the-amazon-pay-button.html), and the
  domains of the return URLs where they differ
  (https://developer.amazon.com/docs/amazon-pay-checkout/get-set-up-for-integration.html#2-add-domains-to-seller-central);
- ``signInReturnUrl``: "the URL domain must be added to Seller Central"
  (https://developer.amazon.com/docs/amazon-pay-checkout/amazon-sign-in.html);
- Sandbox, not Live, accepts localhost return URLs without registering them
  (https://developer.amazon.com/docs/amazon-pay-checkout/differences-between-environments.html).

Amazon documents no error code for an unregistered domain: the simulator answers
``400 InvalidParameterValue`` naming the field and the value (SIMULATOR CHOICE), on the hosted
pages as an error page (never a redirect). The shared test keys register ``shop.test``
(tests/conftest.py ``keys_dir``); ``evil.example`` is what a forged ``Host`` header would put in a
signed payload.
"""

from __future__ import annotations

import html
import json
import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization

import simulator
from shop.amazon_pay import AmazonPayClient, AmazonPayError, signing
from tests.support import PUBLIC_KEY_ID, STORE_ID

SHOP = "http://shop.test"
EVIL = "http://evil.example"
CHECKOUT_FIELDS = ("checkoutReviewReturnUrl", "checkoutResultReturnUrl", "checkoutCancelUrl")
SIGN_IN_FIELDS = ("signInReturnUrl", "signInCancelUrl")
#: URLs that lead a browser somewhere other than shop.test, however they are dressed up.
FOREIGN_URLS = [
    f"{EVIL}/checkout/review",
    "https://EVIL.example:8443/checkout/review",
    "http://shop.test@evil.example/checkout/review",  # userinfo: the host is evil.example
    "http://evil.example\\@shop.test/checkout/review",  # a browser reads \ as /: the host is evil.example
    "http://shop.test.evil.example/checkout/review",  # a subdomain of another domain
    "http://sub.shop.test/checkout/review",  # not registered: only shop.test itself is
]


def checkout_payload(**web) -> dict:
    urls = {"checkoutReviewReturnUrl": f"{SHOP}/checkout/review", "checkoutCancelUrl": f"{SHOP}/cart"}
    urls.update(web)
    return {"webCheckoutDetails": urls, "storeId": STORE_ID}


def sign_in_payload(**urls) -> dict:
    return {"signInReturnUrl": f"{SHOP}/account/amazon", "storeId": STORE_ID, "signInScopes": ["name"], **urls}


def signed(private_key, payload: dict) -> tuple[str, str]:
    text = json.dumps(payload, separators=(",", ":"))
    return text, signing.sign_button_payload(text, private_key, signing.ALGORITHM_V2)


def button_form(private_key, payload: dict, key_id: str = PUBLIC_KEY_ID, **fields) -> dict:
    """The hidden form the checkout.js stand-in posts to /checkout/initiate on a click."""
    text, signature = signed(private_key, payload)
    return {
        "payloadJSON": text,
        "signature": signature,
        "publicKeyId": key_id,
        "algorithm": signing.ALGORITHM_V2,
        "checkoutLanguage": "en_US",
        "ledgerCurrency": "USD",
        "merchantId": "A1TESTMERCHANT00",
        "productType": "PayAndShip",
        "placement": "Cart",
        "environment": "SANDBOX",
        "sandbox": "true",
        "origin_url": f"{SHOP}/cart",
        **fields,
    }


def control_body(private_key, payload: dict, key_id: str = PUBLIC_KEY_ID, **extra) -> dict:
    text, signature = signed(private_key, payload)
    return {"payloadJSON": text, "signature": signature, "publicKeyId": key_id, **extra}


def assert_refused(answer: dict, field: str, url: str) -> None:
    """Amazon's error shape, naming the field and the value."""
    assert answer["reasonCode"] == "InvalidParameterValue", answer
    assert field in answer["message"] and url[:300] in answer["message"], answer


def assert_error_page(response, field: str, url: str) -> None:
    """An error page like the signature-error page: HTML, 400, and no way on to the foreign URL."""
    assert response.status_code == 400, response.text
    assert response.mimetype == "text/html" and "Location" not in response.headers
    page = html.unescape(response.text)
    assert 'data-testid="error-code">InvalidParameterValue<' in page
    message = re.search(r'data-testid="error-message"[^>]*>([^<]*)<', page)[1]
    assert field in message and url in message
    hrefs = [html.unescape(href) for href in re.findall(r'href="([^"]*)"', response.text)]
    assert not any(urlsplit(href).hostname not in (None, "shop.test") for href in hrefs), hrefs


def created(sim) -> int:
    return sim.counts()["counts"].get("checkoutSessions", 0)


@pytest.fixture
def tab(sim):
    """The buyer's browser on the simulator's hosted pages (the same app and store as ``sim``)."""
    return sim.app.test_client()


@pytest.fixture
def state(sim):
    return sim.app.extensions["amazon_pay_simulator"]


# -- refused on every path -------------------------------------------------------------------


@pytest.mark.parametrize("field", CHECKOUT_FIELDS)
def test_button_initiate_refuses_a_foreign_return_url(tab, sim, private_key, field):
    """The forged-Host case: http://evil.example/… in a validly signed button payload."""
    url = f"{EVIL}/checkout/{field}"
    response = tab.post("/checkout/initiate", data=button_form(private_key, checkout_payload(**{field: url})))
    assert_error_page(response, f"webCheckoutDetails.{field}", url)
    assert created(sim) == 0


@pytest.mark.parametrize("url", FOREIGN_URLS)
def test_button_initiate_reads_the_host_as_a_browser_does(tab, sim, private_key, url):
    payload = checkout_payload(checkoutReviewReturnUrl=url)
    response = tab.post("/checkout/initiate", data=button_form(private_key, payload))
    assert_error_page(response, "webCheckoutDetails.checkoutReviewReturnUrl", url)
    assert created(sim) == 0


@pytest.mark.parametrize("field", CHECKOUT_FIELDS)
def test_control_button_checkout_refuses_a_foreign_return_url(sim, private_key, field):
    url = f"{EVIL}/checkout/{field}"
    body = control_body(private_key, checkout_payload(**{field: url}))
    response = requests.post(f"{sim.url}/control/button-checkout", json=body, timeout=5)
    assert response.status_code == 400
    assert_refused(response.json(), f"webCheckoutDetails.{field}", url)
    assert created(sim) == 0


@pytest.mark.parametrize("field", CHECKOUT_FIELDS)
def test_create_checkout_session_refuses_a_foreign_return_url(client, sim, field):
    url = f"{EVIL}/checkout/{field}"
    with pytest.raises(AmazonPayError) as refused:
        client.create_checkout_session(checkout_payload(**{field: url}))
    assert refused.value.status == 400
    assert_refused({"reasonCode": refused.value.reason_code, "message": refused.value.message}, field, url)
    assert created(sim) == 0


@pytest.mark.parametrize("field", CHECKOUT_FIELDS)
def test_update_checkout_session_refuses_a_foreign_return_url(client, field):
    session_id = client.create_checkout_session(checkout_payload()).body["checkoutSessionId"]
    url = f"{EVIL}/checkout/{field}"
    with pytest.raises(AmazonPayError) as refused:
        client.update_checkout_session(session_id, {"webCheckoutDetails": {field: url}})
    assert refused.value.status == 400 and refused.value.reason_code == "InvalidParameterValue"
    assert f"webCheckoutDetails.{field}" in refused.value.message and url in refused.value.message
    web = client.get_checkout_session(session_id).body["webCheckoutDetails"]
    assert EVIL not in json.dumps(web)  # nothing changed


def test_create_charge_refuses_a_foreign_result_url(client, sim):
    """Create Charge's ``webCheckoutDetails.checkoutResultReturnUrl`` is a return URL too; it is
    refused before the Charge Permission is even looked up."""
    url = f"{EVIL}/charge/result"
    body = {
        "chargePermissionId": "S01-0000000-0000000",
        "chargeAmount": {"amount": "1.00", "currencyCode": "USD"},
        "webCheckoutDetails": {"checkoutResultReturnUrl": url},
    }
    with pytest.raises(AmazonPayError) as refused:
        client.create_charge(body)
    assert refused.value.status == 400 and refused.value.reason_code == "InvalidParameterValue"
    assert url in refused.value.message
    assert sim.counts()["counts"].get("charges", 0) == 0


@pytest.mark.parametrize("field", SIGN_IN_FIELDS)
def test_sign_in_button_refuses_a_foreign_url(tab, state, private_key, field):
    """checkout.js's SignIn button posts to /checkout/initiate too; no sign-in is started."""
    url = f"{EVIL}/account/{field}"
    form = button_form(private_key, sign_in_payload(**{field: url}), productType="SignIn")
    response = tab.post("/checkout/initiate", data=form)
    assert_error_page(response, field, url)
    assert state.hosted == {} and state.buyer_tokens == {}


@pytest.mark.parametrize("field", SIGN_IN_FIELDS)
def test_control_sign_in_refuses_a_foreign_url(sim, state, private_key, field):
    url = f"{EVIL}/account/{field}"
    response = requests.post(
        f"{sim.url}/control/sign-in", json=control_body(private_key, sign_in_payload(**{field: url})), timeout=5
    )
    assert response.status_code == 400
    assert_refused(response.json(), field, url)
    assert state.buyer_tokens == {}


def test_a_foreign_button_page_is_no_cancel_link(tab, private_key):
    """``origin_url`` is not signed: off the registered domains it is ignored (SIMULATOR CHOICE)."""
    payload = checkout_payload(checkoutCancelUrl=None)
    form = button_form(private_key, payload, origin_url=f"{EVIL}/cart")
    response = tab.post("/checkout/initiate", data=form)
    assert response.status_code == 303
    page = tab.get(response.location).text
    assert "evil.example" not in page and 'data-testid="cancel"' not in page


# -- registered domains are accepted ---------------------------------------------------------


def test_registered_domain_is_accepted_on_every_path(tab, sim, client, private_key):
    """shop.test in any case, with any port and scheme."""
    web = {
        "checkoutReviewReturnUrl": "https://SHOP.test:8443/checkout/review",
        "checkoutResultReturnUrl": "http://shop.test./checkout/result",
        "checkoutCancelUrl": f"{SHOP}/cart",
    }
    response = tab.post("/checkout/initiate", data=button_form(private_key, checkout_payload(**web)))
    assert response.status_code == 303
    body = control_body(private_key, checkout_payload(**web))
    assert requests.post(f"{sim.url}/control/button-checkout", json=body, timeout=5).status_code == 201
    session_id = client.create_checkout_session(checkout_payload(**web)).body["checkoutSessionId"]
    client.update_checkout_session(session_id, {"webCheckoutDetails": web})
    assert created(sim) == 3
    urls = {"signInCancelUrl": "https://shop.test/account"}
    answer = requests.post(
        f"{sim.url}/control/sign-in", json=control_body(private_key, sign_in_payload(**urls)), timeout=5
    ).json()
    assert answer["redirectUrl"].startswith(f"{SHOP}/account/amazon?buyerToken=")
    form = button_form(private_key, sign_in_payload(**urls), productType="SignIn")
    started = tab.post("/checkout/initiate", data=form)
    assert started.status_code == 303 and "signInId=" in started.location
    sign_in_id = parse_qs(urlsplit(started.location).query)["signInId"][0]
    back = tab.post("/checkout/signin", data={"signInId": sign_in_id, "email": "jane.doe@example.com"})
    assert back.status_code == 303 and back.location.startswith(f"{SHOP}/account/amazon?buyerToken=")


# -- a key of its own: the loopback default, the .domains file, the control endpoint ---------

KEY_ID = "SANDBOX-DOMAINTESTKEY00000000000"


@pytest.fixture
def merchant(tmp_path, private_key, serve):
    """A fresh simulator whose keys directory has one key and, at first, no ``.domains`` file."""
    (tmp_path / f"{KEY_ID}.pem").write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    app = simulator.create_app({"SIMULATOR_KEYS_DIR": str(tmp_path)})
    server, thread, port = serve(app)
    try:
        yield Merchant(f"http://127.0.0.1:{port}", tmp_path / f"{KEY_ID}.domains", private_key)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Merchant:
    def __init__(self, url: str, domains_file, private_key):
        self.url, self.domains_file, self.private_key = url, domains_file, private_key
        self.client = AmazonPayClient(KEY_ID, private_key, "us", endpoint=url, backoff_factor=0)

    def click(self, review_url: str, **extra) -> requests.Response:
        payload = {"webCheckoutDetails": {"checkoutReviewReturnUrl": review_url}, "storeId": STORE_ID}
        body = control_body(self.private_key, payload, KEY_ID, **extra)
        return requests.post(f"{self.url}/control/button-checkout", json=body, timeout=5)

    def domains(self, method: str = "GET", **body) -> requests.Response:
        return requests.request(method, f"{self.url}/control/merchants/{KEY_ID}/domains", json=body or None, timeout=5)

    def write(self, text: str) -> None:
        self.domains_file.write_text(text, encoding="utf-8")
        stat = self.domains_file.stat()  # a new mtime even within the file system's time resolution
        os.utime(self.domains_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize("url", ["http://localhost:5000/review", "http://127.0.0.1/review", "http://[::1]:8080/review"])
def test_without_a_domains_file_loopback_is_accepted_in_sandbox(merchant, url):
    assert merchant.click(url).status_code == 201
    assert merchant.domains().json() == {"publicKeyId": KEY_ID, "domains": [], "source": "none"}


def test_without_a_domains_file_nothing_else_is_accepted(merchant):
    response = merchant.click(f"{SHOP}/review")
    assert response.status_code == 400
    assert_refused(response.json(), "webCheckoutDetails.checkoutReviewReturnUrl", f"{SHOP}/review")
    with pytest.raises(AmazonPayError) as refused:
        merchant.client.create_checkout_session(checkout_payload())
    assert refused.value.reason_code == "InvalidParameterValue"


def test_live_does_not_accept_localhost(merchant):
    """Amazon: "You can develop on your localhost in Sandbox but not in the Live environment"."""
    response = merchant.click("http://localhost:5000/review", sandbox=False)
    assert response.status_code == 400 and response.json()["reasonCode"] == "InvalidParameterValue"


def test_a_domains_file_added_after_start_is_picked_up(merchant):
    assert merchant.click(f"{SHOP}/review").status_code == 400
    merchant.write("# Seller Central, JavaScript origins\n\nSHOP.test  # the shop\nshop.example:8443\n")
    assert merchant.click(f"{SHOP}/review").status_code == 201
    assert merchant.client.create_checkout_session(checkout_payload()).status == 201
    assert merchant.click("http://localhost/review").status_code == 201  # Sandbox: loopback too
    assert merchant.domains().json() == {"publicKeyId": KEY_ID, "domains": ["shop.test"], "source": "file"}
    merchant.write("www.shop.example\n")  # changed while running: shop.test is gone
    assert merchant.click(f"{SHOP}/review").status_code == 400
    assert merchant.click("https://www.shop.example/review").status_code == 201


def test_control_endpoint_overrides_the_file_until_reset(merchant):
    merchant.write("shop.test\n")
    answer = merchant.domains("PUT", domains=["Shop.Example", "shop.example", "xn--mnchen-3ya.de"])
    assert answer.status_code == 200
    assert answer.json() == {
        "publicKeyId": KEY_ID,
        "domains": ["shop.example", "xn--mnchen-3ya.de"],
        "source": "override",
    }
    assert merchant.click("https://shop.example/review").status_code == 201
    assert merchant.click("https://münchen.de/review").status_code == 201
    assert merchant.click(f"{SHOP}/review").status_code == 400  # the override replaces the file
    assert requests.post(f"{merchant.url}/control/reset", timeout=5).json() == {"reset": True}
    assert merchant.domains().json()["source"] == "file"
    assert merchant.click(f"{SHOP}/review").status_code == 201
    assert merchant.click("https://shop.example/review").status_code == 400
    merchant.domains("PUT", domains=[])
    assert merchant.click(f"{SHOP}/review").status_code == 400
    assert merchant.domains("DELETE").json()["source"] == "file"
    assert merchant.click(f"{SHOP}/review").status_code == 201


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        ({}, "MissingParameterValue", "domains"),
        ({"domains": "shop.test"}, "InvalidParameterValue", "domains"),
        ({"domains": ["shop.test", "https://shop.test"]}, "InvalidParameterValue", "domains[1]"),
        ({"domains": ["shop.test:443"]}, "InvalidParameterValue", "domains[0]"),
        ({"domains": ["shop.test/path"]}, "InvalidParameterValue", "domains[0]"),
        ({"domains": [7]}, "InvalidParameterValue", "domains[0]"),
        ({"domains": ["x"] * 257}, "InvalidParameterValue", "domains"),
    ],
)
def test_control_endpoint_refuses_what_is_not_a_hostname(merchant, body, code, named):
    response = requests.put(f"{merchant.url}/control/merchants/{KEY_ID}/domains", json=body, timeout=5)
    assert response.status_code == 400 and response.json()["reasonCode"] == code
    assert named in response.json()["message"]
    assert merchant.domains().json()["source"] == "none"


def test_control_endpoint_refuses_a_malformed_key_id(merchant):
    response = requests.get(f"{merchant.url}/control/merchants/{'K' * 65}/domains", timeout=5)
    assert response.status_code == 400 and response.json()["reasonCode"] == "InvalidParameterValue"
