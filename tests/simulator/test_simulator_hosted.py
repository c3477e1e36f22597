"""The simulator's hosted pages and its checkout.js stand-in, through Flask's test client.

The buyer's browser is the test client (the ``tab`` fixture): it POSTs the button form to /checkout/initiate as
checkout.js does, signs in, picks an address and a payment method, comes back through the
Change links and amazonPayRedirectUrl; the merchant's side is the store itself.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import simulator
from shop.amazon_pay import signing
from tests.support import ADDRESS_DETAILS, PUBLIC_KEY_ID, STORE_ID

REVIEW_URL = "http://shop.test/checkout/review"
RESULT_URL = "http://shop.test/checkout/result"
CANCEL_URL = "http://shop.test/cart?cancelled=1"
ORIGIN_URL = "http://shop.test/cart"
COOKIE = "amazon_pay_simulator"
HTML = {"Accept": "text/html,application/xhtml+xml"}
USD_25 = {"amount": "25.00", "currencyCode": "USD"}


@pytest.fixture
def app(keys_dir):
    return simulator.create_app({"SIMULATOR_KEYS_DIR": str(keys_dir), "TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def tab(app):
    return app.test_client()


@pytest.fixture
def state(app):
    return app.extensions["amazon_pay_simulator"]


def payload_json(**extra) -> str:
    web = {"checkoutReviewReturnUrl": REVIEW_URL, "checkoutCancelUrl": CANCEL_URL}
    web.update(extra.pop("web", {}))
    payload = {"webCheckoutDetails": {k: v for k, v in web.items() if v is not None}, "storeId": STORE_ID, **extra}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def button_form(private_key, payload: str | None = None, algorithm=signing.ALGORITHM_V2, **fields) -> dict:
    """The hidden form checkout.js submits on a click, as https://static-na.payments-amazon.com/checkout.js does."""
    payload = payload or payload_json()
    form = {
        "payloadJSON": payload,
        "signature": signing.sign_button_payload(payload, private_key, algorithm),
        "publicKeyId": PUBLIC_KEY_ID,
        "publicKeyIdMismatch": "false",
        "algorithm": algorithm,
        "checkoutLanguage": "en_US",
        "ledgerCurrency": "USD",
        "merchantId": "A1TESTMERCHANT00",
        "productType": "PayAndShip",
        "placement": "Cart",
        "environment": "SANDBOX",
        "sandbox": "true",
        "merchantDomain": "shop.test",
        "origin_url": ORIGIN_URL,
        "viewType": "redirectView",
        "estimatedOrderAmount": json.dumps(USD_25),
    }
    form.update(fields)
    return {name: value for name, value in form.items() if value is not None}


def session_id_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["amazonCheckoutSessionId"][0]


def click_button(tab, private_key, **fields) -> str:
    """POST /checkout/initiate; returns the new Checkout Session id."""
    response = tab.post("/checkout/initiate", data=button_form(private_key, **fields))
    assert response.status_code == 303, response.text
    assert response.location.startswith("/checkout/signin?")
    return session_id_of(response.location)


def sign_in(tab, session_id: str, email: str = "jane.doe@example.com"):
    return tab.post("/checkout/signin", data={"amazonCheckoutSessionId": session_id, "email": email})


def choose(tab, session_id: str, **fields):
    return tab.post("/checkout/choose", data={"amazonCheckoutSessionId": session_id, **fields})


def signed_in_checkout(tab, private_key, **fields) -> str:
    session_id = click_button(tab, private_key, **fields)
    assert sign_in(tab, session_id).status_code == 303
    return session_id


def radio(page: str, input_id: str) -> str:
    found = re.search(rf'<input type="radio"[^>]*id="{re.escape(input_id)}"[^>]*>', page)
    assert found, f"no radio {input_id}"
    return found.group(0)


def links(page: str) -> dict[str, str]:
    """data-testid -> href of each link on a page."""
    return {
        testid: html.unescape(href) for href, testid in re.findall(r'<a href="([^"]*)" data-testid="([^"]*)"', page)
    }


