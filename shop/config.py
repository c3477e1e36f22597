"""Settings from the environment (``.env``), validated at start-up.

Three modes, one code path:
- ``simulator`` (default): no configuration at all. The shop makes a demo RSA key pair under
  ``instance/`` on first start, and the embedded simulator trusts its public half.
- ``sandbox`` / ``live``: your Seller Central keys. A missing, placeholder or malformed
  setting stops the start-up with a message that names the setting.
"""

from __future__ import annotations

import os
import re
import secrets
from email.utils import parseaddr
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .amazon_pay import ALGORITHM_V1, ALGORITHM_V2, load_private_key
from .regions import REGIONS

MODES = ("simulator", "sandbox", "live")
DEMO_PUBLIC_KEY_ID = "SANDBOX-SIMULATORDEMOKEY00000000"
DEMO_MERCHANT_ID = "A1SIMULATORMERCHANT"
DEMO_STORE_ID = "amzn1.application-oa2-client.simulator0000000000000000"
DEFAULT_SIMULATOR_URL = "http://127.0.0.1:5001"
DEMO_SHOP_URL = "http://127.0.0.1:5000"  # where `make demo` (flask run) serves the shop

# Values copied from .env.example or the docs rather than from Seller Central.
_PLACEHOLDER = re.compile(r"X{6,}|^your[-_ ]|^<.*>$|change[-_ ]?me|^\.\.\.$", re.IGNORECASE)


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names it and says what to do."""


def stop(error: ConfigError) -> NoReturn:
    """End the start-up on a bad setting: one line on stderr that names it, exit status 1, no
    traceback (``app.py`` for ``flask run`` and every ``flask`` command; ``gunicorn.conf.py``)."""
    where = "" if ".env.example" in str(error) else " (set in .env or the environment; see .env.example)"
    raise SystemExit(f"Configuration error: {' '.join(str(error).split())}{where}")


def check_at_start_up(instance_path: str | None = None) -> None:
    """The settings checked once before an app server starts its workers (gunicorn's master)."""
    instance = instance_path or os.environ.get("SHOP_INSTANCE_PATH") or str(Path(__file__).parents[1] / "instance")
    try:
        load(instance)
    except ConfigError as error:
        stop(error)


def load(instance_path: str, environ: os._Environ | dict[str, str] | None = None) -> dict[str, Any]:
    """All AMAZON_PAY_* settings as Flask config keys, checked."""
    env = os.environ if environ is None else environ
    mode = _choice(env, "AMAZON_PAY_MODE", "simulator", MODES, f"use one of {', '.join(MODES)}", lower=True)
    config: dict[str, Any] = {
        "AMAZON_PAY_MODE": mode,
        "AMAZON_PAY_REGION": _choice(
            env, "AMAZON_PAY_REGION", "us", REGIONS, f"use one of {', '.join(REGIONS)}", lower=True
        ),
        "AMAZON_PAY_ALGORITHM": _choice(
            env,
            "AMAZON_PAY_ALGORITHM",
            ALGORITHM_V2,
            (ALGORITHM_V2, ALGORITHM_V1),
            f"use {ALGORITHM_V2} (or the legacy {ALGORITHM_V1})",
        ),
        "AMAZON_PAY_PAYMENT_INTENT": _choice(
            env,
            "AMAZON_PAY_PAYMENT_INTENT",
            "Authorize",
            ("Authorize", "AuthorizeWithCapture"),
            "use Authorize (capture when you ship) or AuthorizeWithCapture (capture at once)",
        ),
        "AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION": _choice(
            env, "AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION", "true", ("true", "false"), "use true or false", True
        )
        == "true",
        "SECRET_KEY": _secret_key(env) or _instance_secret(instance_path),
        "BEHIND_PROXY": env.get("BEHIND_PROXY", "").strip().lower() in ("1", "true", "yes"),
        "DATABASE_URL": env.get("DATABASE_URL") or None,
        "AMAZON_PAY_REQUEST_DEADLINE": _seconds(env, "AMAZON_PAY_REQUEST_DEADLINE", "25"),
        "DATABASE_MIGRATE_ON_START": _choice(
            env, "DATABASE_MIGRATE_ON_START", "true", ("true", "false"), "use true or false", True
        )
        == "true",
    }
    if mode == "simulator":
        config.update(_simulator_account(env, instance_path))
    else:
        config.update(_merchant_account(env, mode))
    config["SHOP_URL"] = _shop_url(env, mode)
    config.update(_back_office(env))
    config["AMAZON_PAY_IPN_TOPICS"] = tuple(
        t.strip() for t in env.get("AMAZON_PAY_IPN_TOPICS", "").split(",") if t.strip()
    )
    if env.get("AMAZON_PAY_IPN_CERT_ORIGIN") and mode != "simulator":
        raise ConfigError("AMAZON_PAY_IPN_CERT_ORIGIN: only for the simulator; Amazon's IPNs are signed by AWS.")
    config["AMAZON_PAY_IPN_CERT_ORIGIN"] = env.get("AMAZON_PAY_IPN_CERT_ORIGIN") or None
    config.update(_mail(env))
    return config


def _choice(env, name: str, default: str, allowed, hint: str, lower: bool = False) -> str:
    """A setting that takes one of a few values; a ConfigError that names it otherwise."""
    value = env.get(name, default).strip()
    value = value.lower() if lower else value
    if value not in allowed:
        raise ConfigError(f"{name}={value!r}: {hint}.")
    return value


def _back_office(env) -> dict[str, Any]:
    """Who may sign in to /admin: a name, and a Werkzeug password hash (``flask admin-password``);
    never a password in clear. Unset outside the demo: the back office stays closed."""
    password_hash = (env.get("ADMIN_PASSWORD_HASH") or "").strip()
    if password_hash and not password_hash.startswith(("scrypt:", "pbkdf2:")):
        raise ConfigError("ADMIN_PASSWORD_HASH: a hash made by `flask admin-password`, not the password itself.")
    return {
        "ADMIN_USERNAME": (env.get("ADMIN_USERNAME") or "admin").strip(),
        "ADMIN_PASSWORD_HASH": password_hash or None,
    }


def _shop_url(env, mode: str) -> str:
    """The shop's public origin: every URL given to Amazon (return, cancel and sign-in URLs) is
    built from it, never from a request's Host or X-Forwarded-Host header, which anyone can
    send. Required in sandbox and live (https in live); the demo's own in simulator mode."""
    value = (env.get("SHOP_URL") or "").strip().rstrip("/")
    if not value:
        if mode != "simulator":
            raise ConfigError("SHOP_URL: set your shop's public address, e.g. https://shop.example.com.")
        return DEMO_SHOP_URL
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ConfigError(f"SHOP_URL={value!r}: an origin such as https://shop.example.com (no path).")
    if mode == "live" and parts.scheme != "https":
        raise ConfigError(f"SHOP_URL={value!r}: live mode needs https (Amazon requires it of return URLs).")
    return value


def _seconds(env, name: str, default: str) -> float:
    value = env.get(name, default).strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= 300:
        raise ConfigError(f"{name}={value!r}: a number of seconds from 1 to 300.")
    return seconds


def _mail(env) -> dict[str, Any]:
    """The buyer's e-mails: an SMTP server to send them through (STARTTLS on 587 by default).
    Without MAIL_SERVER they stay in the outbox (the demo; the back office lists them)."""
    server = (env.get("MAIL_SERVER") or "").strip()
    if server and not re.fullmatch(r"[A-Za-z0-9.:-]+", server):
        raise ConfigError(f"MAIL_SERVER={server!r}: a host name such as smtp.example.com (no scheme, no port).")
    port = env.get("MAIL_PORT", "587").strip()
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"MAIL_PORT={port!r}: a port number, such as 587 (STARTTLS submission).")
    use_tls = _choice(env, "MAIL_USE_TLS", "true", ("true", "false"), "use true (STARTTLS) or false", True) == "true"
    username, password = (env.get("MAIL_USERNAME") or "").strip(), env.get("MAIL_PASSWORD") or ""
    sender = (env.get("MAIL_FROM") or "").strip()
    if server:
        if bool(username) != bool(password):
            raise ConfigError("MAIL_USERNAME and MAIL_PASSWORD: set both (to sign in to MAIL_SERVER) or neither.")
        if username and not use_tls and server not in ("localhost", "127.0.0.1", "::1"):
            raise ConfigError("MAIL_USE_TLS=false would send MAIL_PASSWORD unencrypted: use STARTTLS.")
        if password and _PLACEHOLDER.search(password):
            raise ConfigError("MAIL_PASSWORD still holds the placeholder from .env.example.")
        address = parseaddr(sender)[1]
        if not sender or "@" not in address or _PLACEHOLDER.search(sender) or any(c in sender for c in "\r\n"):
            raise ConfigError(
                f"MAIL_FROM={sender!r}: the shop's sender address, e.g. Trailhead Supply <orders@shop.example.com>."
            )
    return {
        "MAIL_SERVER": server or None,
        "MAIL_PORT": int(port),
        "MAIL_USE_TLS": use_tls,
        "MAIL_USERNAME": username or None,
        "MAIL_PASSWORD": password or None,
        "MAIL_FROM": sender or None,
        "MAIL_TIMEOUT": _seconds(env, "MAIL_TIMEOUT", "10"),
    }


