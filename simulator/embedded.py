"""Run the simulator beside the shop, in the same process, on its own port.

Used by ``app.py`` in simulator mode so that ``flask run`` alone gives a working demo. The
shop still talks to it over real HTTP on another origin, exactly as it would to Amazon.
"""

from __future__ import annotations

import logging
import os
import threading
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from . import create_app

log = logging.getLogger(__name__)
_started: dict[str, threading.Thread] = {}


def serve_in_background(url: str, keys_dir: str, ipn_url: str | None = None) -> bool:
    """Start the simulator at ``url`` unless something already listens there. ``ipn_url``: where
    it sends Instant Payment Notifications (both environments); default
    ``AMAZON_PAY_SIMULATOR_IPN_URL``, else none."""
    if url in _started:
        return True
    parts = urlsplit(url)
    config = {"SIMULATOR_KEYS_DIR": keys_dir, "SIMULATOR_PUBLIC_URL": url}
    if ipn_url:
        config["SIMULATOR_IPN_URL"] = ipn_url
    try:
        server = make_server(parts.hostname or "127.0.0.1", parts.port or 80, create_app(config), threaded=True)
    except (OSError, SystemExit) as exc:  # werkzeug exits when the port is taken
        log.warning("Amazon Pay simulator not started at %s (%s); using whatever listens there.", url, exc)
        return False
    thread = threading.Thread(target=server.serve_forever, name="amazon-pay-simulator", daemon=True)
    thread.start()
    _started[url] = thread
    log.info("Amazon Pay simulator listening at %s (pid %d)", url, os.getpid())
    return True