def ready_for_redirect(state, session_id: str, amount=USD_25) -> None:
    """What the merchant's Place Order does: Update Checkout Session."""
    with state.lock:
        state.update_checkout_session(
            "Sandbox",
            session_id,
            {
                "webCheckoutDetails": {"checkoutResultReturnUrl": RESULT_URL},
                "paymentDetails": {"paymentIntent": "Authorize", "chargeAmount": amount},
            },
        )


# -- checkout.js ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "ledgers", "languages", "absent"),
    [
        ("na", ["USD"], ["en_US"], "EUR"),
        ("eu", ["EUR", "GBP"], ["en_GB", "de_DE", "fr_FR", "it_IT", "es_ES"], "USD"),
        ("fe", ["JPY"], ["ja_JP"], "GBP"),
    ],
)
def test_checkout_js_per_region(tab, region, ledgers, languages, absent):
    response = tab.get(f"/static-{region}/checkout.js")
    assert response.status_code == 200 and response.mimetype == "application/javascript"
    config_line = next(line for line in response.text.splitlines() if "var REGION =" in line)
    config = json.loads(config_line.split("=", 1)[1].strip().rstrip(";"))
    assert config["ledgerCurrencies"] == ledgers and config["languages"] == languages
    assert f'"{absent}"' not in config_line
    for api in ("renderButton", "initCheckout", "bindChangeAction", "signout", "/checkout/initiate"):
        assert api in response.text
    assert "document.currentScript" in response.text  # its origin comes from its own src


def test_checkout_js_unknown_region(tab):
    assert tab.get("/static-xx/checkout.js").status_code == 404


# -- the button: /checkout/initiate ----------------------------------------------------------


def test_good_signature_leads_to_sign_in(tab, private_key, state):
    response = tab.post("/checkout/initiate", data=button_form(private_key), follow_redirects=True)
    assert response.status_code == 200 and response.request.path == "/checkout/signin"
    page = response.text
    assert "Amazon Pay (simulator)" in page and "<h1>Sign in</h1>" in page
    assert 'value="jane.doe@example.com"' in page and 'data-testid="sign-in"' in page
    assert "Estimated total 25.00 USD" in page
    (session,) = state.sessions.values()
    assert (session.env, session.region, session.product_type, session.state) == ("Sandbox", "na", "PayAndShip", "Open")
    assert session.buyer is None


@pytest.mark.parametrize(
    ("ledger", "language", "region", "email"),
    [
        ("EUR", "de_DE", "eu", "erika@example.de"),
        ("GBP", "en_GB", "eu", "erika@example.de"),
        ("JPY", "ja_JP", "jp", "taro@example.jp"),
    ],
)
def test_region_follows_ledger_currency(tab, private_key, state, ledger, language, region, email):
    session_id = click_button(tab, private_key, ledgerCurrency=ledger, checkoutLanguage=language)
    assert state.sessions[session_id].region == region
    assert f'value="{email}"' in tab.get(f"/checkout/signin?amazonCheckoutSessionId={session_id}").text


def test_algorithm_defaults_to_v1_as_the_button_does(tab, private_key):
    v1 = button_form(private_key, algorithm=signing.ALGORITHM_V1)
    del v1["algorithm"]
    assert tab.post("/checkout/initiate", data=v1).status_code == 303
    v2_unnamed = button_form(private_key)
    del v2_unnamed["algorithm"]
    response = tab.post("/checkout/initiate", data=v2_unnamed)
    assert response.status_code == 400 and "does not match signedString AMZN-PAY-RSASSA-PSS " in response.text


def test_live_environment_from_the_form(tab, private_key, state):
    session_id = click_button(tab, private_key, environment="LIVE", sandbox="false")
    assert state.sessions[session_id].env == "Live"


def tampered(private_key):
    form = button_form(private_key)
    form["payloadJSON"] = form["payloadJSON"].replace("review", "revi3w")
    return form


