"""Robustness: every shop route and form fuzzed with hostile input (hypothesis, derandomized).

Each answer must be below 500, never show a traceback, be a clear HTML page with a heading
when it refuses (4xx), and change no data: the shop's SQLite tables, the buyer's cart page
and the simulator's object counts are compared before and after each case. One shopper must
never see or complete another shopper's checkout or order, and tampered amounts in a form
never change what Amazon charges: the server's cart does.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sqlite3
import uuid
from decimal import Decimal
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from shop import catalog
from tests.support import text

pytestmark = pytest.mark.slow

FUZZ = settings(
    derandomize=True,
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no database, no slow "explain" phase
)
FEW = settings(FUZZ, max_examples=20)

TABLES = ("orders", "order_events", "checkout_claims", "buyers")
STATS = {"cases": 0, "5xx": 0}
FAILURES: list[str] = []

GET_ROUTES = [
    "/",
    "/cart",
    "/orders/ORD-00000000",
    "/checkout/review",
    "/checkout/result",
    "/checkout/cancel",
    "/account",
    "/account/signed-in",
    "/account/wallet/updated",
    "/account/wallet/update-canceled",
    "/admin/",
    "/admin/login",
    "/admin/status",
    "/admin/orders/ORD-00000000",
]
POST_ROUTES = [
    "/admin/login",
    "/admin/logout",
    "/cart/items",
    "/products/canvas-tote/express-checkout",
    "/cart/save-wallet",
    "/checkout/place-order",
    "/account/sign-out",
    "/account/wallet/pay",
    "/account/wallet/remove",
]
FORM_FIELDS = ["product_id", "quantity", "add", "amazonCheckoutSessionId", "reviewed", "payment_request", "save_wallet"]
TAMPER_FIELDS = ["amount", "price", "total", "subtotal", "chargeAmount", "unitPrice", "currency", "currencyCode", "tax"]

# Text a shopper (or an attacker) can send: no lone surrogates, which no client can encode.
some_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
non_utf8_bytes = st.binary(min_size=1, max_size=20).filter(lambda b: not _is_utf8(b))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary():
    yield
    print(f"\nfuzz cases tried: {STATS['cases']}, 5xx answers seen: {STATS['5xx']}")
    for failure in FAILURES:
        print("  5xx:", failure)


# -- observing the shop -------------------------------------------------------------------------------


def send(web, method: str, path: str, **kwargs):
    """One request; a crash (TESTING propagates exceptions) counts as a 500."""
    STATS["cases"] += 1
    try:
        response = web.open(path, method=method, **kwargs)
    except Exception as error:  # noqa: BLE001 - any crash is the finding
        STATS["5xx"] += 1
        FAILURES.append(f"{method} {path} {kwargs!r:.200}: {type(error).__name__}: {error}")
        raise AssertionError(f"{method} {path} crashed: {type(error).__name__}: {error}") from error
    if response.status_code >= 500:
        STATS["5xx"] += 1
        FAILURES.append(f"{method} {path} {kwargs!r:.200}: {response.status_code}")
    if method not in ("GET", "HEAD") and response.status_code == 303 and response.headers["Location"] == "/problem":
        return web.get("/problem")  # a form's problem is shown by a GET page: what the browser shows
    return response


def assert_clear(response, context: str = "") -> None:
    body = text(response)
    assert response.status_code < 500, f"{context}: {response.status_code}\n{body[:500]}"
    assert "Traceback" not in body, context
    if 400 <= response.status_code < 500 and response.request.mimetype == "application/json":
        assert response.json["error"], context  # a fetch with a JSON body is answered in JSON
    elif 400 <= response.status_code < 500 and response.request.method != "HEAD":
        assert response.mimetype == "text/html", context
        assert re.search(r"<h1[^>]*>\s*\S", body), f"{context}: no heading in the {response.status_code} page"


def db_rows(app) -> dict[str, list[tuple]]:
    with contextlib.closing(sqlite3.connect(app.config["DATABASE"])) as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in TABLES}


def cart_page(shopper) -> str:
    page = text(shopper.web.get("/cart"))
    page = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)
    page = re.sub(r'<p class="flash[^>]*>.*?</p>', "", page, flags=re.S)
    return re.sub(r"\s+", " ", page)


def cart_lines(shopper) -> dict[str, int]:
    page = text(shopper.web.get("/cart"))
    return {
        product: int(quantity)
        for product, quantity in re.findall(r'data-testid="line-([^"]+)">.*?name="quantity" value="(\d+)"', page, re.S)
    }


class Snapshot:
    """The shop's tables, the buyer's cart page and the simulator's counts at one moment."""

    def __init__(self, app, sim, shopper):
        self.app, self.sim, self.shopper = app, sim, shopper
        self.state = self.take()

    def take(self):
        return db_rows(self.app), cart_page(self.shopper), self.sim.counts()

    def assert_unchanged(self, context: str) -> None:
        now = self.take()
        for name, before, after in zip(("tables", "cart page", "simulator counts"), self.state, now, strict=True):
            assert before == after, f"{context}: {name} changed"


