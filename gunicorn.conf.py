"""gunicorn settings for the shop (gunicorn reads this file from the working directory):

    gunicorn 'shop:create_app()'

Each worker is a process with its own database connections and its own Amazon Pay client
(the key is parsed once per worker). Orders are safe across workers and machines: one order
per payment request (a UNIQUE key), one Update Checkout Session per order (a lock in the
database), one charge per order (idempotency keys derived from the order).
"""

import os

from shop.config import check_at_start_up

bind = os.environ.get("SHOP_BIND", "127.0.0.1:8000")
# Two or three per core is gunicorn's advice; the shop mostly waits on Amazon and the database.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# A request may wait on Amazon Pay: the client's timeouts and retries must fit inside this.
timeout = int(os.environ.get("SHOP_WORKER_TIMEOUT", "60"))
graceful_timeout = 30
accesslog = "-"
# Never log query strings: Amazon's return URLs carry ids a log has no need of.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
# gunicorn's control socket is one per user by default; two instances on one machine (tests,
# the benchmark, a blue/green deploy) would fight over it, and the shop has no use for it.
control_socket_disable = True


# The settings are checked here, before gunicorn starts anything: a wrong one is one line that
# names it and exit status 1 (a worker would only make gunicorn say "Worker failed to boot").
check_at_start_up()
