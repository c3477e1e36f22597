"""Failures, raised and rendered in one place.

A view or helper that cannot go on raises ``Problem`` (status, title, message, and the one
link that helps). An ``AmazonPayError`` that no view handled itself means Amazon Pay did not
answer (or said it does not know the object): every feature gets the same page and status
for it. Bad input from a browser (an expired form, bytes that are not UTF-8, an address that
is no page) gets a page too, never a 500; a 500 gets a page that needs nothing but itself.

How the page reaches the buyer:

- **GET**: the problem page, with the problem's status.
- **POST** (any form): a 303 to ``GET /problem``, which shows the problem kept in the session
  (Post/Redirect/Get). The address bar then holds a page that can be reloaded or bookmarked,
  never a form's URL, which Enter would send as a GET (405). The kept problem is forgotten as
  soon as the buyer opens another page.
- **JSON** (``fetch`` with ``Accept: application/json`` or a JSON body): ``{"error", "message"}``
  with the status, whatever the method.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from ..amazon_pay import AmazonPayError

log = logging.getLogger(__name__)

#: Where a POST's problem waits for the GET that shows it.
KEPT = "problem"


class Problem(Exception):
    """What went wrong, in the buyer's words, and what to do next (``action``: URL, label)."""

    def __init__(self, status: int, title: str, message: str, action: tuple[str, str] | None = None):
        super().__init__(title)
        self.status, self.title, self.message, self.action = status, title, message, action

    def render(self):
        return respond(self)


def respond(problem: Problem, headers: dict[str, str] | None = None, after_a_form: bool = True):
    """The one answer to a failure: JSON, a 303 to ``GET /problem`` after a form, or the page."""
    action = problem.action or (url_for("storefront.cart"), "Back to your cart")
    if _wants_json():
        return {"error": problem.title, "message": problem.message}, problem.status, headers or {}
    if after_a_form and request.method not in ("GET", "HEAD"):
        session[KEPT] = {"status": problem.status, "title": problem.title, "message": problem.message, "action": action}
        return redirect(url_for("problem"), code=303)
    page = render_template("problem.html", title=problem.title, message=problem.message, action=action)
    return page, problem.status, headers or {}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(("text/html", "application/json"))
    return request.is_json or best == "application/json"


def show_kept_problem():
    """``GET /problem``: the problem of the form just sent. Reloading shows it again; with none
    kept (another page was opened since, or cookies are off) the buyer goes to the cart."""
    kept = session.get(KEPT)
    if not isinstance(kept, dict):
        return redirect(url_for("storefront.cart"), code=303)
    action = tuple(kept.get("action") or (url_for("storefront.cart"), "Back to your cart"))
    page = render_template("problem.html", title=kept.get("title"), message=kept.get("message"), action=action)
    return page, kept.get("status", 400)


def forget_kept_problem() -> None:
    """Before every request: a kept problem lives until the buyer opens another page."""
    if KEPT in session and request.endpoint not in ("problem", "static"):
        session.pop(KEPT)


def way_back(url: str, label: str) -> None:
    """Where a buyer should go if this POST fails because Amazon Pay did not answer (a GET is
    simply reloaded)."""
    g.way_back = (url, label)


def amazon_pay_failed(error: AmazonPayError):
    log.warning(
        "%s %s: Amazon Pay failed: status=%s reason=%s", request.method, request.path, error.status, error.reason_code
    )
    if error.status == 404:
        message = "Amazon Pay does not know this payment. Please start again from your cart."
        return respond(Problem(404, "Not found at Amazon Pay", message))
    if request.method == "GET":
        action = (request.url, "Try again")
    else:
        action = g.get("way_back") or (url_for("storefront.cart"), "Back to your cart")
    message = "We could not reach Amazon Pay just now. Please try again in a moment."
    return respond(Problem(503, "Amazon Pay is not answering", message, action))


def expired_form(error: CSRFError):
    log.warning("CSRF check failed: %s", error.description)
    return respond(
        Problem(
            400,
            "This page has expired",
            "For your safety, forms expire after an hour. Nothing was ordered or "
            "charged. Please go back to your cart and try again.",
            (url_for("storefront.cart"), "Back to your cart"),
        )
    )


def undecodable_request(error: UnicodeDecodeError):
    # Raw non-UTF-8 bytes in a query string (gunicorn and uWSGI pass them through).
    log.warning("request with undecodable bytes refused: %s", request.path[:80])
    return respond(
        Problem(
            400,
            "This address is not valid",
            "The link contains characters we cannot read. Please start again from the shop.",
            ("/", "Go to the shop"),
        )
    )


def http_error(error: HTTPException):
    """Werkzeug's own errors (no such page, a form's address opened as a page, a body too
    large ...) on the shop's page instead of Werkzeug's bare one."""
    if error.code is None or error.code < 400:
        return error
    if isinstance(error, NotFound):
        problem = Problem(
            404,
            "Page not found",
            "There is no page at this address. It may have moved, or the link may be mistyped.",
            (url_for("storefront.catalog"), "Go to the shop"),
        )
    elif isinstance(error, MethodNotAllowed):
        # Typically Enter in the address bar on a form's URL (/checkout/place-order): a GET.
        problem = Problem(
            405,
            "This page cannot be opened directly",
            "This address belongs to a button on another page (such as Place order), so there is "
            "nothing to show here. Your cart is kept.",
            (url_for("storefront.cart"), "Back to your cart"),
        )
    else:
        problem = Problem(
            error.code,
            error.name,
            "We could not handle this request. Please go back and try again.",
            (url_for("storefront.cart"), "Back to your cart"),
        )
    if isinstance(error, MethodNotAllowed):  # the method itself is the problem: said at once
        return respond(problem, {"Allow": error.get_response().headers["Allow"]}, after_a_form=False)
    return respond(problem)


def internal_error(error: InternalServerError):
    """A bug or a failed dependency (the database down ...). Flask has logged the exception
    already (once); this page must not fail in turn, so if the shop's layout cannot be drawn
    (its context needs the session, the database ...) a page that needs nothing is sent."""
    try:
        page = render_template(
            "problem.html",
            title="Something went wrong",
            message="Sorry: something went wrong on our side. Please try again in a moment.",
            action=(url_for("storefront.cart"), "Back to your cart"),
        )
    except Exception:  # the layout itself failed: the self-sufficient page
        log.warning("the 500 page fell back to its plain version", exc_info=True)
        page = plain_500_page()
    return page, 500


_PLAIN_500 = Path(__file__).resolve().parents[2] / "templates" / "500.html"


def plain_500_page() -> str:
    """templates/500.html, read as plain text (no Jinja, no context): only the shop's root is
    filled in."""
    root = str(escape(request.script_root)) if request else ""
    try:
        return _PLAIN_500.read_text(encoding="utf-8").replace("{{ root }}", root)
    except OSError:
        return "<!doctype html><title>Something went wrong</title><h1>Something went wrong</h1>"


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, Problem.render)
    app.register_error_handler(AmazonPayError, amazon_pay_failed)
    app.register_error_handler(CSRFError, expired_form)
    app.register_error_handler(UnicodeDecodeError, undecodable_request)
    app.register_error_handler(InternalServerError, internal_error)
    app.register_error_handler(HTTPException, http_error)
    app.add_url_rule("/problem", "problem", show_kept_problem, methods=["GET"])
    app.before_request(forget_kept_problem)
