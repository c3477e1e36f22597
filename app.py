"""Entry point for ``flask run``: the storefront, plus the simulator in simulator mode (which
sends its Instant Payment Notifications to the shop) and a reconcile timer that settles open
orders every minute.

The simulator is started here, not in shop/: merchant code never depends on it. It starts
only when this file is loaded by ``flask run`` (not by ``flask db upgrade`` or another
command), and never under gunicorn, which serves ``shop:create_app()`` with the simulator as
a process of its own (see the README's "Production" section).
"""

import os

import click

from shop import config, create_app
from shop.lifecycle import jobs

try:
    app = create_app()
except config.ConfigError as error:  # one line naming the setting, not a traceback
    config.stop(error)


def _served_by_flask_run() -> bool:
    context = click.get_current_context(silent=True)
    if context is None or context.command.name != "run":
        return False
    # With the reloader on, Flask runs this file in a watcher process and in the serving
    # child; only the child (WERKZEUG_RUN_MAIN=true), or a run without reloader, serves.
    return os.environ.get("WERKZEUG_RUN_MAIN") == "true" or not app.debug


if _served_by_flask_run():
    if app.config["AMAZON_PAY_MODE"] == "simulator":
        from simulator.embedded import PortTaken, serve_in_background

        # The simulator sends its Instant Payment Notifications to the shop's endpoint, as
        # Amazon does to the URL a merchant enters in Seller Central.
        try:
            serve_in_background(
                app.config["AMAZON_PAY_ENDPOINT"],
                app.config["AMAZON_PAY_SIMULATOR_KEYS"],
                ipn_url=app.config["SHOP_URL"] + "/amazon-pay/ipn",
            )
        except PortTaken as error:
            raise SystemExit(f"The demo cannot start: {error}") from None
    # The demo settles open orders by itself; production runs `flask amazon-pay reconcile` from cron.
    jobs.run_every(app, float(os.environ.get("RECONCILE_EVERY_SECONDS", "60")))
