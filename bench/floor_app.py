"""The framework's floor for bench/checkout_load.py: a bare Flask page under the shop's own
gunicorn settings (``gunicorn -c gunicorn.conf.py bench.floor_app:app``). No page of the shop
can be faster than this; the benchmark reports the catalog and cart pages as a share of it."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok() -> str:
    return "ok"
