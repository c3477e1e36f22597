"""Entry point for ``flask run``: the storefront, plus the simulator in simulator mode.

The simulator is started here, not in shop/: merchant code never depends on it.
"""

import os

from shop import create_app

app = create_app()

# With the reloader on, Flask runs this file in a watcher process and in the serving child;
# only the child (WERKZEUG_RUN_MAIN=true), or a run without reloader, serves the simulator.
if app.config["AMAZON_PAY_MODE"] == "simulator" and (os.environ.get("WERKZEUG_RUN_MAIN") == "true" or not app.debug):
    from simulator.embedded import serve_in_background

    serve_in_background(app.config["AMAZON_PAY_ENDPOINT"], app.config["AMAZON_PAY_SIMULATOR_KEYS"])
