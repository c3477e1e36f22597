"""Amazon Pay's hosted pages (the simulator's) on a phone: 390 × 844 CSS pixels, an iPhone's.

Each page fits the width (no sideways scrolling), every control a finger can reach is at least
24 × 24 pixels (WCAG 2.2's minimum target size, here without its spacing exception), and
axe-core finds no violation: the WCAG 2.0 and 2.1 A/AA rules and best practices, plus WCAG 2.2's
target-size rule. One test per page and region, so a failure names it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.accessibility import Violation, audit, audit_context, describe
from e2e.journey import CHOOSER, Journey

PHONE = {"width": 390, "height": 844}
EXTRA_TAGS = ("wcag22aa",)  # axe's target-size rule (WCAG 2.2, 2.5.8)
CHECKOUT_PAGES = ("sign-in", "continue", "choose", "change-address", "processing")
PAGES = [(region, name) for region in ("us", "eu", "jp") for name in CHECKOUT_PAGES] + [
    ("us", "update"),
    ("us", "error"),
]
#: Violations kept on purpose, with the reason: (page name) -> {rule id: why}.
ACCEPTED = {
    "processing": {
        "meta-refresh": "Amazon's processing page moves on to the shop by itself once the payment is "
        "processed; the simulator's does so after 1 s with a meta refresh (the e2e journeys and "
        "merchants' own tests rely on seeing it), and offers 'Return to the shop now' at once",
    },
}
_WIDTH = "() => document.scrollingElement.scrollWidth"
MIN_TARGET = 24  # CSS pixels: WCAG 2.2's minimum target size (2.5.8), for every control, inline links too
# Every control a finger can reach that is smaller than MIN_TARGET either way: "<tag> 'text' W×H".
_SMALL_TARGETS = """
(minimum) => [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")]
  .filter((element) => !element.disabled && element.getClientRects().length > 0)
  .map((element) => [element, element.getBoundingClientRect()])
  .filter(([, box]) => box.width < minimum || box.height < minimum)
  .map(([element, box]) => `<${element.localName}> '${(element.innerText || element.value || element.id).trim()}' `
    + `${Math.round(box.width)}×${Math.round(box.height)}`)
"""


class Findings:
    """What each hosted page showed at 390 px: its scroll width and axe's violations."""

    def __init__(self, browser: Browser, servers):
        self.browser, self.servers = browser, servers
        self.found: dict[tuple[str, str], tuple[int, list[str], list[Violation]]] = {}
        self.walked: set[tuple[str, str]] = set()
        self.failed: dict[tuple[str, str], BaseException] = {}

    def of(self, region: str, name: str) -> tuple[int, list[str], list[Violation]]:
        """The page's scroll width, its controls smaller than MIN_TARGET, axe's violations."""
        walk = self.wallet if name == "update" else self.errors if name == "error" else self.checkout
        key = (walk.__name__, region)
        if key in self.failed:
            raise RuntimeError(f"the walk {key} failed earlier") from self.failed[key]
        if key not in self.walked:
            try:
                walk(region)
            except BaseException as error:
                self.failed[key] = error
                raise
            self.walked.add(key)
        return self.found[(region, name)]

    def record(self, region: str, name: str, page: Page) -> None:
        page.wait_for_load_state("load")  # the URL changes before the stylesheet is in: measure the styled page
        small = page.evaluate(_SMALL_TARGETS, MIN_TARGET)
        self.found[(region, name)] = (page.evaluate(_WIDTH), small, audit(page, EXTRA_TAGS))

    def buyer(self, region: str) -> tuple[Journey, Page]:
        page = audit_context(self.browser, viewport=PHONE).new_page()
        return Journey(page, self.servers, region), page

    def checkout(self, region: str) -> None:
        """Sign-in, "Continue as", the chooser, a change of address from the review page, processing."""
        buyer, page = self.buyer(region)
        buyer.add_to_cart()
        buyer.click_amazon_pay()
        expect(page).to_have_url(re.compile(r"/checkout/signin\?"))
        self.record(region, "sign-in", page)
        buyer.sign_in()
        expect(page).to_have_url(re.compile(r"/checkout/continue\?"))
        self.record(region, "continue", page)
        page.get_by_test_id("change").click()
        expect(page).to_have_url(CHOOSER)
        self.record(region, "choose", page)
        page.get_by_test_id("continue").click()
        buyer.expect_review()
        page.locator("#changeAddress").click()
        expect(page).to_have_url(CHOOSER)
        self.record(region, "change-address", page)
        page.get_by_test_id("continue").click()
        buyer.expect_review()
        # The processing page moves on to the shop after a second; here the shop answers that step
        # with "204 No Content", which leaves the browser on the page (the walk ends there).
        page.route(re.compile(r"/checkout/result\?"), lambda route: route.fulfill(status=204))
        page.get_by_test_id("place-order").click()
        expect(page.get_by_role("heading", name="Processing your payment…")).to_be_visible()
        self.record(region, "processing", page)
        page.context.close()

    def wallet(self, region: str) -> None:
        """The update page of a saved wallet (Sign in with Amazon, a checkout that saves it)."""
        buyer, page = self.buyer(region)
        buyer.sign_in_with_amazon()
        buyer.save_wallet()
        buyer.open_account()
        buyer.start_wallet_update()
        self.record(region, "update", page)
        page.context.close()

    def errors(self, region: str) -> None:
        """Amazon's error page: a checkout it does not know."""
        buyer, page = self.buyer(region)
        page.goto(
            f"{buyer.simulator_url}/checkout/continue?amazonCheckoutSessionId=00000000-0000-0000-0000-000000000000"
        )
        expect(page.get_by_role("heading", name="Amazon Pay could not continue")).to_be_visible()
        self.record(region, "error", page)
        page.context.close()


@pytest.fixture(scope="module")
def findings(browser: Browser, servers) -> Findings:
    return Findings(browser, servers)


@pytest.mark.parametrize(("region", "name"), PAGES, ids=[f"{region}-{name}" for region, name in PAGES])
def test_hosted_page_fits_a_phone(findings: Findings, region: str, name: str):
    width, small_targets, violations = findings.of(region, name)
    assert width <= PHONE["width"], f"the page scrolls sideways: {width} px wide in a {PHONE['width']} px window"
    assert small_targets == [], f"tap targets under {MIN_TARGET} px: {small_targets}"
    accepted = ACCEPTED.get(name, {})
    assert [v for v in violations if v.id not in accepted] == [], describe(violations)
