"""Start-up configuration and the integration status page.

A merchant's first contact with the shop: it must start with no configuration at all
(simulator mode), refuse placeholder or malformed settings naming the setting, and say
plainly whether Amazon Pay accepts the keys.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from shop import create_app
from shop.amazon_pay import AmazonPayClient
from shop.config import DEMO_PUBLIC_KEY_ID, ConfigError, load
from shop.lifecycle import db

ROOT = Path(__file__).resolve().parents[2]


def env_example() -> dict[str, str]:
    """The settings of .env.example with every commented-out line switched on."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z_]+)=(.*)$", line)
        if match:
            values[match[1]] = match[2].strip().strip('"')
    return values


@pytest.fixture
def sandbox_env(tmp_path, private_pem) -> dict[str, str]:
    key_file = tmp_path / "private.pem"
    key_file.write_bytes(private_pem)
    return {
        "AMAZON_PAY_MODE": "sandbox",
        "AMAZON_PAY_REGION": "eu",
        "AMAZON_PAY_PUBLIC_KEY_ID": "SANDBOX-AFVX7ULWSGBZ5535PCUQOY7B",
        "AMAZON_PAY_PRIVATE_KEY": str(key_file),
        "AMAZON_PAY_MERCHANT_ID": "A2BCDEFGHIJ3KL",
        "AMAZON_PAY_STORE_ID": "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
        "SHOP_URL": "https://shop.example.com",
    }


def test_simulator_mode_needs_no_configuration_and_keeps_its_demo_key(tmp_path):
    first = load(str(tmp_path), {})
    assert first["AMAZON_PAY_MODE"] == "simulator" and first["AMAZON_PAY_PUBLIC_KEY_ID"] == DEMO_PUBLIC_KEY_ID
    trusted = tmp_path / "simulator-keys" / f"{DEMO_PUBLIC_KEY_ID}.pem"
    assert trusted.exists() and b"PRIVATE" not in trusted.read_bytes()
    second = load(str(tmp_path), {})
    assert first["AMAZON_PAY_PRIVATE_KEY"].private_numbers() == second["AMAZON_PAY_PRIVATE_KEY"].private_numbers()
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert (tmp_path / "demo-private-key.pem").stat().st_mode & 0o077 == 0  # readable by the owner only


def test_shop_instance_path_moves_the_demo_key_secret_and_database(tmp_path, monkeypatch):
    """SHOP_INSTANCE_PATH: app servers given one folder share the demo key, SECRET_KEY and SQLite file."""
    folder = tmp_path / "shared"
    for name in ("AMAZON_PAY_MODE", "SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(folder))
    first, second = create_app(), create_app()
    assert first.instance_path == second.instance_path == str(folder)
    assert first.config["DATABASE"] == str(folder / "orders.sqlite") and (folder / "orders.sqlite").exists()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == (folder / "secret-key").read_text()
    assert (folder / "simulator-keys" / f"{DEMO_PUBLIC_KEY_ID}.pem").exists()


def test_a_complete_sandbox_configuration_loads(tmp_path, sandbox_env):
    config = load(str(tmp_path), sandbox_env)
    assert config["AMAZON_PAY_SANDBOX"] is True and config["AMAZON_PAY_ENDPOINT"] is None
    client = AmazonPayClient(
        config["AMAZON_PAY_PUBLIC_KEY_ID"], config["AMAZON_PAY_PRIVATE_KEY"], config["AMAZON_PAY_REGION"]
    )
    assert client.base_url == "https://pay-api.amazon.eu/v2"


def test_the_placeholders_of_env_example_are_refused(tmp_path):
    example = env_example()
    example["AMAZON_PAY_MODE"] = "sandbox"
    with pytest.raises(ConfigError, match="placeholder"):
        load(str(tmp_path), example)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AMAZON_PAY_MODE": "production"}, "AMAZON_PAY_MODE='production'"),
        ({"AMAZON_PAY_REGION": "ca"}, "AMAZON_PAY_REGION='ca'"),
        ({"AMAZON_PAY_ALGORITHM": "HS256"}, "AMAZON_PAY_ALGORITHM"),
        ({"AMAZON_PAY_PUBLIC_KEY_ID": ""}, "AMAZON_PAY_PUBLIC_KEY_ID is not set"),
        ({"AMAZON_PAY_PUBLIC_KEY_ID": "SANDBOX-short"}, "AMAZON_PAY_PUBLIC_KEY_ID is malformed"),
        ({"AMAZON_PAY_PUBLIC_KEY_ID": "LIVE-AFVX7ULWSGBZ5535PCUQOY7B"}, "is a LIVE key but AMAZON_PAY_MODE=sandbox"),
        ({"AMAZON_PAY_MERCHANT_ID": "your-merchant-id"}, "AMAZON_PAY_MERCHANT_ID still holds the placeholder"),
        ({"AMAZON_PAY_STORE_ID": "amzn1.application-oa2-client.123"}, "AMAZON_PAY_STORE_ID is malformed"),
        ({"AMAZON_PAY_PRIVATE_KEY": "/nowhere/key.pem"}, "AMAZON_PAY_PRIVATE_KEY: cannot read key file"),
        (
            {"AMAZON_PAY_PRIVATE_KEY": "-----BEGIN " + "PRIVATE KEY-----\nc2VjcmV0\n-----END " + "PRIVATE KEY-----"},
            "AMAZON_PAY_PRIVATE_KEY: not a readable",
        ),
    ],
)
def test_bad_settings_stop_start_up_naming_the_setting(tmp_path, sandbox_env, change, message):
    with pytest.raises(ConfigError) as caught:
        load(str(tmp_path), {**sandbox_env, **change})
    assert message in str(caught.value)
    assert "c2VjcmV0" not in str(caught.value)


