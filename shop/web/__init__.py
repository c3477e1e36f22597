"""The web features: one blueprint per feature, on top of the order lifecycle.

- ``storefront``: catalog, cart (with the Amazon Pay button), the buyer's order page.
- ``checkout``: review, Place Order, result, cancel (Amazon Pay Checkout v2).
- ``wallet``: Sign in with Amazon and the saved wallet (optional; the shop runs without it).
- ``status``: is the integration configured right?

Shared by all of them: ``problems`` (failures raised as ``Problem`` and rendered in one
place), ``pages`` (who this browser is, the signed-in buyer in ``g``), ``button`` (signed
button payloads) and ``security`` (headers, cookies). Features never import each other.
"""