def amazon_calls(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("amazon_pay operation=")]


@pytest.fixture
def shopper(shop_app, sim, make_shop_buyer):
    """A shopper with a canvas tote in the cart and a real, open checkout it has reviewed."""
    buyer = make_shop_buyer()
    buyer.add("canvas-tote", 1)
    buyer.review = buyer.click_amazon_pay()
    buyer.session_id = buyer.review.split("amazonCheckoutSessionId=")[1]
    assert buyer.web.get(buyer.review).status_code == 200
    return buyer


# -- strategies --------------------------------------------------------------------------------------------

bad_session_ids = st.one_of(
    some_text,
    st.sampled_from(
        [
            "",
            "not-a-uuid",
            "../../etc/passwd",
            "1' OR '1'='1",
            "<script>alert(1)</script>",
            "%00",
            "a" * 5000,
            "{12345678-1234-1234-1234-123456789abc}",
            "12345678123412341234123456789abc",
            "12345678-1234-1234-1234-123456789abcd",
            "g2345678-1234-1234-1234-123456789abc",
            " 12345678-1234-1234-1234-123456789abc",
        ]
    ),
    st.uuids().map(lambda u: str(u).replace("-", "")),
).filter(lambda s: not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\n?", s))

quantities = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "1.0", "1e3", "0x10", "-0", "+1", "1_0", "٣", "３", "Ⅻ", "²", "9" * 5000, "NaN", "½"]),
    some_text,
)
product_ids = st.one_of(st.sampled_from(sorted(catalog.PRODUCTS)), some_text)


# -- every route: foreign methods, junk queries and forms, non-UTF-8 ------------------------------------


@FUZZ
@given(
    path=st.sampled_from(GET_ROUTES + POST_ROUTES),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND", "TRACE"]),
    query=st.dictionaries(st.sampled_from(["amazonCheckoutSessionId", "buyerToken", "x", "amount"]), some_text),
    form=st.dictionaries(st.sampled_from(FORM_FIELDS + TAMPER_FIELDS), some_text, max_size=5),
)
def test_any_route_any_method_junk_input(shopper, shop_app, sim, path, method, query, form):
    snapshot = Snapshot(shop_app, sim, shopper)
    if path.startswith("/account/signed-in") and "buyerToken" in query:
        query["buyerToken"] = query["buyerToken"] + " !"  # never a well-formed token Amazon could know
    answer = send(shopper.web, method, path, query_string=query, data=form if method != "GET" else None)
    assert_clear(answer, f"{method} {path}")
    if method not in ("GET", "HEAD", "OPTIONS"):
        assert answer.status_code in (400, 405), f"{method} {path} without a CSRF token: {answer.status_code}"
    snapshot.assert_unchanged(f"{method} {path} {query} {form}")


@FUZZ
@given(path=st.sampled_from(POST_ROUTES), form=st.dictionaries(st.sampled_from(FORM_FIELDS), some_text, max_size=4))
def test_forms_with_missing_or_forged_csrf_token_are_refused(shopper, shop_app, sim, make_shop_buyer, path, form):
    other = make_shop_buyer()
    real = shopper.csrf()
    forged = [None, "", "x", real[:-4] + "AAAA", real.split(".")[0], other.csrf(), real + "."]
    for token in forged:
        snapshot = Snapshot(shop_app, sim, shopper)
        data = dict(form) if token is None else {**form, "csrf_token": token}
        answer = send(shopper.web, "POST", path, data=data)
        assert_clear(answer, f"POST {path} csrf={token!r}")
        assert answer.status_code == 400 and "This page has expired" in text(answer), f"{path} csrf={token!r}"
        snapshot.assert_unchanged(f"POST {path} csrf={token!r}")