def test_live_mode_requires_its_own_secret_key(tmp_path, sandbox_env):
    live = {**sandbox_env, "AMAZON_PAY_MODE": "live", "AMAZON_PAY_PUBLIC_KEY_ID": "LIVE-AFVX7ULWSGBZ5535PCUQOY7B"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(str(tmp_path), live)
    assert (
        load(str(tmp_path), {**live, "SECRET_KEY": "9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e"})["AMAZON_PAY_SANDBOX"] is False
    )


# -- the status page and `flask amazon-pay-check` ------------------------------------------------


@pytest.fixture
def shop_with(tmp_path, shop_config):
    return lambda client: create_app(shop_config(client, tmp_path))


def test_status_page_says_the_signature_is_accepted(client, shop_with, admin_of):
    page = admin_of(shop_with(client)).get("/admin/status")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Signature accepted" in text and client.public_key_id in text
    assert "PRIVATE KEY" not in text
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_status_page_and_cli_report_a_key_amazon_does_not_know(sim, private_key, shop_with, admin_of):
    unknown = AmazonPayClient("SANDBOX-UNKNOWNKEY00000000000000", private_key, "us", endpoint=sim.url)
    app = shop_with(unknown)
    assert "rejected the signature (InvalidAuthentication)" in admin_of(app).get("/admin/status").get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["amazon-pay-check"])
    assert result.exit_code == 1 and "InvalidAuthentication" in result.output


def test_status_page_reports_an_unreachable_amazon(private_key, shop_with, admin_of):
    offline = AmazonPayClient("SANDBOX-X", private_key, "us", endpoint="http://127.0.0.1:9", max_retries=0)
    assert "cannot be reached" in admin_of(shop_with(offline)).get("/admin/status").get_data(as_text=True)


def test_demo_key_files_are_never_tracked_by_git():
    ignored = (ROOT / ".gitignore").read_text()
    assert "instance/" in ignored and ".env" in ignored and "*.pem" in ignored


def test_private_key_pem_is_pkcs8_or_pkcs1(private_key):
    pkcs8 = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert AmazonPayClient("SANDBOX-X", pkcs8.decode(), "jp").base_url == "https://pay-api.amazon.jp/v2"


def test_session_cookie_is_secure_behind_https_only(client, tmp_path, shop_config):
    # The catalog page stores a CSRF token in the session, so its answer sets the cookie.
    plain = create_app(shop_config(client, tmp_path)).test_client().get("/").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    https = create_app(shop_config(client, tmp_path)).test_client()
    assert "Secure" in https.get("/", base_url="https://shop.example").headers["Set-Cookie"]
    proxied = create_app(shop_config(client, tmp_path, BEHIND_PROXY=True)).test_client()
    assert "Secure" in proxied.get("/", headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    direct = create_app(shop_config(client, tmp_path)).test_client()  # no proxy: the header is not trusted
    assert "Secure" not in direct.get("/", headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]


def test_an_orders_database_from_before_migrations_is_adopted_by_them(client, tmp_path, shop_config):
    import sqlite3

    database = tmp_path / "orders.sqlite"
    with sqlite3.connect(database) as old:
        old.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, reference TEXT UNIQUE NOT NULL)")
        old.execute("INSERT INTO orders (reference) VALUES ('ORD-OLD')")
    old.close()
    create_app(shop_config(client, tmp_path))
    with sqlite3.connect(database) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(orders)")}
        kept = connection.execute("SELECT reference FROM orders").fetchall()
        [(version,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    connection.close()
    assert {"payment_request", "redirect_url", "charge_id"} <= columns
    assert kept == [("ORD-OLD",)]  # no order lost
    assert version == db.head_revision()