def other_key(private_key):
    return button_form(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def unknown_key(private_key):
    return button_form(private_key, publicKeyId="SANDBOX-NOBODY0000000000000000")


@pytest.mark.parametrize(
    ("make_form", "hint"),
    [(tampered, "exactly the string"), (other_key, "exactly the string"), (unknown_key, "trusts no public key")],
)
def test_bad_signature_page(tab, private_key, state, make_form, hint):
    form = make_form(private_key)
    response = tab.post("/checkout/initiate", data=form)
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = html.unescape(response.text)
    assert 'data-testid="error-code">InvalidSignatureError<' in page
    digest = hashlib.sha256(form["payloadJSON"].encode()).hexdigest()
    expected = f"does not match signedString AMZN-PAY-RSASSA-PSS-V2 {digest} for merchant A1TESTMERCHANT00"
    assert f"Signature {form['signature']} {expected}" in page
    assert hint in page and links(page)["cancel"] == ORIGIN_URL
    assert state.sessions == {}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"payloadJSON": ""}, "MissingParameterValue"),
        ({"signature": None}, "MissingParameterValue"),
        ({"ledgerCurrency": "CHF"}, "InvalidParameterValue"),
        ({"productType": "Donation"}, "InvalidParameterValue"),
    ],
)
def test_initiate_rejects_incomplete_forms(tab, private_key, fields, code):
    response = tab.post("/checkout/initiate", data=button_form(private_key, **fields))
    assert response.status_code == 400 and f'data-testid="error-code">{code}<' in response.text


def test_payload_the_api_would_reject(tab, private_key, state):
    payload = payload_json(web={"checkoutReviewReturnUrl": None})
    response = tab.post("/checkout/initiate", data=button_form(private_key, payload=payload))
    assert response.status_code == 400 and "checkoutReviewReturnUrl" in response.text
    assert state.sessions == {}


# -- sign-in and "Continue as" -----------------------------------------------------------------


def test_sign_in_then_continue_as(tab, private_key, state):
    session_id = click_button(tab, private_key)
    response = sign_in(tab, session_id)
    assert response.status_code == 303 and response.location.startswith("/checkout/continue?")
    assert tab.get_cookie(COOKIE) is not None and tab.get_cookie("session") is None
    page = tab.get(response.location).text
    assert "Continue as Jane Doe" in page
    assert "410 Terry Ave N, Seattle, WA, 98109, US" in page and "Visa ••••1111 — success" in page
    assert links(page)["change"] == f"/checkout/choose?amazonCheckoutSessionId={session_id}"

    done = choose(tab, session_id, address="us-home", instrument="1111")
    assert done.status_code == 303 and done.location == f"{REVIEW_URL}?amazonCheckoutSessionId={session_id}"
    shown = state.sessions[session_id].to_json("http://sim")
    assert shown["buyer"]["name"] == "Jane Doe" and shown["shippingAddress"]["city"] == "Seattle"
    assert shown["paymentPreferences"][0]["paymentDescriptor"] == "Visa ****1111"


def test_signed_in_buyer_skips_sign_in(tab, private_key):
    signed_in_checkout(tab, private_key)
    second = click_button(tab, private_key)
    response = tab.get(f"/checkout/signin?amazonCheckoutSessionId={second}")
    assert response.status_code == 303 and response.location.startswith("/checkout/continue?")


def test_unknown_email_is_refused(tab, private_key):
    session_id = click_button(tab, private_key)
    response = sign_in(tab, session_id, email="someone@example.com")
    assert response.status_code == 401 and "use jane.doe@example.com" in response.text
    assert tab.get_cookie(COOKIE) is None


def test_pages_need_a_signed_in_buyer(tab, private_key, state):
    session_id = click_button(tab, private_key)
    for path in ("/checkout/continue", "/checkout/choose"):
        response = tab.get(f"{path}?amazonCheckoutSessionId={session_id}")
        assert response.status_code == 303 and response.location.startswith("/checkout/signin?")
    response = choose(tab, session_id, address="us-home", instrument="1111")
    assert response.status_code == 303 and response.location.startswith("/checkout/signin?")
    assert state.sessions[session_id].buyer is None


