"""The cart, kept in the signed Flask session as {product id: quantity}; totals in Decimal."""

from __future__ import annotations

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
    session.pop("cart", None)
