"""Amazon-hosted pages: what the buyer's browser visits on Amazon's side.

Amazon Pay step: ``amazonPayRedirectUrl``. After Update Checkout Session, the merchant sends
the buyer here; Amazon processes the payment and returns the buyer to
``checkoutResultReturnUrl?amazonCheckoutSessionId=…``, where the merchant calls Complete.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template_string, request

from .api import store
from .errors import ApiError

bp = Blueprint("simulator_hosted", __name__)

ERROR_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Amazon Pay (simulator)</title>
<h1>Amazon Pay could not continue</h1><p>{{ message }}</p>
<p>Return to the shop and start the checkout again.</p></html>"""


@bp.get("/checkout/processing")
def processing():
    session_id = request.args.get("amazonCheckoutSessionId", "")
    state = store()
    try:
        with state.lock:
            env = "Live" if request.args.get("sandbox") == "false" else "Sandbox"
            session = state.session(env, session_id)
            return redirect(state.process_payment(session), code=302)
    except ApiError as error:
        return render_template_string(ERROR_PAGE, message=error.message), error.status
