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


def set_quantity(session: MutableMapping, product_id: str, quantity: int, add: bool = False) -> None:
    if catalog.get(product_id) is None:
        raise CartError("That product does not exist.")
    stored = _stored(session)
    new_quantity = quantity + (stored.get(product_id, 0) if add else 0)
    if not 0 <= new_quantity <= MAX_QUANTITY:
        raise CartError(f"Quantities go from 0 to {MAX_QUANTITY}.")
    if new_quantity == 0:
        stored.pop(product_id, None)
    elif product_id in stored or len(stored) < MAX_LINES:
        stored[product_id] = new_quantity
    session["cart"] = stored


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