def _simulator_account(env, instance_path: str) -> dict[str, Any]:
    """Simulator mode: the demo's own keys and ids, and the simulator's URL."""
    register_demo_domain(instance_path, _shop_url(env, "simulator"))
    return {
        "AMAZON_PAY_PUBLIC_KEY_ID": DEMO_PUBLIC_KEY_ID,
        "AMAZON_PAY_PRIVATE_KEY": demo_private_key(instance_path),
        "AMAZON_PAY_MERCHANT_ID": DEMO_MERCHANT_ID,
        "AMAZON_PAY_STORE_ID": DEMO_STORE_ID,
        "AMAZON_PAY_ENDPOINT": env.get("AMAZON_PAY_SIMULATOR_URL", DEFAULT_SIMULATOR_URL).rstrip("/"),
        "AMAZON_PAY_SANDBOX": True,
        "AMAZON_PAY_SIMULATOR_KEYS": str(Path(instance_path) / "simulator-keys"),
    }


def _merchant_account(env, mode: str) -> dict[str, Any]:
    """Sandbox and live: the merchant's keys and ids from Seller Central, each checked."""
    key_id = _required(
        env,
        "AMAZON_PAY_PUBLIC_KEY_ID",
        r"^(SANDBOX-|LIVE-)?[A-Z0-9]{24}$",
        "24 upper-case letters and digits, optionally after SANDBOX- or LIVE-",
    )
    if key_id.startswith(("SANDBOX-", "LIVE-")) and not key_id.startswith(mode.upper() + "-"):
        raise ConfigError(f"AMAZON_PAY_PUBLIC_KEY_ID is a {key_id.split('-')[0]} key but AMAZON_PAY_MODE={mode}.")
    account = {
        "AMAZON_PAY_PUBLIC_KEY_ID": key_id,
        "AMAZON_PAY_MERCHANT_ID": _required(
            env,
            "AMAZON_PAY_MERCHANT_ID",
            r"^[A-Z0-9]{10,20}$",
            "your Merchant ID from Seller Central, e.g. A2BCDEFGHIJ3KL",
        ),
        "AMAZON_PAY_STORE_ID": _required(
            env,
            "AMAZON_PAY_STORE_ID",
            r"^amzn1\.application-oa2-client\.[0-9a-f]{32}$",
            "amzn1.application-oa2-client. followed by 32 hex digits",
        ),
        "AMAZON_PAY_ENDPOINT": env.get("AMAZON_PAY_ENDPOINT") or None,
        "AMAZON_PAY_SANDBOX": mode == "sandbox",
    }
    raw_key = _required(env, "AMAZON_PAY_PRIVATE_KEY", None, "a path to your private key .pem file, or the PEM itself")
    try:
        account["AMAZON_PAY_PRIVATE_KEY"] = load_private_key(raw_key)
    except ValueError as exc:
        raise ConfigError(f"AMAZON_PAY_PRIVATE_KEY: {str(exc).removeprefix('private_key: ')}") from None
    if mode == "live" and not env.get("SECRET_KEY"):
        raise ConfigError(
            "SECRET_KEY: set a long random value for live mode "
            "(python -c 'import secrets; print(secrets.token_hex())')."
        )
    return account


