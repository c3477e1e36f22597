"""The order lifecycle: the shop's own records of orders and buyers, and how Amazon Pay's
answers move them. It knows the Amazon Pay client's answers but no pages: the web features
(``shop.web``) call it, and it never calls them (it sends signals instead).

- ``db``: the database connection, transactions and per-order locks.
- ``orders``: orders and their history; one Update Checkout Session per order.
- ``accounts``: buyers who signed in with Amazon, and their saved wallet.
"""
