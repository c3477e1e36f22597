"""``make audit``: Lighthouse on the pages a buyer sees, against the targets of issue #14.

Starts the simulator and a demo shop (region us) on free loopback ports, in this process;
plays a buyer in Chromium (e2e/journey.py) to reach the pages that need a checkout; and runs
Lighthouse (scripts/audit/node_modules, the system Chromium in CHROME_PATH) on each page:
catalog, product, cart, review, result, order and account. Pages behind the buyer's session
get the browser's session cookie (Lighthouse's ``--extra-headers``).

Targets: performance >= 0.95, accessibility 1.0, best practices 1.0 (Lighthouse's default
mobile run: a phone-sized screen, a slow 4G network and a 4x slower CPU, simulated). Each page
is audited three times (``--runs``) and its median scores count, as Lighthouse advises against
one run's variance (https://github.com/GoogleChrome/lighthouse/blob/main/docs/variability.md):
on a busy machine one run's blocking time swings by tens of points. Prints a table and the
audits that cost points in the median run; exit status 0 when every page meets them, 1 when one
misses, 2 when the audit could not run. Lighthouse's JSON reports are kept in
scripts/audit/reports/ (git-ignored).

    make audit                                # or, once set up:
    .venv/bin/python scripts/audit/audit.py [--only catalog,cart]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
import shop  # noqa: E402
import simulator  # noqa: E402
from e2e.browser import CHROMIUM_ARGS, system_chromium  # noqa: E402
from e2e.journey import Journey  # noqa: E402
from shop.amazon_pay import AmazonPayClient  # noqa: E402

HERE = Path(__file__).resolve().parent
LIGHTHOUSE = HERE / "node_modules" / "lighthouse" / "cli" / "index.js"
REPORTS = HERE / "reports"
TARGETS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 1.0}
PAGES = ("catalog", "product", "cart", "review", "result", "order", "account")
PUBLIC_KEY_ID = "SANDBOX-AUDITKEY0000000000000000"


@dataclass
class Servers:
    """What e2e/journey.py needs: the simulator's URL and the shop's, per region."""

    simulator_url: str
    shops: dict[str, str] = field(default_factory=dict)


def serve(app) -> str:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def start_servers(folder: Path, region: str = "us") -> Servers:
    """The simulator and a shop on free ports (the demo's setup, with a key made now)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = folder / "simulator-keys"
    keys.mkdir()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (keys / f"{PUBLIC_KEY_ID}.pem").write_bytes(public)
    servers = Servers(serve(simulator.create_app({"SIMULATOR_KEYS_DIR": str(keys)})))
    app = shop.create_app(
        {
            "SECRET_KEY": "audit",
            "AMAZON_PAY_MODE": "simulator",
            "AMAZON_PAY_CLIENT": AmazonPayClient(PUBLIC_KEY_ID, key, region, endpoint=servers.simulator_url),
            "AMAZON_PAY_REGION": region,
            "AMAZON_PAY_ENDPOINT": servers.simulator_url,
            "AMAZON_PAY_MERCHANT_ID": "A1AUDITMERCHANT",
            "AMAZON_PAY_STORE_ID": "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
            "DATABASE": str(folder / "orders.sqlite"),
        }
    )
    servers.shops[region] = serve(app)
    app.config["SHOP_URL"] = servers.shops[region]
    return servers


def lighthouse(name: str, url: str, cookie: str | None, runs: int) -> dict:
    """``runs`` Lighthouse runs; the median of each category's score (0..1), and the audits
    that cost points in the run with the median performance score."""
    results = sorted((run_once(f"{name}-{run}", url, cookie) for run in range(runs)), key=lambda r: r["performance"])
    scores: dict = {category: statistics.median(r[category] for r in results) for category in TARGETS}
    scores["lost"] = results[len(results) // 2]["lost"]
    return scores


def run_once(name: str, url: str, cookie: str | None) -> dict:
    report = REPORTS / f"{name}.json"
    command = [
        "node",
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        "--only-categories=performance,accessibility,best-practices",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH") or system_chromium() or ""}
    subprocess.run(command, check=True, env=env, timeout=300)
    result = json.loads(report.read_text())
    scores = {category: result["categories"][category]["score"] or 0.0 for category in TARGETS}
    scores["lost"] = [
        f"{audit['id']} ({audit['score']})"
        for category in TARGETS
        for ref in result["categories"][category]["auditRefs"]
        if ref["weight"] and (audit := result["audits"][ref["id"]])["score"] is not None and audit["score"] < 1
    ]
    return scores


def pages_to_audit(page, servers: Servers, only: set[str], runs: int) -> dict[str, dict]:
    """Plays the buyer; audits each page when it is there to be seen."""
    buyer = Journey(page, servers, "us")
    shop_url, scores = buyer.shop_url, {}

    def audit(name: str, url: str, with_session: bool = True) -> None:
        if name not in only:
            return
        cookies = [f"{c['name']}={c['value']}" for c in page.context.cookies(shop_url)] if with_session else []
        page.request.get(url)  # warm: a running shop has its templates compiled
        print(f"lighthouse: {name} {url}", flush=True)
        scores[name] = lighthouse(name, url, "; ".join(cookies) or None, runs)

    audit("catalog", f"{shop_url}/", with_session=False)
    audit("product", f"{shop_url}/products/canvas-tote", with_session=False)
    buyer.to_review("canvas-tote", 2)
    review = page.url
    audit("cart", f"{shop_url}/cart")
    audit("review", review)
    buyer.place_order(return_now=True)
    audit("result", page.url)
    audit("order", f"{shop_url}/orders/{buyer.order_reference()}")
    audit("account", f"{shop_url}/account")
    return scores


def table(scores: dict[str, dict]) -> tuple[str, bool]:
    lines = ["| Page | Performance | Accessibility | Best practices |", "|---|---|---|---|"]
    met = True
    for name, result in scores.items():
        cells = []
        for category, target in TARGETS.items():
            ok = result[category] >= target
            met &= ok
            cells.append(f"{round(result[category] * 100)}{'' if ok else ' (missed)'}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines), met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PAGES), help=f"pages to audit, of {','.join(PAGES)}")
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page; the median counts (3)")
    args = parser.parse_args()
    only, runs = set(args.only.split(",")), max(1, args.runs)
    if not LIGHTHOUSE.exists():
        print("Lighthouse is not installed: run make audit (npm ci --prefix scripts/audit)", file=sys.stderr)
        return 2
    REPORTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        servers = start_servers(Path(folder))
        browser = playwright.chromium.launch(executable_path=system_chromium(), args=CHROMIUM_ARGS)
        try:
            scores = pages_to_audit(browser.new_page(), servers, only, runs)
        except subprocess.SubprocessError as error:
            print(f"Lighthouse failed: {error}", file=sys.stderr)
            return 2
        finally:
            browser.close()
    text, met = table(scores)
    heading = f"Lighthouse (mobile), median of {runs} runs; targets: performance >= 95, the others 100"
    print(f"\n{heading}\n\n{text}\n")
    for name, result in scores.items():
        if result["lost"]:
            print(f"{name}: points lost in {', '.join(result['lost'])}")
    print("all pages meet the targets" if met else "a page misses a target")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
