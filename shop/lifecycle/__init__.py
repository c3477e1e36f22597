"""The order lifecycle: the shop's own records of orders and buyers, and how Amazon Pay's
answers move them. It knows the Amazon Pay client's answers but no pages: the web features
(``shop.web``) call it, and it never calls them (it sends signals instead).

- ``db``: the database connection, transactions and per-order locks.
- ``orders``: orders and their history; one Update Checkout Session per order.
- ``accounts``: buyers who signed in with Amazon, their saved wallet, the back office's sign-in.
- ``reconcile``: Amazon's state applied to orders, one code path for every messenger.
- ``backoffice``: the merchant's capture (all or part), further charge, cancel and refund.
- ``notifications``: the buyer's e-mails, through an outbox.
- ``jobs``: ``flask amazon-pay reconcile`` and the demo's timer.
"""
