"""A buyer's way through the shop and Amazon Pay's (simulated) pages, one step per method.

``Journey(page, servers, region).to_review(...)`` adds a product on the region's shop, opens
the cart, clicks the Amazon Pay button, signs in as the region's test buyer, picks an address
and a payment instrument (or takes "Continue as …") and lands on the shop's review page;
``place_order()`` then goes through Amazon's processing page to the shop's result page. The
steps are public so a scenario can stop or branch anywhere (cancel, change, tamper).

The buyer's account (``/account``): ``sign_in_with_amazon()``, ``save_wallet()`` (a checkout
that keeps the wallet), ``update_wallet()`` (Amazon's hosted update page), ``pay_with_wallet()``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect


@dataclass(frozen=True)
class Buyer:
    email: str
    name: str


#: The simulator's test buyer for each shop region (UK sells in GBP through the EU script and buyer).
BUYERS = {
    "us": Buyer("jane.doe@example.com", "Jane Doe"),
    "eu": Buyer("erika@example.de", "Erika Mustermann"),
    "uk": Buyer("erika@example.de", "Erika Mustermann"),
    "jp": Buyer("taro@example.jp", "山田 太郎"),
}
#: The address each region's shop can ship to, from the simulator's address book.
HOME_ADDRESS = {"us": "us-home", "eu": "de-home", "uk": "uk-home", "jp": "jp-home"}
AMAZON_PAY_BUTTON = re.compile("Amazon Pay")
HOSTED_CHOICE = re.compile(r"/checkout/(continue|choose)\?")
CHOOSER = re.compile(r"/checkout/(choose|initiate_auth)\?")
UPDATE_PAGE_TITLE = "Update your Amazon Pay payment method and address"
OUTCOMES = ("outcome-success", "outcome-pending", "outcome-failure")


def simulator_counts(simulator_url: str) -> dict:
    """The simulator's ``/control/counts``: how many objects it made, charges per order reference."""
    with urllib.request.urlopen(f"{simulator_url}/control/counts", timeout=5) as response:
        return json.load(response)


def charges_for(simulator_url: str, reference: str) -> int:
    return simulator_counts(simulator_url)["chargesPerMerchantReference"].get(reference, 0)