@FEW
@given(raw=non_utf8_bytes, field=st.sampled_from(FORM_FIELDS))
def test_non_utf8_bytes_in_form_bodies_and_percent_encoded_queries(shopper, shop_app, sim, raw, field):
    for path in POST_ROUTES:
        snapshot = Snapshot(shop_app, sim, shopper)
        body = f"csrf_token={quote(shopper.csrf())}&".encode() + field.encode() + b"=" + raw + b"&x=\xff\xfe"
        answer = send(shopper.web, "POST", path, data=body, content_type="application/x-www-form-urlencoded")
        assert_clear(answer, f"POST {path} {body!r}")
        if path != "/account/sign-out":  # signing out (nobody is signed in) is no data change
            assert answer.status_code >= 400, f"{path}: {answer.status_code}"
        snapshot.assert_unchanged(f"POST {path} {body!r}")
    for path in GET_ROUTES:
        snapshot = Snapshot(shop_app, sim, shopper)
        query = "&".join(f"{name}={quote_from_bytes(raw)}" for name in ("amazonCheckoutSessionId", "buyerToken"))
        answer = send(shopper.web, "GET", f"{path}?{query}")
        assert_clear(answer, f"GET {path}?{query}")
        snapshot.assert_unchanged(f"GET {path}?{query}")


@pytest.mark.parametrize("path", ["/checkout/review", "/checkout/result", "/account/signed-in", "/cart"])
@pytest.mark.parametrize("raw", ["\xff\xfe", "\xc3("])
def test_raw_non_utf8_bytes_in_the_query_string(request, shopper, shop_app, sim, path, raw):
    """PEP 3333 servers (gunicorn, uWSGI) hand raw request-line bytes to the app as latin-1."""
    snapshot = Snapshot(shop_app, sim, shopper)
    answer = send(shopper.web, "GET", path, environ_overrides={"QUERY_STRING": f"amazonCheckoutSessionId={raw}"})
    assert_clear(answer, f"GET {path} raw {raw!r}")
    snapshot.assert_unchanged(path)


def test_oversized_bodies_get_a_413_page(shopper, shop_app, sim):
    big = "x" * (64 * 1024 + 1)
    for path in POST_ROUTES:
        for kwargs in (
            {"data": {"csrf_token": shopper.csrf(), "quantity": big}},
            {"data": {"csrf_token": shopper.csrf(), "product_id": "canvas-tote", "quantity": "1", "pad": big}},
            {"data": {"csrf_token": shopper.csrf(), "file": (io.BytesIO(big.encode()), "big.bin")}},
            {"data": big.encode(), "content_type": "application/x-www-form-urlencoded"},
            {"data": big.encode(), "content_type": "application/json"},
        ):
            snapshot = Snapshot(shop_app, sim, shopper)
            answer = send(shopper.web, "POST", path, **kwargs)
            assert_clear(answer, f"POST {path} oversized")
            assert answer.status_code == 413, f"{path}: {answer.status_code}"
            assert "Request Entity Too Large" in text(answer) or "too large" in text(answer).lower()
            snapshot.assert_unchanged(f"POST {path} oversized")


# -- the cart: quantities and product ids ------------------------------------------------------------------