# -- the chooser -----------------------------------------------------------------------------

NO_PO_BOX_NO_ALASKA = {
    "specialRestrictions": ["RestrictPOBoxes"],
    "addressRestrictions": {"type": "NotAllowed", "restrictions": {"US": {"statesOrRegions": ["AK"]}}},
}


def test_restricted_addresses_are_shown_disabled(tab, private_key):
    payload = payload_json(deliverySpecifications=NO_PO_BOX_NO_ALASKA)
    session_id = signed_in_checkout(tab, private_key, payload=payload)
    page = tab.get(f"/checkout/choose?amazonCheckoutSessionId={session_id}").text
    assert "disabled" in radio(page, "address-us-po-box") and "disabled" in radio(page, "address-us-alaska")
    assert "does not deliver to PO boxes" in page and "does not deliver to this country, state or postal code" in page
    home = radio(page, "address-us-home")
    assert "disabled" not in home and "checked" in home
    assert "Mastercard ••••3434 — declined" in page and "checked" in radio(page, "instrument-1111")


def test_restricted_address_cannot_be_forced(tab, private_key, state):
    payload = payload_json(deliverySpecifications=NO_PO_BOX_NO_ALASKA)
    session_id = signed_in_checkout(tab, private_key, payload=payload)
    response = choose(tab, session_id, address="us-po-box", instrument="1111")
    assert response.status_code == 400
    assert "excluded by the deliverySpecifications" in response.text
    assert state.sessions[session_id].buyer is None


@pytest.mark.parametrize("fields", [{"address": "mars-base", "instrument": "1111"}, {"instrument": "9999"}, {}])
def test_bad_choices_show_the_chooser_again(tab, private_key, state, fields):
    session_id = signed_in_checkout(tab, private_key)
    response = choose(tab, session_id, **fields)
    assert response.status_code == 400 and 'data-testid="error"' in response.text
    assert state.sessions[session_id].buyer is None


def test_chosen_address_and_instrument_reach_the_session(tab, private_key, state):
    session_id = signed_in_checkout(tab, private_key)
    response = choose(tab, session_id, address="ca-home", instrument="3434")
    assert response.location == f"{REVIEW_URL}?amazonCheckoutSessionId={session_id}"
    shown = state.sessions[session_id].to_json("http://sim")
    assert shown["shippingAddress"]["countryCode"] == "CA"
    assert shown["paymentPreferences"][0]["paymentDescriptor"] == "Mastercard ****3434"


def test_excluded_default_address_goes_to_the_chooser(tab, private_key):
    only_canada = {"addressRestrictions": {"type": "Allowed", "restrictions": {"CA": {}}}}
    session_id = click_button(tab, private_key, payload=payload_json(deliverySpecifications=only_canada))
    response = sign_in(tab, session_id)
    assert response.location.startswith("/checkout/choose?")
    page = tab.get(response.location).text
    assert "checked" in radio(page, "address-ca-home") and "disabled" in radio(page, "address-us-home")


def test_no_allowed_address_blocks_continue(tab, private_key):
    nowhere = {"addressRestrictions": {"type": "Allowed", "restrictions": {"NZ": {}}}}
    session_id = signed_in_checkout(tab, private_key, payload=payload_json(deliverySpecifications=nowhere))
    page = tab.get(f"/checkout/choose?amazonCheckoutSessionId={session_id}").text
    assert 'data-testid="no-address"' in page
    assert re.search(r'data-testid="continue" disabled>', page)


