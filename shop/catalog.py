"""The shop's products. Prices live here, on the server, per ledger currency: the browser
only ever sends a product id and a quantity.

Each product has a picture in ``static/img/<id>.svg`` (drawn for this project, free to copy),
shown at ``IMAGE_WIDTH`` x ``IMAGE_HEIGHT``: the size goes in the ``<img>`` tag, so the page
does not jump when the picture arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

IMAGE_WIDTH, IMAGE_HEIGHT = 480, 360


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    description: str
    prices: dict[str, Decimal]
    details: tuple[str, ...] = ()  # the product page's bullet points
    digital: bool = False  # a cart of digital goods only is PayOnly: no shipping address

    def price(self, currency: str) -> Decimal:
        return self.prices[currency]

    @property
    def image(self) -> str:
        """The picture, relative to ``static/``."""
        return f"img/{self.id}.svg"


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
            ("350 ml, steel with a glass enamel coat", "Goes on the stove and in the dishwasher", "Weighs 190 g"),
        ),
        Product(
            "field-notebook",
            "Field notebook",
            "Waterproof paper, 96 pages, pencil included.",
            _prices("12.50", "11.90", "9.95", "1600"),
            (
                "96 pages of waterproof stone paper, dotted",
                "Writes in the rain with the pencil included",
                "A6, fits a shirt pocket",
            ),
        ),
        Product(
            "canvas-tote",
            "Canvas tote",
            "Heavy canvas, reinforced handles.",
            _prices("24.00", "22.00", "19.00", "3200"),
            ("Heavy 16 oz cotton canvas", "Handles stitched through the base", "Holds 18 litres; folds flat"),
        ),
        Product(
            "trail-guide-ebook",
            "Trail guide (e-book)",
            "Sixty day hikes, as EPUB and PDF.",
            _prices("9.99", "8.99", "7.99", "1200"),
            (
                "Sixty day hikes with maps and elevation profiles",
                "EPUB and PDF, no DRM",
                "A download: nothing is shipped",
            ),
            digital=True,
        ),
    ]
}


def get(product_id: str) -> Product | None:
    return PRODUCTS.get(product_id)