@settings(FUZZ, max_examples=150)
@given(product_id=product_ids, quantity=quantities, add=st.sampled_from(["1", "0", "", "yes"]), extra=st.booleans())
def test_cart_changes_only_as_the_form_says(shop_app, sim, make_shop_buyer, product_id, quantity, add, extra):
    buyer = make_shop_buyer()
    buyer.add("canvas-tote", 2)
    before, tables = cart_lines(buyer), db_rows(shop_app)
    form = {"csrf_token": buyer.csrf(), "product_id": product_id, "quantity": quantity, "add": add}
    if extra:
        form.update(price="0.01", amount="0.01", total="0.01", unitPrice="-5")
    answer = send(buyer.web, "POST", "/cart/items", data=form)
    assert_clear(answer, f"cart {form}")
    after = cart_lines(buyer)
    try:
        parsed = int(quantity)
    except ValueError:
        parsed = None
    had = before.get(product_id, 0)
    if add == "1":  # adding takes 1 or more, up to 20 in all
        new = None if parsed is None or not 1 <= parsed <= 20 - had else had + parsed
    else:
        new = parsed if parsed is not None and 0 <= parsed <= 20 else None
    assert answer.status_code == 303, form  # refused or not: back to a page (the message is there)
    if catalog.get(product_id) is None or new is None:
        assert after == before, form
    else:
        expected = {k: v for k, v in {**before, product_id: new}.items() if v}
        assert after == expected, form
    assert db_rows(shop_app) == tables
    subtotal = sum(catalog.get(p).price("USD") * q for p, q in after.items())
    page = text(buyer.web.get("/cart"))
    assert f'data-testid="subtotal">${subtotal:,.2f}<' in page if after else "Your cart is empty" in page


@FEW
@given(reference=st.one_of(some_text.filter(lambda s: s.strip(".")), st.just("ORD-" + "A" * 8)))
def test_unknown_order_pages_are_not_found(shopper, shop_app, sim, reference):
    snapshot = Snapshot(shop_app, sim, shopper)
    answer = send(shopper.web, "GET", "/orders/" + quote(reference, safe=""))
    assert_clear(answer, f"/orders/{reference!r}")
    assert answer.status_code == 404
    snapshot.assert_unchanged(reference)


# -- checkout session ids ------------------------------------------------------------------------------------


@FUZZ
@given(session_id=bad_session_ids)
def test_malformed_checkout_session_ids(shopper, shop_app, sim, caplog, session_id):
    caplog.set_level(logging.INFO)
    caplog.clear()
    for method, path in (("GET", "/checkout/review"), ("GET", "/checkout/result"), ("POST", "/checkout/place-order")):
        snapshot = Snapshot(shop_app, sim, shopper)
        if method == "GET":
            answer = send(shopper.web, "GET", path, query_string={"amazonCheckoutSessionId": session_id})
        else:
            form = {"csrf_token": shopper.csrf(), "amazonCheckoutSessionId": session_id, "reviewed": "x"}
            answer = send(shopper.web, "POST", path, data=form)
        assert_clear(answer, f"{path} {session_id!r}")
        assert answer.status_code == 400, f"{path} {session_id!r}: {answer.status_code}"
        snapshot.assert_unchanged(f"{path} {session_id!r}")
    assert amazon_calls(caplog) == [], f"{session_id!r} reached Amazon"
    wallet = send(shopper.web, "GET", "/account/wallet/updated", query_string={"amazonCheckoutSessionId": session_id})
    assert_clear(wallet)
    assert wallet.status_code == 403  # nobody is signed in


@pytest.mark.parametrize("which", ["own", "unknown"])
def test_a_checkout_id_with_a_trailing_newline_never_reaches_amazon(shopper, shop_app, sim, caplog, which):
    caplog.set_level(logging.INFO)
    session_id = (shopper.session_id if which == "own" else str(uuid.uuid4())) + "\n"
    snapshot = Snapshot(shop_app, sim, shopper)
    caplog.clear()
    review = send(shopper.web, "GET", "/checkout/review", query_string={"amazonCheckoutSessionId": session_id})
    placed = send(
        shopper.web,
        "POST",
        "/checkout/place-order",
        data={"csrf_token": shopper.csrf(), "amazonCheckoutSessionId": session_id},
    )
    assert_clear(review)
    assert_clear(placed)
    assert review.status_code == placed.status_code == 400
    assert amazon_calls(caplog) == []
    snapshot.assert_unchanged(repr(session_id))


@FEW
@given(session_id=st.uuids().map(str), upper=st.booleans(), route=st.sampled_from(["review", "place-order"]))
def test_well_formed_ids_amazon_does_not_know_change_nothing(shopper, shop_app, sim, session_id, upper, route):
    session_id = session_id.upper() if upper else session_id
    snapshot = Snapshot(shop_app, sim, shopper)
    if route == "review":
        answer = send(shopper.web, "GET", "/checkout/review", query_string={"amazonCheckoutSessionId": session_id})
    else:
        form = {"csrf_token": shopper.csrf(), "amazonCheckoutSessionId": session_id, "amount": "0.01"}
        answer = send(shopper.web, "POST", "/checkout/place-order", data=form)
    assert_clear(answer, session_id)
    # review: Amazon does not know it; place-order: it was never reviewed in this shop
    assert (answer.status_code, route) in ((404, "review"), (409, "place-order"))
    snapshot.assert_unchanged(f"{route} {session_id}")