def test_pay_only_offers_payment_methods_only(tab, private_key, state):
    session_id = signed_in_checkout(tab, private_key, productType="PayOnly")
    response = tab.get(f"/checkout/signin?amazonCheckoutSessionId={session_id}")
    assert response.location.startswith("/checkout/choose?")  # PayOnly: never "Continue as"
    page = tab.get(response.location).text
    assert 'name="address"' not in page and 'name="instrument"' in page
    assert choose(tab, session_id, instrument="0701").status_code == 303
    session = state.sessions[session_id]
    assert session.shipping_address is None and session.instrument.last4 == "0701"


def test_process_order_goes_straight_to_processing(tab, private_key, state):
    payload = payload_json(
        web={"checkoutMode": "ProcessOrder", "checkoutResultReturnUrl": RESULT_URL, "checkoutReviewReturnUrl": None},
        paymentDetails={"paymentIntent": "Authorize", "chargeAmount": USD_25},
        addressDetails=ADDRESS_DETAILS,
    )
    session_id = signed_in_checkout(tab, private_key, payload=payload)
    page = tab.get(f"/checkout/continue?amazonCheckoutSessionId={session_id}").text
    assert "Pay now" in page and "Order total 25.00 USD" in page
    response = choose(tab, session_id, address="us-home", instrument="1111")
    assert response.status_code == 303
    assert response.location == f"http://localhost/checkout/processing?amazonCheckoutSessionId={session_id}"
    processing = tab.get(response.location, headers=HTML)
    assert f'content="1;url={RESULT_URL}?amazonCheckoutSessionId={session_id}"' in processing.text
    assert state.sessions[session_id].confirmed


# -- Change address / Change payment (bindChangeAction) --------------------------------------


def reviewed(tab, private_key, address="us-home", instrument="3434") -> str:
    session_id = signed_in_checkout(tab, private_key)
    assert choose(tab, session_id, address=address, instrument=instrument).status_code == 303
    return session_id


def test_change_address_keeps_the_payment_method(tab, private_key, state):
    session_id = reviewed(tab, private_key)
    url = (
        f"/checkout/initiate_auth?amazonCheckoutSessionId={session_id}&changeAction=changeAddress&viewType=redirectView"
    )
    page = tab.get(url).text
    assert "Change the delivery address" in page
    assert 'name="address"' in page and 'name="instrument"' not in page
    assert 'name="changeAction" value="changeAddress"' in page
    response = choose(tab, session_id, changeAction="changeAddress", address="us-alaska", instrument="1111")
    assert response.location == f"{REVIEW_URL}?amazonCheckoutSessionId={session_id}"
    session = state.sessions[session_id]
    assert session.shipping_address["stateOrRegion"] == "AK" and session.instrument.last4 == "3434"


def test_change_payment_keeps_the_address(tab, private_key, state):
    session_id = reviewed(tab, private_key, address="ca-home")
    page = tab.get(f"/checkout/initiate_auth?amazonCheckoutSessionId={session_id}&changeAction=changePayment").text
    assert "Change the payment method" in page
    assert 'name="address"' not in page and "checked" in radio(page, "instrument-3434")
    response = choose(tab, session_id, changeAction="changePayment", address="us-home", instrument="0701")
    assert response.location == f"{REVIEW_URL}?amazonCheckoutSessionId={session_id}"
    session = state.sessions[session_id]
    assert session.shipping_address["countryCode"] == "CA" and session.instrument.last4 == "0701"


def test_change_needs_sign_in_first(app, tab, private_key):
    session_id = reviewed(tab, private_key)
    stranger = app.test_client()  # another tab: no simulator cookie
    url = f"/checkout/initiate_auth?amazonCheckoutSessionId={session_id}&changeAction=changePayment"
    response = stranger.get(url)
    assert response.status_code == 303 and "changeAction=changePayment" in response.location
    assert 'name="changeAction" value="changePayment"' in stranger.get(response.location).text
    back = stranger.post(
        "/checkout/signin",
        data={"amazonCheckoutSessionId": session_id, "email": "jane.doe@example.com", "changeAction": "changePayment"},
    )
    assert back.location.startswith("/checkout/initiate_auth?") and "changeAction=changePayment" in back.location


