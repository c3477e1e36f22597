"""Web features stand alone: the shop without its optional saved wallet still sells, and no
feature imports another (they share only shop.web's common modules and the lower layers)."""

from __future__ import annotations

import ast
from pathlib import Path

import shop
from tests.support import text

WEB = Path(shop.__file__).parent / "web"
SHARED = {"problems", "pages", "button", "security"}


def test_a_shop_without_the_saved_wallet_takes_a_whole_checkout(client, tmp_path, shop_config, make_shop_buyer):
    app = shop.create_app(shop_config(client, tmp_path, SHOP_FEATURES=("storefront", "checkout")))
    buyer = make_shop_buyer(app)
    buyer.add()
    cart = text(buyer.web.get("/cart"))
    assert "/account" not in cart and "Sign in" not in cart  # no link to a feature that is not there
    assert "Thank you for your order" in text(buyer.checkout())
    assert buyer.web.get("/account").status_code == 404
    assert "wallet" not in app.blueprints and "admin" not in app.blueprints


def imports(path: Path) -> set[str]:
    """Every name a module imports from: modules, and the names taken from them."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {f"{'.' * node.level}{node.module or ''}"} | {alias.name for alias in node.names}
    return names


def test_no_web_feature_imports_another():
    features = {path.stem for path in WEB.glob("*.py")} - SHARED - {"__init__"}
    assert {"storefront", "checkout", "wallet", "admin", "ipn"} <= features
    for feature in features:
        found = {name.rsplit(".", 1)[-1] for name in imports(WEB / f"{feature}.py")}
        assert not found & (features - {feature}), f"shop/web/{feature}.py imports {found & features}"


def test_the_lower_layers_know_no_pages():
    for layer in ("amazon_pay", "lifecycle"):
        for path in (Path(shop.__file__).parent / layer).glob("*.py"):
            found = imports(path)
            assert not any(name.startswith(("..web", "shop.web")) for name in found), path
            assert "render_template" not in found, path
    for path in (Path(shop.__file__).parent / "amazon_pay").glob("*.py"):
        assert not any(name.startswith("flask") for name in imports(path)), f"{path} uses Flask"
