"""Failures, raised and rendered in one place.

A view or helper that cannot go on raises ``Problem`` (status, title, message, and the one
link that helps). An ``AmazonPayError`` that no view handled itself means Amazon Pay did not
answer (or said it does not know the object): every feature gets the same page and status
for it. Bad input from a browser (an expired form, bytes that are not UTF-8) gets a page too,
never a 500.
"""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from ..amazon_pay import AmazonPayError

log = logging.getLogger(__name__)


class Problem(Exception):
    """What went wrong, in the buyer's words, and what to do next (``action``: URL, label)."""

    def __init__(self, status: int, title: str, message: str, action: tuple[str, str] | None = None):
        super().__init__(title)
        self.status, self.title, self.message, self.action = status, title, message, action

    def render(self):
        action = self.action or (url_for("storefront.cart"), "Back to your cart")
        page = render_template("problem.html", title=self.title, message=self.message, action=action)
        return page, self.status


def way_back(url: str, label: str) -> None:
    """Where a buyer should go if this POST fails because Amazon Pay did not answer (a GET is
    simply reloaded)."""
    g.way_back = (url, label)


def amazon_pay_failed(error: AmazonPayError):
    log.warning(
        "%s %s: Amazon Pay failed: status=%s reason=%s", request.method, request.path, error.status, error.reason_code
    )
    if error.status == 404:
        return Problem(
            404, "Not found at Amazon Pay", "Amazon Pay does not know this payment. Please start again from your cart."
        ).render()
    if request.method == "GET":
        action = (request.url, "Try again")
    else:
        action = g.get("way_back") or (url_for("storefront.cart"), "Back to your cart")
    message = "We could not reach Amazon Pay just now. Please try again in a moment."
    return Problem(503, "Amazon Pay is not answering", message, action).render()


def expired_form(error: CSRFError):
    log.warning("CSRF check failed: %s", error.description)
    return Problem(
        400,
        "This page has expired",
        "For your safety, forms expire after an hour. Nothing was ordered or "
        "charged. Please go back to your cart and try again.",
        (url_for("storefront.cart"), "Back to your cart"),
    ).render()


def undecodable_request(error: UnicodeDecodeError):
    # Raw non-UTF-8 bytes in a query string (gunicorn and uWSGI pass them through).
    log.warning("request with undecodable bytes refused: %s", request.path[:80])
    return Problem(
        400,
        "This address is not valid",
        "The link contains characters we cannot read. Please start again from the shop.",
        ("/", "Go to the shop"),
    ).render()


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, Problem.render)
    app.register_error_handler(AmazonPayError, amazon_pay_failed)
    app.register_error_handler(CSRFError, expired_form)
    app.register_error_handler(UnicodeDecodeError, undecodable_request)
