"""The public keys the simulator trusts: ``<publicKeyId>.pem`` files in one directory.

Amazon knows each merchant's public keys from Seller Central; the simulator reads them from
``AMAZON_PAY_SIMULATOR_KEYS``. A key added while it runs (the shop makes its demo key on first
start) is picked up on the next request that names it.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class KeyRing:
    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory else None
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def add(self, public_key_id: str, public_key_pem: bytes | str) -> None:
        if isinstance(public_key_pem, str):
            public_key_pem = public_key_pem.encode("ascii")
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"{public_key_id}: not an RSA public key")
        with self._lock:
            self._keys[public_key_id] = key

    def get(self, public_key_id: str) -> rsa.RSAPublicKey | None:
        with self._lock:
            key = self._keys.get(public_key_id)
        if key is not None or self.directory is None or not KEY_ID.fullmatch(public_key_id):
            return key
        path = self.directory / f"{public_key_id}.pem"
        try:
            self.add(public_key_id, path.read_bytes())
        except (OSError, ValueError):
            return None
        return self._keys.get(public_key_id)