def _secret_key(env) -> str | None:
    """SECRET_KEY signs the session (cart, owner, signed-in buyer): refuse a guessable one."""
    value = (env.get("SECRET_KEY") or "").strip()
    if not value:
        return None
    if _PLACEHOLDER.search(value) or len(value) < 32:
        raise ConfigError(
            "SECRET_KEY is a placeholder or too short: use at least 32 random characters "
            "(python -c 'import secrets; print(secrets.token_hex())')."
        )
    return value


def _required(env, name: str, pattern: str | None, expected: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: expected {expected}. See .env.example.")
    if _PLACEHOLDER.search(value):
        raise ConfigError(f"{name} still holds the placeholder from .env.example: expected {expected}.")
    if pattern and not re.fullmatch(pattern, value):
        raise ConfigError(f"{name} is malformed: expected {expected}.")
    return value


def _instance_secret(instance_path: str) -> str:
    """A per-checkout session secret kept under instance/, so sessions survive restarts."""
    path = Path(instance_path) / "secret-key"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_hex(32)
    write_private(path, value.encode())
    return value


def demo_private_key(instance_path: str) -> rsa.RSAPrivateKey:
    """The simulator-mode key pair: made once, private half in instance/, public half
    where the simulator looks for trusted keys (``instance/simulator-keys/<id>.pem``)."""
    instance = Path(instance_path)
    private_path = instance / "demo-private-key.pem"
    public_path = instance / "simulator-keys" / f"{DEMO_PUBLIC_KEY_ID}.pem"
    if private_path.exists():
        key = load_private_key(private_path)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_private(
            private_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    if not public_path.exists():
        write_private(
            public_path,
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        )
    return key


def register_demo_domain(instance_path: str, shop_url: str) -> None:
    """Simulator mode: register the demo's own domain for its key, as a merchant registers
    theirs in Seller Central (the simulator refuses return URLs on other domains)."""
    path = Path(instance_path) / "simulator-keys" / f"{DEMO_PUBLIC_KEY_ID}.domains"
    host = urlsplit(shop_url).hostname or ""
    if not path.exists() or host not in path.read_text().split():
        write_private(path, f"# Domains registered for the demo key (Seller Central, offline)\n{host}\n".encode())


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (0600), in a folder only its owner can enter."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
