"""The cart, kept in the signed Flask session as {product id: quantity}; totals in Decimal.

A cart has an identity (a random id in the session) that lasts until an order retires it:
paying for a cart clears it, a failed payment gives it a new identity. With its contents, it
names one purchase: a second tab, a reload or a retry of the same cart is the same order.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from decimal import Decimal

from . import catalog
from .money import Totals

MAX_QUANTITY = 20
MAX_LINES = 20


@dataclass(frozen=True)
class Line:
    product: catalog.Product
    quantity: int
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class CartError(ValueError):
    """A request to change the cart that the shop refuses (unknown product, bad quantity)."""


def _stored(session: MutableMapping) -> dict[str, int]:
    stored = session.get("cart")
    return dict(stored) if isinstance(stored, dict) else {}


def lines(session: MutableMapping, currency: str) -> list[Line]:
    result = []
    for product_id, quantity in _stored(session).items():
        product = catalog.get(product_id)
        if product is not None and isinstance(quantity, int) and 0 < quantity <= MAX_QUANTITY:
            result.append(Line(product, quantity, product.price(currency)))
    return result


def subtotal(items: list[Line]) -> Decimal:
    return sum((line.total for line in items), Decimal(0))


def totals(items: list[Line], currency: str) -> Totals:
    return Totals.before_shipping(subtotal(items), currency)


def count(session: MutableMapping) -> int:
    return sum(q for q in _stored(session).values() if isinstance(q, int))


def is_digital_only(items: list[Line]) -> bool:
    return bool(items) and all(line.product.digital for line in items)


def product_type(items: list[Line]) -> str:
    """Amazon Pay's productType for these items: a cart of downloads only needs no address."""
    return "PayOnly" if is_digital_only(items) else "PayAndShip"


def quantity_in_cart(session: MutableMapping, product_id: str) -> int:
    quantity = _stored(session).get(product_id, 0)
    return quantity if isinstance(quantity, int) else 0


def set_quantity(session: MutableMapping, product_id: str, quantity: int, add: bool = False) -> None:
    """Set a line's quantity (0 removes it), or with ``add`` add 1 or more to it. A refusal
    says, in the buyer's words, what they can do instead (shown next to the quantity field)."""
    if catalog.get(product_id) is None:
        raise CartError("That product does not exist.")
    stored = _stored(session)
    had = quantity_in_cart(session, product_id)
    if add:
        _check_addition(had, quantity)
        quantity += had
    elif not 0 <= quantity <= MAX_QUANTITY:
        raise CartError(f"Choose a quantity from 0 to {MAX_QUANTITY} (0 removes it).")
    if quantity == 0:
        stored.pop(product_id, None)
    elif product_id in stored or len(stored) < MAX_LINES:
        stored[product_id] = quantity
    session["cart"] = stored


def _check_addition(had: int, quantity: int) -> None:
    if had >= MAX_QUANTITY:
        raise CartError(f"You already have {MAX_QUANTITY} of these in your cart, the most we sell at once.")
    if not 1 <= quantity <= MAX_QUANTITY - had:
        if had:
            raise CartError(f"You already have {had} of these in your cart: add 1 to {MAX_QUANTITY - had} more.")
        raise CartError(f"Choose a quantity from 1 to {MAX_QUANTITY}.")


def clear(session: MutableMapping) -> None:
    """The cart was paid for (or is being): empty it and retire its identity."""
    session.pop("cart", None)
    session.pop("cart_id", None)


def retire_identity(session: MutableMapping) -> None:
    """A payment of this cart failed: keep the items, but paying again is a new purchase."""
    session.pop("cart_id", None)


def purchase_key(session: MutableMapping, buyer_id: str) -> str:
    """32 hex digits naming this buyer's purchase of this cart, as it is now."""
    if not isinstance(session.get("cart_id"), str):
        session["cart_id"] = secrets.token_hex(16)
    contents = ";".join(f"{product}:{quantity}" for product, quantity in sorted(_stored(session).items()))
    return hashlib.sha256(f"{buyer_id}|{session['cart_id']}|{contents}".encode()).hexdigest()[:32]
