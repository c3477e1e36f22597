"""The shop's products. Prices live here, on the server, per ledger currency: the browser
only ever sends a product id and a quantity."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    description: str
    prices: dict[str, Decimal]
    digital: bool = False  # a cart of digital goods only is PayOnly: no shipping address

    def price(self, currency: str) -> Decimal:
        return self.prices[currency]


def _prices(usd: str, eur: str, gbp: str, jpy: str) -> dict[str, Decimal]:
    return {"USD": Decimal(usd), "EUR": Decimal(eur), "GBP": Decimal(gbp), "JPY": Decimal(jpy)}


PRODUCTS = {
    p.id: p
    for p in [
        Product(
            "trail-mug",
            "Enamel trail mug",
            "A 350 ml enamel mug that survives the campfire.",
            _prices("18.00", "16.50", "14.00", "2400"),
        ),
        Product(
            "field-notebook",
            "Field notebook",
            "Waterproof paper, 96 pages, pencil included.",
            _prices("12.50", "11.90", "9.95", "1600"),
        ),
        Product(
            "canvas-tote",
            "Canvas tote",
            "Heavy canvas, reinforced handles.",
            _prices("24.00", "22.00", "19.00", "3200"),
        ),
        Product(
            "trail-guide-ebook",
            "Trail guide (e-book)",
            "Sixty day hikes, as EPUB and PDF.",
            _prices("9.99", "8.99", "7.99", "1200"),
            digital=True,
        ),
    ]
}


def get(product_id: str) -> Product | None:
    return PRODUCTS.get(product_id)
