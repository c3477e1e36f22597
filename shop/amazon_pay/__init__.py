"""The thin Amazon Pay service module: request signing and one client method per API operation.

Copy this package into your shop as it is: it depends on requests, urllib3 and cryptography only.
"""

from .client import AmazonPayClient, AmazonPayError, AmazonPayResponse, load_private_key, within
from .signing import ALGORITHM_V1, ALGORITHM_V2

__all__ = [
    "ALGORITHM_V1",
    "ALGORITHM_V2",
    "AmazonPayClient",
    "AmazonPayError",
    "AmazonPayResponse",
    "load_private_key",
    "within",
]
