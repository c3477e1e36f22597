"""Plain values and one pure helper shared by the tests; everything else comes from fixtures.

Test modules use these at import time (in module-level request bodies and parametrize lists),
where no fixture can reach. Fixtures live in the conftest.py files: tests/conftest.py for the
whole suite, tests/<subject>/conftest.py for one subject.
"""

from __future__ import annotations

PUBLIC_KEY_ID = "SANDBOX-TESTKEY0000000000000000A"
PLAIN_KEY_ID = "TESTKEY0000000000000000B"  # an unprefixed key: the client adds /sandbox/v2
STORE_ID = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef"
# A US shipping address for ProcessOrder payloads (addressDetails; Amazon requires it for PayAndShip).
ADDRESS_DETAILS = {
    "name": "Jane Doe",
    "addressLine1": "410 Terry Ave N",
    "city": "Seattle",
    "stateOrRegion": "WA",
    "postalCode": "98109",
    "countryCode": "US",
    "phoneNumber": "800-000-0000",
}


def text(response) -> str:
    """The body of a Flask test client's response, as text."""
    return response.get_data(as_text=True)


def shown_after_post(browser, response):
    """The page a browser shows after sending a form: a form's answer is always a 303 to a GET
    page (Post/Redirect/Get), never a page of its own; that page is fetched and returned."""
    assert response.status_code == 303, (response.status_code, text(response)[:300])
    return browser.get(response.headers["Location"])