def test_change_is_refused_when_the_session_moved_on(tab, private_key, state):
    unknown = tab.get("/checkout/initiate_auth?amazonCheckoutSessionId=nope&changeAction=changeAddress")
    assert unknown.status_code == 404 and "ResourceNotFound" in unknown.text

    session_id = reviewed(tab, private_key, instrument="1111")
    bad_action = tab.get(f"/checkout/initiate_auth?amazonCheckoutSessionId={session_id}&changeAction=changeName")
    assert bad_action.status_code == 400 and "InvalidParameterValue" in bad_action.text

    ready_for_redirect(state, session_id)
    tab.get(f"/checkout/processing?amazonCheckoutSessionId={session_id}")
    redirected = tab.get(f"/checkout/initiate_auth?amazonCheckoutSessionId={session_id}&changeAction=changeAddress")
    assert redirected.status_code == 422 and "already passed amazonPayRedirectUrl" in redirected.text
    assert choose(tab, session_id, address="ca-home", instrument="1111").status_code == 422

    expired = reviewed(tab, private_key)
    state.clock.advance(25 * 3600)
    response = tab.get(f"/checkout/initiate_auth?amazonCheckoutSessionId={expired}&changeAction=changeAddress")
    assert response.status_code == 422 and "Canceled state" in response.text


# -- cancel ----------------------------------------------------------------------------------


def test_cancel_link_goes_to_checkout_cancel_url(tab, private_key):
    session_id = signed_in_checkout(tab, private_key)
    for path in ("/checkout/continue", "/checkout/choose"):
        assert links(tab.get(f"{path}?amazonCheckoutSessionId={session_id}").text)["cancel"] == CANCEL_URL
    assert "Cancel and return to the shop" in tab.get(f"/checkout/choose?amazonCheckoutSessionId={session_id}").text


def test_cancel_link_falls_back_to_the_button_page(tab, private_key):
    session_id = click_button(tab, private_key, payload=payload_json(web={"checkoutCancelUrl": None}))
    assert links(tab.get(f"/checkout/signin?amazonCheckoutSessionId={session_id}").text)["cancel"] == ORIGIN_URL


def test_cancel_link_is_never_a_script_url(tab, private_key):
    payload = payload_json(web={"checkoutCancelUrl": None})
    session_id = click_button(tab, private_key, payload=payload, origin_url="javascript:alert(1)")
    page = tab.get(f"/checkout/signin?amazonCheckoutSessionId={session_id}").text
    assert "cancel" not in links(page) and "javascript:" not in page


# -- amazonPayRedirectUrl --------------------------------------------------------------------


def test_processing_page_processes_once(tab, private_key, state):
    session_id = reviewed(tab, private_key, instrument="3434")
    ready_for_redirect(state, session_id)
    redirect_url = state.sessions[session_id].to_json("http://localhost")["webCheckoutDetails"]["amazonPayRedirectUrl"]
    assert redirect_url == f"http://localhost/checkout/processing?amazonCheckoutSessionId={session_id}"
    first = tab.get(redirect_url, headers=HTML)
    assert first.status_code == 200 and "Processing your payment" in first.text
    result = f"{RESULT_URL}?amazonCheckoutSessionId={session_id}"
    assert f'<meta http-equiv="refresh" content="1;url={result}">' in first.text
    assert links(first.text)["return-to-shop"] == result
    session = state.sessions[session_id]
    assert (session.state, session.reason) == ("Canceled", "Declined")
    updated = session.updated
    state.clock.advance(60)
    again = tab.get(redirect_url, headers=HTML)  # a reload: the same page, nothing processed twice
    assert again.status_code == 200 and result in again.text
    assert session.updated == updated and (session.state, session.reason) == ("Canceled", "Declined")


def test_processing_redirects_plain_http_clients(tab, private_key, state):
    session_id = reviewed(tab, private_key, instrument="1111")
    ready_for_redirect(state, session_id)
    response = tab.get(f"/checkout/processing?amazonCheckoutSessionId={session_id}")
    assert response.status_code == 302 and response.location == f"{RESULT_URL}?amazonCheckoutSessionId={session_id}"


