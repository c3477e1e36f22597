"""The self-check (``flask amazon-pay-check``, the back office's status page) says "Signature
accepted" only when Amazon Pay itself answered; another server, a name that does not resolve
or a refused connection are named, with "The keys were not checked"."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from shop.amazon_pay import AmazonPayClient
from shop.amazon_pay.selfcheck import check_signature


class Answer(http.server.BaseHTTPRequestHandler):
    """A server that answers every GET with the class's ``status``, ``content_type`` and ``body``."""

    status, content_type, body = 404, "text/html", b"<h1>Not Found</h1>"

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def answering() -> Iterator:
    """``answering(status, body, content_type)``: the URL of a local server that always answers so."""
    servers = []

    def start(status: int, body: bytes | dict, content_type: str = "application/json") -> str:
        payload = json.dumps(body).encode() if isinstance(body, dict) else body
        handler = type("Canned", (Answer,), {"status": status, "content_type": content_type, "body": payload})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def check(private_key, endpoint: str):
    return check_signature(AmazonPayClient("SANDBOX-AFVX7ULWSGBZ5535PCUQOY7B", private_key, "us", endpoint=endpoint))


def test_a_plain_web_server_on_the_port_is_not_amazon(private_key, tmp_path):
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = check(private_key, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
    assert not result.ok and "Signature accepted" not in result.summary
    assert "Not an Amazon Pay answer" in result.summary and "404" in result.summary
    assert "The keys were not checked." in result.detail


@pytest.mark.parametrize(
    "body",
    [{"error": "not found"}, {"reasonCode": "ResourceNotFound"}, {"message": "Not Found"}, b"[]"],
)
def test_json_that_is_not_amazons_error_shape_is_not_amazon(private_key, answering, body):
    result = check(private_key, answering(404, body))
    assert not result.ok and "Not an Amazon Pay answer" in result.summary


def test_amazons_resource_not_found_means_the_signature_was_accepted(private_key, answering):
    result = check(private_key, answering(404, {"reasonCode": "ResourceNotFound", "message": "Not found."}))
    assert result.ok and result.summary == "Signature accepted" and "404 ResourceNotFound" in result.detail


@pytest.mark.parametrize("reason", ["InvalidRequestSignature", "InvalidAuthentication", "InvalidHeaderValue"])
def test_amazon_refusing_the_signature_is_said_with_its_reason(private_key, answering, reason):
    result = check(private_key, answering(403, {"reasonCode": reason, "message": "Unable to verify signature"}))
    assert not result.ok and f"rejected the signature ({reason})" in result.summary


def test_amazon_unable_to_answer_is_not_an_accepted_signature(private_key, answering):
    result = check(private_key, answering(503, {"reasonCode": "ServiceUnavailable", "message": "Try later."}))
    assert not result.ok and "503 ServiceUnavailable" in result.summary and "not checked" in result.detail


def test_a_name_that_does_not_resolve_is_said_at_once(private_key):
    started = time.monotonic()
    result = check(private_key, "https://pay-api.amazon.invalid")  # .invalid never resolves (RFC 6761)
    assert time.monotonic() - started < 3  # no retries with back-off for a wrong name
    assert not result.ok and "DNS" in result.summary and "pay-api.amazon.invalid" in result.summary
    assert "The keys were not checked." in result.detail


def test_a_refused_connection_is_named(private_key):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = check(private_key, f"http://127.0.0.1:{port}")
    assert not result.ok and f"connection to 127.0.0.1:{port} failed" in result.summary
    assert "refused" in result.detail.lower() and "The keys were not checked." in result.detail


def test_the_simulator_answers_like_amazon(sim, client):
    assert check_signature(client).summary == "Signature accepted"
