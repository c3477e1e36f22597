"""The domains each merchant registered in Seller Central: where Amazon may send the buyer back.

Amazon sends the buyer only to return URLs on domains the merchant added to Seller Central:
"You must add the domains where the Amazon Pay button will be rendered to Seller Central"
(https://developer.amazon.com/docs/amazon-pay-checkout/add-the-amazon-pay-button.html, pointing to
https://developer.amazon.com/docs/amazon-pay-checkout/get-set-up-for-integration.html#2-add-domains-to-seller-central,
which also asks for the domains of the return and cancel URLs where they differ); the sign-in
payload's ``signInReturnUrl`` likewise ("the URL domain must be added to Seller Central",
https://developer.amazon.com/docs/amazon-pay-checkout/amazon-sign-in.html). In Sandbox a merchant
may develop on ``http://localhost`` without adding it; in Live it may not
(https://developer.amazon.com/docs/amazon-pay-checkout/differences-between-environments.html).

The simulator reads them from ``<publicKeyId>.domains`` beside the trusted ``<publicKeyId>.pem``
(``AMAZON_PAY_SIMULATOR_KEYS``): UTF-8, one hostname a line (no scheme, no port, any case),
blank lines and ``#`` comments ignored. The file is read again whenever it changes, so one made
or edited while the simulator runs counts from the next request. A test may override a key's list
in memory (``PUT /control/merchants/<publicKeyId>/domains``; ``/control/reset`` forgets it).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ApiError, invalid_parameter
from .keys import KEY_ID

#: Loopback hosts: what a Sandbox merchant may use without registering anything.
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
#: The return URLs of a Checkout Session (Create / Update Checkout Session, the button's payload).
CHECKOUT_URL_FIELDS = ("checkoutReviewReturnUrl", "checkoutResultReturnUrl", "checkoutCancelUrl")
#: The return URLs of a sign-in payload (the Sign in with Amazon button, ``/control/sign-in``).
SIGN_IN_URL_FIELDS = ("signInReturnUrl", "signInCancelUrl")
MAX_DOMAINS = 256
MAX_FILE_BYTES = 64 * 1024
#: A DNS name (labels of letters, digits, hyphens; so also an IPv4 address), or an IPv6 address.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_IPV6 = re.compile(r"^[0-9a-f:.]{2,45}$")
#: What a browser strips from or reads differently in a URL than urlsplit does (a backslash is a
#: slash to a browser, so ``http://evil.example\@shop.test/`` leads to evil.example).
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f\\]")


def normalise_host(value: str) -> str | None:
    """A hostname as compared: lower case, no trailing dot, no IPv6 brackets; None if invalid."""
    host = value.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host.isascii():
        try:  # an internationalised name, as its ASCII (punycode) form
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if _HOSTNAME.fullmatch(host) or (":" in host and _IPV6.fullmatch(host)):
        return host
    return None


def parse_domains_file(text: str) -> list[str]:
    """The hostnames of a ``.domains`` file; lines that are not a hostname are skipped."""
    hosts: list[str] = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        host = normalise_host(entry) if entry else None
        if host and host not in hosts:
            hosts.append(host)
    return hosts[:MAX_DOMAINS]


def url_host(url: str) -> str | None:
    """The host a browser would go to for ``url``, or None when that is unclear."""
    if _UNSAFE_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    return normalise_host(hostname)


class DomainRegistry:
    """``<publicKeyId>.domains`` files in the keys directory, re-read when they change."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory else None
        self._cache: dict[str, tuple[tuple[int, int], list[str]]] = {}
        self._lock = threading.Lock()

    def path(self, public_key_id: str) -> Path | None:
        if self.directory is None or not KEY_ID.fullmatch(public_key_id):
            return None
        return self.directory / f"{public_key_id}.domains"

    def registered(self, public_key_id: str) -> list[str] | None:
        """The key's registered hostnames, or None when it has no (readable) ``.domains`` file."""
        path = self.path(public_key_id)
        if path is None:
            return None
        try:
            stat = path.stat()
            version = (stat.st_mtime_ns, stat.st_size)
            with self._lock:
                cached = self._cache.get(public_key_id)
            if cached is not None and cached[0] == version:
                return list(cached[1])
            if stat.st_size > MAX_FILE_BYTES:
                return []
            hosts = parse_domains_file(path.read_bytes().decode("utf-8", errors="replace"))
        except OSError:
            return None
        with self._lock:
            self._cache[public_key_id] = (version, hosts)
        return list(hosts)


@dataclass(frozen=True)
class ReturnUrls:
    """Where one merchant key lets Amazon send the buyer back, in one environment."""

    public_key_id: str
    env: str
    registered: frozenset[str]
    source: str  # "override" (the control endpoint), "file" (<id>.domains) or "none"

    def allows(self, url: str) -> bool:
        host = url_host(url)
        if host is None:
            return False
        return host in self.registered or (self.env == "Sandbox" and host in LOOPBACK)

    def check(self, where: str, url: Any) -> None:
        """Refuse a return URL whose domain this key has not registered.

        SIMULATOR CHOICE: ``400 InvalidParameterValue`` naming the field and the value; Amazon
        documents no error for an unregistered domain (docs/simulator.md, "Known differences")."""
        if not isinstance(url, str) or self.allows(url):
            return
        shown = url if len(url) <= 300 else url[:300] + "…"
        host = url_host(url)
        if host is None:
            reason = "Amazon Pay cannot tell which domain this URL leads to."
        else:
            reason = f"The domain {host} is not registered for publicKeyId {self.public_key_id[:64]} in Seller Central"
            reason += " (Sandbox also allows localhost)." if self.env == "Sandbox" else "."
        raise ApiError(400, "InvalidParameterValue", f"The value {shown} provided for {where} is invalid. {reason}")

    def check_checkout(self, body: dict[str, Any], prefix: str = "webCheckoutDetails") -> None:
        web = body.get("webCheckoutDetails")
        if isinstance(web, dict):
            for name in CHECKOUT_URL_FIELDS:
                if web.get(name) is not None:
                    self.check(f"{prefix}.{name}", web[name])

    def check_sign_in(self, payload: dict[str, Any]) -> None:
        for name in SIGN_IN_URL_FIELDS:
            if payload.get(name) is not None:
                self.check(name, payload[name])


def return_urls(
    registry: DomainRegistry, public_key_id: str, env: str, override: list[str] | None = None
) -> ReturnUrls:
    """What ``public_key_id`` may use: the control endpoint's list if set, else its ``.domains`` file."""
    if override is not None:
        return ReturnUrls(public_key_id, env, frozenset(override), "override")
    hosts = registry.registered(public_key_id)
    if hosts is None:
        return ReturnUrls(public_key_id, env, frozenset(), "none")
    return ReturnUrls(public_key_id, env, frozenset(hosts), "file")


def parse_domain_list(body: dict[str, Any]) -> list[str]:
    """``{"domains": [...]}`` of ``PUT /control/merchants/<id>/domains``, validated."""
    domains = body.get("domains")
    if domains is None:
        raise ApiError(400, "MissingParameterValue", "The mandatory field domains is missing.")
    if not isinstance(domains, list) or len(domains) > MAX_DOMAINS:
        raise invalid_parameter("domains", f"A list of at most {MAX_DOMAINS} hostnames.")
    hosts: list[str] = []
    for index, value in enumerate(domains):
        host = normalise_host(value) if isinstance(value, str) else None
        if host is None:
            raise invalid_parameter(
                f"domains[{index}]", "A hostname such as shop.example: no scheme, no port, no path."
            )
        if host not in hosts:
            hosts.append(host)
    return hosts