def test_well_formed_unknown_ids_give_a_clear_page_and_no_order(shopper, shop_app, sim):
    """A clear page (404, or 409 "review first" for Place Order), no order, nothing at Amazon."""
    for session_id in (str(uuid.uuid4()), str(uuid.uuid4()).upper(), "00000000-0000-0000-0000-000000000000"):
        tables, counts = db_rows(shop_app), sim.counts()
        review = send(shopper.web, "GET", "/checkout/review", query_string={"amazonCheckoutSessionId": session_id})
        placed = send(
            shopper.web,
            "POST",
            "/checkout/place-order",
            data={"csrf_token": shopper.csrf(), "amazonCheckoutSessionId": session_id, "total": "0.01"},
        )
        result = send(shopper.web, "GET", "/checkout/result", query_string={"amazonCheckoutSessionId": session_id})
        for answer in (review, placed, result):
            assert_clear(answer, session_id)
        assert (review.status_code, placed.status_code, result.status_code) == (404, 409, 404)
        after = db_rows(shop_app)
        assert (after["orders"], after["order_events"], after["buyers"]) == (
            tables["orders"],
            tables["order_events"],
            tables["buyers"],
        )
        assert sim.counts() == counts


def test_another_browser_cannot_see_or_complete_a_checkout_or_order(shopper, shop_app, sim, make_shop_buyer):
    stranger = make_shop_buyer()
    stranger.add("trail-mug", 1)
    snapshot = Snapshot(shop_app, sim, shopper)
    own = shopper.session_id

    def stranger_tries(expect_order: str | None = None):
        for upper in (False, True):
            session_id = own.upper() if upper else own
            review = send(stranger.web, "GET", f"/checkout/review?amazonCheckoutSessionId={session_id}")
            assert_clear(review)
            assert review.status_code == 403 and "This checkout is not yours" in text(review)
            placed = send(
                stranger.web,
                "POST",
                "/checkout/place-order",
                data={"csrf_token": stranger.csrf(), "amazonCheckoutSessionId": session_id, "reviewed": "x"},
            )
            assert_clear(placed)
            assert placed.status_code == 403, placed.status_code
            result = send(stranger.web, "GET", f"/checkout/result?amazonCheckoutSessionId={session_id}")
            assert_clear(result)
            assert result.status_code == 404
        if expect_order:
            page = send(stranger.web, "GET", f"/orders/{expect_order}")
            assert_clear(page)
            assert page.status_code == 404 and expect_order not in text(page)

    stranger_tries()  # before Place Order
    snapshot.assert_unchanged("stranger before Place Order")
    placed = shopper.place_order(shopper.review)
    assert placed.status_code == 303
    stranger_tries()  # awaiting payment at Amazon
    result_path = shopper.pay_at_amazon(placed.headers["Location"])
    stranger_tries()  # paid at Amazon, not yet completed by the shop: the stranger must not complete it
    assert sim.counts()["counts"].get("charges", 0) == 0
    page = text(shopper.web.get(result_path))
    reference = re.search(r"(ORD-[0-9A-F]{8})", page)[1]
    assert "Thank you for your order" in page
    stranger_tries(reference)  # settled
    assert "Cart (1)" in text(stranger.web.get("/cart"))  # the stranger's own cart untouched
    assert sim.counts()["chargesPerMerchantReference"] == {reference: 1}


# -- tampered amounts ---------------------------------------------------------------------------------------

amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000).map(str),
    st.sampled_from(["0", "0.01", "-1", "1e9", "NaN", "", "9" * 40, "{'amount': '0.01'}"]),
)