def set_charge_permission_status(simulator_url: str, charge_permission_id: str, body: dict) -> tuple[int, dict]:
    """The simulator's ``/control/charge-permissions/<id>/status``: what Amazon does to a saved
    wallet by itself (a card expires, the buyer closes it); returns (HTTP status, JSON body)."""
    request = urllib.request.Request(
        f"{simulator_url}/control/charge-permissions/{charge_permission_id}/status",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


class Journey:
    def __init__(self, page: Page, servers, region: str = "us"):
        self.page, self.region = page, region
        self.shop_url = servers.shops[region]
        self.simulator_url = servers.simulator_url
        self.buyer = BUYERS[region]

    # -- the shop ---------------------------------------------------------------------------

    def add_to_cart(self, product: str = "canvas-tote", quantity: int = 1) -> None:
        page = self.page
        page.goto(self.shop_url)
        card = page.get_by_test_id(f"product-{product}")
        if quantity == 1:  # a catalog card adds one
            card.get_by_role("button", name="Add to cart").click()
        else:  # the product page sets a quantity
            card.get_by_role("link").click()
            page.get_by_label("Quantity").fill(str(quantity))
            page.get_by_role("button", name="Add to cart").click()
        expect(page).to_have_url(f"{self.shop_url}/cart")
        expect(page.get_by_test_id(f"line-{product}")).to_be_visible()

    def amazon_pay_button(self) -> Locator:
        return self.page.get_by_role("button", name=AMAZON_PAY_BUTTON)

    def click_amazon_pay(self) -> None:
        self.amazon_pay_button().click()

    # -- Amazon Pay's hosted pages ----------------------------------------------------------

    def sign_in(self) -> None:
        page = self.page
        expect(page).to_have_url(re.compile(rf"^{re.escape(self.simulator_url)}/checkout/signin\?"))
        expect(page.get_by_test_id("email")).to_have_value(self.buyer.email)
        page.get_by_test_id("email").fill(self.buyer.email)
        page.get_by_test_id("password").fill("any password")
        page.get_by_test_id("sign-in").click()
        page.wait_for_url(HOSTED_CHOICE)

    def choose(self, address: str | None = None, instrument: str | None = None) -> None:
        """On the chooser: tick the given address and instrument (the others keep their default), Continue."""
        page = self.page
        expect(page).to_have_url(CHOOSER)
        if address:
            page.get_by_test_id(f"address-{address}").check()
        if instrument:
            page.get_by_test_id(f"instrument-{instrument}").check()
        page.get_by_test_id("continue").click()

    def pick(self, address: str | None = None, instrument: str | None = None) -> None:
        """After sign-in: "Continue as …" when nothing special is wanted, else the chooser."""
        page = self.page
        if "/checkout/continue" in page.url and (address or instrument):
            page.get_by_test_id("change").click()
            page.wait_for_url(CHOOSER)
        if "/checkout/choose" in page.url:
            self.choose(address, instrument)
        else:
            expect(page.get_by_role("heading", name=f"Continue as {self.buyer.name}")).to_be_visible()
            page.get_by_test_id("continue").click()

    def start_checkout(self, product: str = "canvas-tote", quantity: int = 1) -> None:
        """Cart, Amazon Pay button, sign-in: the buyer is on "Continue as …" or on the chooser."""
        self.add_to_cart(product, quantity)
        self.click_amazon_pay()
        self.sign_in()

    def to_review(
        self,
        product: str = "canvas-tote",
        quantity: int = 1,
        address: str | None = None,
        instrument: str | None = None,
    ) -> str:
        """The whole way to the shop's review page; returns the Checkout Session id."""
        self.start_checkout(product, quantity)
        self.pick(address, instrument)
        return self.expect_review()

    # -- back on the shop ------------------------------------------------------------------

    def expect_review(self) -> str:
        page = self.page
        expect(page).to_have_url(re.compile(rf"^{re.escape(self.shop_url)}/checkout/review\?amazonCheckoutSessionId="))
        expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
        return parse_qs(urlsplit(page.url).query)["amazonCheckoutSessionId"][0]

    def place_order(self, click=None, return_now: bool = False) -> Locator:
        """Place order (``click`` may replace the plain click), through Amazon's processing page
        to the result page; returns the outcome heading. The processing page moves on by itself
        after 1 s; ``return_now`` clicks its "Return to the shop now" link instead (saves the
        second where the scenario is about the outcome, not the way back)."""
        page = self.page
        button = page.get_by_test_id("place-order")
        with page.expect_response(re.compile(r"/checkout/processing\?amazonCheckoutSessionId=")) as processing:
            (click or Locator.click)(button)
        assert processing.value.status == 200, processing.value.status
        assert "Processing your payment" in processing.value.text()
        if return_now:
            page.get_by_test_id("return-to-shop").click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(self.shop_url)}/checkout/result\?amazonCheckoutSessionId="))
        return self.outcome()

    def outcome(self) -> Locator:
        outcome = self.page.locator(",".join(f'[data-testid="{test_id}"]' for test_id in OUTCOMES))
        expect(outcome).to_be_visible()
        return outcome

    def order_reference(self) -> str:
        """The order's reference, from the result page's "Order details" link (every outcome has it)."""
        link = self.page.get_by_role("link", name="Order details")
        expect(link).to_have_attribute("href", re.compile(r"^/orders/ORD-"))
        return link.get_attribute("href").rsplit("/", 1)[1]

    def open_order_page(self) -> None:
        self.page.get_by_role("link", name="Order details").click()
        expect(self.page).to_have_url(re.compile(rf"^{re.escape(self.shop_url)}/orders/ORD-"))

    def charges_for(self, reference: str) -> int:
        return charges_for(self.simulator_url, reference)

    def back_office_history(self, reference: str) -> Locator:
        """The order's API history, which only the back office shows (the buyer's page has
        steps in buyer language): a merchant signs in, in a browser of their own."""
        merchant = self.page.context.browser.new_context().new_page()
        merchant.goto(f"{self.shop_url}/admin/login")
        merchant.get_by_label("Name").fill("admin")
        merchant.get_by_label("Password").fill("demo")
        merchant.get_by_test_id("admin-sign-in").click()
        merchant.goto(f"{self.shop_url}/admin/orders/{reference}")
        return merchant.locator("ol.events")

    # -- the buyer's account: Sign in with Amazon, the saved wallet --------------------------

    def flash(self, message: str) -> Locator:
        """The shop's one-time message (``role=status``) saying exactly ``message``."""
        return self.page.get_by_role("status").filter(has_text=re.compile(rf"^{re.escape(message)}$"))

    @property
    def account_url(self) -> str:
        return f"{self.shop_url}/account"

    def open_account(self) -> None:
        self.page.goto(self.account_url)

    def sign_in_with_amazon(self) -> None:
        """Account page, the Sign in with Amazon button, Amazon's sign-in page, back to the
        account page: "Signed in as …"."""
        page = self.page
        self.open_account()
        page.get_by_test_id("amazon-sign-in-button").click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(self.simulator_url)}/checkout/signin\?signInId="))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_test_id("email").fill(self.buyer.email)
        page.get_by_test_id("password").fill("any password")
        page.get_by_test_id("sign-in").click()
        expect(page).to_have_url(self.account_url)
        expect(page.get_by_test_id("signed-in-buyer")).to_contain_text(f"Signed in as {self.buyer.name}")

    def save_wallet(
        self, product: str = "canvas-tote", address: str | None = None, instrument: str | None = None
    ) -> str:
        """Signed in: cart, "Save it", the Amazon Pay button, the chooser (Amazon knows the
        buyer: no sign-in page, never "Continue as" for a saved wallet), review, Place order:
        success, and the wallet is saved. Returns the order reference."""
        page = self.page
        self.add_to_cart(product)
        toggle = page.get_by_test_id("toggle-save-wallet")
        expect(toggle).to_have_text("Save it")
        toggle.click()
        expect(toggle).to_have_text("Don't save it")
        expect(page.get_by_text("Your Amazon Pay wallet will be saved")).to_be_visible()
        self.click_amazon_pay()
        self.choose(address, instrument)
        self.expect_review()
        expect(self.place_order(return_now=True)).to_have_attribute("data-testid", "outcome-success")
        expect(self.flash("Your Amazon Pay wallet is saved for faster checkout.")).to_be_visible()
        return self.order_reference()

    def charge_permission_id(self) -> str:
        """The saved wallet's Charge Permission id, as the account page signs it for Amazon's update page."""
        options = json.loads(self.page.locator("#amazon-pay-update-options").text_content())
        return json.loads(options["createCheckoutSessionConfig"]["payloadJSON"])["chargePermissionId"]

    def start_wallet_update(self) -> None:
        """Account page, "Update payment method or address": Amazon's hosted update page."""
        page = self.page
        page.get_by_test_id("update-wallet").click()
        expect(page).to_have_url(
            re.compile(rf"^{re.escape(self.simulator_url)}/checkout/update\?amazonCheckoutSessionId=")
        )
        expect(page.get_by_role("heading", name=UPDATE_PAGE_TITLE)).to_be_visible()

    def update_wallet(self, address: str | None = None, instrument: str | None = None) -> None:
        """The whole update: Amazon's page, the choice, "Saving your payment method…", back on
        the account page with the shop's confirmation."""
        page = self.page
        self.start_wallet_update()
        if address:
            page.get_by_test_id(f"address-{address}").check()
        if instrument:
            page.get_by_test_id(f"instrument-{instrument}").check()
        page.get_by_test_id("continue").click()
        expect(page.get_by_role("heading", name="Saving your payment method…")).to_be_visible()
        page.get_by_test_id("return-to-shop").click()
        expect(page).to_have_url(self.account_url)
        expect(self.flash("Your Amazon Pay wallet is updated.")).to_be_visible()

    def pay_with_wallet(self, click=None) -> Locator:
        """Account page, "Pay … with …" (``click`` may replace the plain click): the result page's outcome."""
        page = self.page
        (click or Locator.click)(page.get_by_test_id("pay-with-wallet"))
        # Post/Redirect/Get: the outcome has a page of its own, safe to reload.
        expect(page).to_have_url(re.compile(rf"^{re.escape(self.shop_url)}/account/wallet/payments/ORD-"))
        return self.outcome()