def test_processing_errors(tab, private_key, state):
    unknown = tab.get("/checkout/processing?amazonCheckoutSessionId=nope", headers=HTML)
    assert unknown.status_code == 404 and "Amazon Pay could not continue" in unknown.text
    session_id = reviewed(tab, private_key, instrument="1111")
    too_early = tab.get(f"/checkout/processing?amazonCheckoutSessionId={session_id}", headers=HTML)
    assert too_early.status_code == 400 and "ChargeAmountNotSet" in too_early.text
    assert not state.sessions[session_id].confirmed
    ready_for_redirect(state, session_id)
    tab.get(f"/checkout/processing?amazonCheckoutSessionId={session_id}", headers=HTML)
    with state.lock:
        state.complete_checkout_session("Sandbox", session_id, {"chargeAmount": USD_25}, None)
    completed = tab.get(f"/checkout/processing?amazonCheckoutSessionId={session_id}", headers=HTML)
    assert completed.status_code == 422 and "InvalidCheckoutSessionStatus" in completed.text
    assert state.counts["charges"] == 1


# -- sign-out, Sign in with Amazon, page hygiene ---------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_signout_clears_the_cookie_with_cors(tab, private_key, method):
    signed_in_checkout(tab, private_key)
    assert tab.get_cookie(COOKIE) is not None
    response = tab.open("/checkout/signout", method=method, headers={"Origin": "http://127.0.0.1:5000"})
    assert response.status_code == 200 and response.get_json() == {"result": True}
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5000"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert tab.get_cookie(COOKIE) is None
    session_id = click_button(tab, private_key)
    assert "<h1>Sign in</h1>" in tab.get(f"/checkout/signin?amazonCheckoutSessionId={session_id}").text


def test_signout_preflight(tab):
    response = tab.options("/checkout/signout", headers={"Origin": "http://shop.test"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://shop.test"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


def test_sign_in_with_amazon(tab, private_key, state):
    payload = json.dumps({"signInReturnUrl": "http://shop.test/account/amazon", "storeId": STORE_ID})
    form = button_form(private_key, payload=payload, productType="SignIn")
    response = tab.post("/checkout/initiate", data=form)
    assert response.status_code == 303 and "signInId=" in response.location
    sign_in_id = parse_qs(urlsplit(response.location).query)["signInId"][0]
    assert 'data-testid="sign-in"' in tab.get(response.location).text
    back = tab.post("/checkout/signin", data={"signInId": sign_in_id, "email": "jane.doe@example.com"})
    assert back.status_code == 303 and back.location.startswith("http://shop.test/account/amazon?buyerToken=")
    token = parse_qs(urlsplit(back.location).query)["buyerToken"][0]
    assert state.get_buyer(token)["email"] == "jane.doe@example.com"
    assert state.sessions == {}


def test_pages_carry_no_script(tab, private_key, state):
    session_id = click_button(tab, private_key)
    pages = [tab.get(f"/checkout/signin?amazonCheckoutSessionId={session_id}")]
    sign_in(tab, session_id)
    pages += [tab.get(f"/checkout/{p}?amazonCheckoutSessionId={session_id}") for p in ("continue", "choose")]
    choose(tab, session_id, address="us-home", instrument="1111")
    ready_for_redirect(state, session_id)
    pages.append(tab.get(f"/checkout/processing?amazonCheckoutSessionId={session_id}", headers=HTML))
    pages.append(tab.get("/checkout/processing?amazonCheckoutSessionId=nope", headers=HTML))
    for response in pages:
        assert response.mimetype == "text/html"
        assert "<script" not in response.text and not re.search(r"<[^>]*\son[a-z]+=", response.text)
        assert "script-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
    css = tab.get("/static/simulator.css")
    css.close()
    assert css.status_code == 200 and css.mimetype == "text/css"