@settings(FUZZ, max_examples=25)
@given(
    lines=st.dictionaries(st.sampled_from(sorted(catalog.PRODUCTS)), st.integers(1, 4), min_size=1, max_size=3),
    tamper=st.dictionaries(st.sampled_from(TAMPER_FIELDS), amounts, min_size=1, max_size=4),
)
def test_tampered_amounts_are_ignored_the_charge_is_the_server_cart(shop_app, sim, make_shop_buyer, lines, tamper):
    buyer = make_shop_buyer()
    for product_id, quantity in lines.items():
        answer = buyer.web.post(
            "/cart/items",
            data={"csrf_token": buyer.csrf(), "product_id": product_id, "quantity": quantity, "add": "1", **tamper},
        )
        assert answer.status_code == 303
    review = buyer.click_amazon_pay()
    page = text(buyer.web.get(review))
    shown_total = Decimal(re.search(r'data-testid="total">\$([\d,]+\.\d\d)<', page)[1].replace(",", ""))
    reviewed = re.search(r'name="reviewed" value="([^"]*)"', page)[1]
    session_id = review.split("amazonCheckoutSessionId=")[1]
    placed = send(
        buyer.web,
        "POST",
        "/checkout/place-order",
        data={"csrf_token": buyer.csrf(), "amazonCheckoutSessionId": session_id, "reviewed": reviewed, **tamper},
    )
    assert placed.status_code == 303, text(placed)
    result = text(buyer.web.get(buyer.pay_at_amazon(placed.headers["Location"])))
    reference = re.search(r"(ORD-[0-9A-F]{8})", result)[1]
    subtotal = sum(catalog.get(p).price("USD") * q for p, q in lines.items())
    order = next(row for row in db_rows(shop_app)["orders"] if row[1] == reference)
    assert Decimal(order[7]) == subtotal and Decimal(order[10]) == shown_total
    charges = [
        c
        for c in sim.app.extensions["amazon_pay_simulator"].charges.values()
        if c.merchant_metadata.get("merchantReferenceId") == reference
    ]
    assert [(c.amount, c.currency) for c in charges] == [(shown_total, "USD")]


def test_tampered_amounts_on_the_saved_wallet_are_ignored(shop_app, sim, make_wallet_buyer):
    buyer = make_wallet_buyer()
    buyer.sign_in()
    buyer.save_wallet_at_checkout()
    store = sim.app.extensions["amazon_pay_simulator"]
    for tamper in ({"amount": "0.01"}, {"total": "-5", "price": "0"}, {"chargeAmount": "1e9", "currency": "JPY"}):
        buyer.add("trail-mug")
        page = buyer.account()
        shown = Decimal(re.search(r"Pay \$([\d,]+\.\d\d) with", page)[1])
        payment_request = re.search(r'name="payment_request" value="([0-9a-f]{32})"', page)[1]
        answer = send(
            buyer.web,
            "POST",
            "/account/wallet/pay",
            data={"csrf_token": buyer.csrf(), "payment_request": payment_request, **tamper},
        )
        reference = re.search(r"(ORD-[0-9A-F]{8})", text(answer))[1]
        charges = [c for c in store.charges.values() if c.merchant_metadata.get("merchantReferenceId") == reference]
        assert [(c.amount, c.currency) for c in charges] == [(shown, "USD")], tamper


@FEW
@given(payment_request=some_text.filter(lambda s: not re.fullmatch(r"[0-9a-f]{32}\n?", s)))
def test_saved_wallet_forms_with_junk_change_nothing(shop_app, sim, make_wallet_buyer, payment_request):
    buyer = make_wallet_buyer()
    buyer.web.set_cookie("session", "junk." + re.sub(r"[^A-Za-z0-9]", "", payment_request)[:20])
    buyer.add("trail-mug")
    snapshot = Snapshot(shop_app, sim, buyer)
    for path in ("/account/wallet/pay", "/account/wallet/remove", "/cart/save-wallet"):
        form = {"csrf_token": buyer.csrf(), "payment_request": payment_request, "save_wallet": payment_request}
        answer = send(buyer.web, "POST", path, data=form)
        assert_clear(answer, path)
        assert answer.status_code == 403, f"{path} not signed in: {answer.status_code}"
    for query in ({"amazonCheckoutSessionId": payment_request}, {"buyerToken": payment_request + "!"}):
        for path in ("/account/wallet/updated", "/account/signed-in"):
            answer = send(buyer.web, "GET", path, query_string=query)
            assert_clear(answer, path)
    snapshot.assert_unchanged(payment_request)
