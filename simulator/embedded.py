"""Run the simulator beside the shop, in the same process, on its own port.

Used by ``app.py`` in simulator mode so that ``flask run`` alone gives a working demo. The
shop still talks to it over real HTTP on another origin, exactly as it would to Amazon.
If the port is taken, the demo does not start: whatever listens there is not this simulator
(or is one that trusts other keys and sends its notifications elsewhere).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from . import create_app

log = logging.getLogger(__name__)
_started: dict[str, threading.Thread] = {}


class PortTaken(RuntimeError):
    """The simulator's port is in use by another program; the message says what to do."""


def serve_in_background(url: str, keys_dir: str, ipn_url: str | None = None) -> bool:
    """Start the simulator at ``url`` (once per process), or raise ``PortTaken``. ``ipn_url``:
    where it sends Instant Payment Notifications (both environments); default
    ``AMAZON_PAY_SIMULATOR_IPN_URL``, else none."""
    if url in _started:
        return True
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if _in_use(host, port):
        raise PortTaken(
            f"port {port} (the Amazon Pay simulator, {url}) is in use by another program. Stop that "
            "program (another `make demo`?), or choose a free port for the simulator in .env, e.g. "
            f"AMAZON_PAY_SIMULATOR_URL=http://127.0.0.1:{port + 1}"
        )
    config = {"SIMULATOR_KEYS_DIR": keys_dir, "SIMULATOR_PUBLIC_URL": url}
    if ipn_url:
        config["SIMULATOR_IPN_URL"] = ipn_url
    server = make_server(host, port, create_app(config), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="amazon-pay-simulator", daemon=True)
    thread.start()
    _started[url] = thread
    log.info("Amazon Pay simulator listening at %s (pid %d)", url, os.getpid())
    return True


def _in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails (asked before werkzeug, which would exit the process)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does: TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False
