"""Checkout load: K concurrent headless buyers run M whole checkouts against the shop under
gunicorn (W workers) and the Amazon Pay simulator as a process of its own, on SQLite and on
PostgreSQL; and the shop's catalog and cart pages against a bare Flask page (the floor).

Run from the repository root:

    python -m bench.checkout_load            # or: make bench (with bench.signing)
    python -m bench.checkout_load --buyers 8 --checkouts 300 --workers 3

Each database gets a fresh shop (its own instance folder; PostgreSQL: a schema of its own on
--postgresql, dropped afterwards) and a fresh simulator. After a warm-up (one checkout per
buyer, then the simulator's counters are reset), the buyers run M checkouts together, each a
new browser: catalog, add to cart, cart (the Amazon Pay button), the button click at Amazon
(simulator control endpoint), review, Place Order, Amazon's redirect (control endpoint), result.

Reported: checkouts per second (M over the wall time of the timed phase); p50/p99 latency per
step; Amazon API calls per checkout (the simulator's request counters per operation, from
GET /control/faults); charges per order (GET /control/counts, chargesPerMerchantReference,
against the orders table); errors (failed steps, 5xx in the shop's access log, non-2xx pages);
and requests per second of the catalog and cart pages, and of the floor (bench/floor_app.py
under the same gunicorn settings), measured by the same client: wrk when installed, else a
thread pool of requests.Session, in rounds (floor, catalog, cart, rotating); a page's ratio to
the floor is the median of the rounds' ratios.

Targets: 0 errors; exactly 1 charge per order (and 1 order per checkout); at most 4 Amazon API
calls per checkout; catalog and cart >= 0.5 x the floor. See bench/README.md. Exit status: 0 met, 1 missed, 2 could
not run. Results: bench/results/checkout_load.md and .json (git-ignored).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import requests

from .http_buyer import HttpBuyer, StepFailed
from .servers import (
    ROOT,
    Server,
    ServerError,
    Servers,
    postgresql_available,
    postgresql_schema,
    prepare_instance,
    stored_orders,
)

RESULTS = ROOT / "bench" / "results" / "checkout_load"
POSTGRESQL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

TARGET_MAX_API_CALLS = 4  # Get (review), Get (Place Order re-prices), Update, Complete
TARGET_PAGE_OVER_FLOOR = 0.5
NOISY_SPREAD = 1.15  # a median round more than 15% below the best: something else took the CPU
STEPS = ("catalog", "add", "cart", "amazon_button", "review", "place_order", "amazon_pay", "result", "checkout")
STEP_LABELS = {
    "catalog": "catalog page",
    "add": "add to cart (POST)",
    "cart": "cart page (signed button)",
    "amazon_button": "button click at Amazon (control)",
    "review": "review (Get Checkout Session)",
    "place_order": "Place Order (Get, Update)",
    "amazon_pay": "Amazon's redirect (control)",
    "result": "result (Complete)",
    "checkout": "whole checkout",
}
SERVER_ERROR = re.compile(r'" 5\d\d ')  # the status in gunicorn.conf.py's access log format


def die(message: str):
    print(f"bench: {message}", file=sys.stderr)
    raise SystemExit(2)


# -- page throughput: the same client for the floor and the shop's pages ----------------------------


def wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    found = re.search(r"wrk (\S+)", done.stdout + done.stderr)
    return found[1] if found else "?"


def throughput(url: str, seconds: float, connections: int, client: str, cookie: str | None = None) -> dict:
    """Requests per second of one GET, with ``connections`` at once, for ``seconds``."""
    if client == "wrk":
        return _wrk(url, seconds, connections, cookie)
    return _python_client(url, seconds, connections, cookie)


def _wrk(url: str, seconds: float, connections: int, cookie: str | None) -> dict:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    done = subprocess.run([*argv, url], capture_output=True, text=True, timeout=seconds + 30)
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if done.returncode or not rps:
        die(f"wrk failed on {url}: {done.stderr or out}")
    requests_done = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non_2xx[1]) if non_2xx else 0
    if sockets:  # connect, read, write, timeout
        errors += sum(int(count) for count in sockets.groups())
    return {"rps": float(rps[1]), "requests": int(requests_done[1]) if requests_done else 0, "errors": errors}


def _python_client(url: str, seconds: float, connections: int, cookie: str | None) -> dict:
    done, errors = Counter(), Counter()
    deadline = time.perf_counter() + seconds

    def hammer(slot: int) -> None:
        with requests.Session() as http:
            headers = {"Cookie": cookie} if cookie else {}
            while time.perf_counter() < deadline:
                try:
                    answer = http.get(url, headers=headers, timeout=10, allow_redirects=False)
                    (done if answer.status_code == 200 else errors)[slot] += 1
                except requests.RequestException:
                    errors[slot] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=hammer, args=(slot,)) for slot in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(done.values())
    return {"rps": total / elapsed, "requests": total, "errors": sum(errors.values())}


def measure_pages(targets: dict[str, tuple[str, str | None, Server]], args) -> dict[str, dict]:
    """Requests per second of the floor and each page, ``targets = {name: (url, cookie,
    server)}`` with the floor first: after a warm-up, ``--page-rounds`` rounds in which each
    target is measured once, in rotating order. A page's ratio to the floor is taken within each
    round (the two were measured seconds apart), and the median over the rounds is the one
    judged: another process taking the CPU for a while then moves one round, not the verdict.
    Each measurement also reads the CPU time the server (master and workers) used meanwhile:
    CPU per request says where the time goes, whatever else the machine was doing."""
    names = list(targets)
    for url, cookie, _ in targets.values():  # warm-up: every worker has served the page
        throughput(url, 1, args.connections, args.client, cookie)
    rounds: dict[str, list[dict]] = {name: [] for name in names}
    for round_number in range(args.page_rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            url, cookie, server = targets[name]
            before = server.cpu_seconds()
            measured = throughput(url, args.page_seconds, args.connections, args.client, cookie)
            after = server.cpu_seconds()
            if before is not None and after is not None and measured["requests"]:
                measured["cpu_us"] = (after - before) / measured["requests"] * 1e6
            rounds[name].append(measured)
    floor = [r["rps"] for r in rounds[names[0]]]
    pages = {}
    for name, measured in rounds.items():
        rps = [r["rps"] for r in measured]
        ratios = [page / under if under else 0.0 for page, under in zip(rps, floor, strict=True)]
        pages[name] = {
            "best_rps": round(max(rps), 1),
            "median_rps": round(statistics.median(rps), 1),
            "rounds_rps": [round(value, 1) for value in rps],
            "ratio": round(statistics.median(ratios), 3),
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "errors": sum(r["errors"] for r in measured),
        }
        cpu = [r["cpu_us"] for r in measured if "cpu_us" in r]
        if cpu:
            pages[name]["cpu_us_per_request"] = round(statistics.median(cpu))
    return pages


def cart_cookie(shop: str, simulator: str) -> str:
    """A browser's cookie with one item in its cart, read once (so the flash is gone and the
    page no longer changes the session: every request then renders the same cart)."""
    buyer = HttpBuyer(simulator)
    buyer.add(shop, buyer.catalog(shop))
    buyer.cart(shop)
    cookie = "; ".join(f"{name}={value}" for name, value in buyer.http.cookies.items())
    again = requests.get(f"{shop}/cart", headers={"Cookie": cookie}, timeout=10)
    if again.status_code != 200 or "amazon-pay-button-options" not in again.text:
        die(f"the cart page with a cart answered {again.status_code} without the button")
    buyer.close()
    return cookie


# -- checkouts --------------------------------------------------------------------------------------


def run_checkouts(shop: str, simulator: str, buyers: int, checkouts: int) -> dict:
    """``buyers`` threads take checkouts from one counter until ``checkouts`` are done; each
    checkout is a new browser."""
    tickets = itertools.count()
    timings: dict[str, list[float]] = defaultdict(list)
    references: list[str] = []
    errors: Counter[str] = Counter()
    errors_lock = threading.Lock()

    def buyer_thread() -> None:
        while next(tickets) < checkouts:  # next() on itertools.count is atomic in CPython
            buyer = HttpBuyer(simulator, timings)
            started = time.perf_counter()
            failure = None
            try:
                references.append(buyer.checkout([shop]))
                timings["checkout"].append(time.perf_counter() - started)
            except StepFailed as error:
                failure = f"{error.step}: {error.status} {error.detail}".strip()
            except Exception as error:  # the benchmark's own failure: count it, keep going
                failure = f"unexpected: {type(error).__name__}: {error}"[:160]
            finally:
                buyer.close()
            if failure:
                with errors_lock:
                    errors[failure] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=buyer_thread) for _ in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "seconds": time.perf_counter() - started,
        "timings": timings,
        "references": references,
        "errors": errors,
    }


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None}
    if len(values) == 1:
        return {"count": 1, "p50_ms": values[0] * 1000, "p99_ms": values[0] * 1000}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"count": len(values), "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def run_database(name: str, database_url: str | None, folder: Path, floor: Server, args) -> dict:
    """One database: a fresh simulator and shop, warm-up, the timed checkouts, the counts; then
    the pages, each round next to the floor (``floor``, running all along)."""
    instance = folder / "instance"
    folder.mkdir(parents=True)
    with Servers(folder) as servers:
        simulator = servers.simulator(prepare_instance(instance)).wait_until_up("/control")
        shop = servers.shop("shop", instance, simulator.url, args.workers, database_url).wait_until_up()
        print(f"  {name}: shop {shop.url} ({args.workers} workers), simulator {simulator.url}", flush=True)

        warm = run_checkouts(shop.url, simulator.url, args.buyers, args.buyers)
        requests.post(f"{simulator.url}/control/reset", timeout=10).raise_for_status()
        before = {order["reference"] for order in stored_orders(instance, database_url)}

        run = run_checkouts(shop.url, simulator.url, args.buyers, args.checkouts)
        api_calls = requests.get(f"{simulator.url}/control/faults", timeout=10).json()["requests"]
        counts = requests.get(f"{simulator.url}/control/counts", timeout=10).json()
        orders = [order for order in stored_orders(instance, database_url) if order["reference"] not in before]
        done = len(run["references"])
        print(f"  {name}: {done} of {args.checkouts} checkouts in {run['seconds']:.1f} s; pages…", flush=True)

        pages = measure_pages(
            {
                "floor": (floor.url, None, floor),
                "catalog": (f"{shop.url}/", None, shop),
                "cart": (f"{shop.url}/cart", cart_cookie(shop.url, simulator.url), shop),
            },
            args,
        )
        server_errors = _server_errors(shop) + _server_errors(simulator)
    return summarise(name, warm, run, api_calls, counts, orders, pages, server_errors)


def _server_errors(server: Server) -> int:
    text = server.log_path.read_text(errors="replace")
    return len(SERVER_ERROR.findall(text)) + text.count("Traceback")


def summarise(name, warm, run, api_calls, counts, orders, pages, server_errors) -> dict:
    references = run["references"]
    per_reference = counts["chargesPerMerchantReference"]
    charges = [per_reference.get(order["reference"], 0) for order in orders]
    errors = Counter(run["errors"])
    errors.update({f"warm-up {key}": value for key, value in warm["errors"].items()})
    if server_errors:
        errors["5xx or traceback in a server log"] += server_errors
    for page, measured in pages.items():
        if measured["errors"]:
            errors[f"{page} page: non-2xx or socket errors"] += measured["errors"]
    succeeded = len(references)
    return {
        "database": name,
        "checkouts": succeeded,
        "seconds": round(run["seconds"], 2),
        "checkouts_per_second": round(succeeded / run["seconds"], 2) if run["seconds"] else 0.0,
        "steps": {step: percentiles(run["timings"].get(step, [])) for step in STEPS},
        "api_calls": api_calls,
        "api_calls_per_checkout": round(sum(api_calls.values()) / succeeded, 3) if succeeded else None,
        "orders": len(orders),
        "orders_per_checkout_ok": sorted(order["reference"] for order in orders) == sorted(references),
        "charges_per_order": {
            "min": min(charges, default=0),
            "max": max(charges, default=0),
            "mean": round(sum(charges) / len(charges), 3) if charges else None,
        },
        "charges_total": counts["counts"].get("charges", 0),
        "statuses": dict(Counter(order["status"] for order in orders)),
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "pages": pages,
    }


# -- targets and the report -----------------------------------------------------------------------


def judge(leg: dict) -> dict[str, tuple[bool, str]]:
    charges = leg["charges_per_order"]
    one_charge = (
        leg["orders"] > 0
        and charges["min"] == charges["max"] == 1
        and leg["orders_per_checkout_ok"]
        and leg["charges_total"] == leg["orders"]
    )
    calls = leg["api_calls_per_checkout"]
    verdicts = {
        "0 errors": (leg["error_count"] == 0, str(leg["error_count"])),
        "exactly 1 charge per order": (
            one_charge,
            f"{charges['min']}..{charges['max']}; {leg['orders']} orders, {leg['charges_total']} charges",
        ),
        f"<= {TARGET_MAX_API_CALLS} API calls per checkout": (
            calls is not None and calls <= TARGET_MAX_API_CALLS,
            f"{calls:.2f}" if calls is not None else "n/a",
        ),
    }
    for page in ("catalog", "cart"):
        ratio = page_ratio(leg, page)
        verdicts[f"{page} >= {TARGET_PAGE_OVER_FLOOR} x floor"] = (ratio >= TARGET_PAGE_OVER_FLOOR, f"{ratio:.2f}")
    return verdicts


def page_ratio(leg: dict, page: str) -> float:
    """The page's requests per second over the floor's: the median of the rounds' ratios."""
    return leg["pages"][page]["ratio"]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def report(meta: dict, legs: list[dict], skipped: list[str]) -> tuple[str, bool]:
    lines = [
        f"# Checkout load, {meta['date']}",
        "",
        f"K={meta['buyers']} buyers, M={meta['checkouts']} checkouts, W={meta['workers']} gunicorn workers; "
        f"pages: {meta['client']}, {meta['connections']} connections, {meta['page_rounds']} rounds of "
        f"{meta['page_seconds']:g} s; {meta['cpus']} CPUs, Python {meta['python']}; load average before "
        f"{meta['load_average_before'][0]}, after {meta['load_average_after'][0]}. Client, shop, simulator and "
        "database share the machine.",
        "",
    ]
    for name in skipped:
        lines += [f"**{name}: SKIPPED** (no server at {meta['postgresql']})", ""]
    if not legs:
        return "\n".join(lines), False
    header = "| | " + " | ".join(leg["database"] for leg in legs) + " |"
    rule = "|---|" + "---|" * len(legs)

    def row(label: str, cells) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    lines += ["## Checkouts", "", header, rule]
    lines.append(row("checkouts per second", [f"**{leg['checkouts_per_second']:.1f}**" for leg in legs]))
    lines.append(row("checkouts completed", [f"{leg['checkouts']} in {leg['seconds']:.1f} s" for leg in legs]))
    lines.append(
        row(
            "Amazon API calls per checkout",
            [
                f"{leg['api_calls_per_checkout']:.2f} ("
                + ", ".join(f"{op} {count / max(leg['checkouts'], 1):.2f}" for op, count in leg["api_calls"].items())
                + ")"
                if leg["api_calls_per_checkout"] is not None
                else "n/a"
                for leg in legs
            ],
        )
    )
    lines.append(
        row(
            "charges per order",
            [
                f"{leg['charges_per_order']['min']}..{leg['charges_per_order']['max']} "
                f"({leg['orders']} orders, {leg['charges_total']} charges)"
                for leg in legs
            ],
        )
    )
    lines.append(row("errors", [str(leg["error_count"]) for leg in legs]))
    lines += ["", "## Latency per step (ms, p50 / p99)", "", header.replace("| |", "| step |", 1), rule]
    for step in STEPS:
        cells = [f"{_ms(leg['steps'][step]['p50_ms'])} / {_ms(leg['steps'][step]['p99_ms'])}" for leg in legs]
        lines.append(row(STEP_LABELS[step], cells))

    lines += [
        "",
        f"## Pages (requests per second: median round (best); of the floor: median of the rounds' ratios "
        f"(range); {meta['client']})",
        "",
        "| page | " + " | ".join(f"{leg['database']}: req/s | of the floor | server CPU µs/req" for leg in legs) + " |",
        "|---|" + "---|---|---|" * len(legs),
    ]
    for page, label in (("floor", 'bare Flask "ok" (the floor)'), ("catalog", "catalog"), ("cart", "cart")):
        cells = []
        for leg in legs:
            measured = leg["pages"][page]
            low, high = measured["ratio_range"]
            cells.append(f"{measured['median_rps']:.0f} ({measured['best_rps']:.0f})")
            cells.append(f"**{measured['ratio']:.2f}** ({low:.2f}–{high:.2f})" if page != "floor" else "1")
            cpu = measured.get("cpu_us_per_request")
            cells.append(f"{cpu:,}" if cpu is not None else "n/a")
        lines.append(row(label, cells))
    noisy = [
        f"{leg['database']} {page}"
        for leg in legs
        for page, measured in leg["pages"].items()
        if measured["median_rps"] < measured["best_rps"] / NOISY_SPREAD
    ]
    if meta["client"] != "wrk" and not meta["client"].startswith("wrk "):
        lines += [
            "",
            "note: without wrk the Python client is itself the bottleneck (near 1,000 req/s on 2 cores), "
            "so the pages look closer to the floor than they are; install wrk for the real ratio",
        ]
    if noisy:
        lines += [
            "",
            f"warning: noisy machine (median more than 15% below best: {', '.join(noisy)}); "
            "ratios less reliable, rerun when quiet",
        ]

    lines += ["", "## Targets", "", header.replace("| |", "| target |", 1), rule]
    all_met = True
    verdicts = [judge(leg) for leg in legs]
    for target in verdicts[0]:
        cells = []
        for verdict in verdicts:
            ok, value = verdict[target]
            all_met &= ok
            cells.append(f"{'PASS' if ok else '**FAIL**'} ({value})")
        lines.append(row(target, cells))
    for leg in legs:
        for error, count in sorted(leg["errors"].items()):
            lines.append(f"\n{leg['database']} error x{count}: {error}")
    if skipped:
        lines += ["", f"**PostgreSQL leg SKIPPED**: no server at {meta['postgresql']}; only SQLite was measured."]
    return "\n".join(lines), all_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_load", description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", "-k", type=int, default=8, help="concurrent buyers, K (default 8)")
    parser.add_argument("--checkouts", "-m", type=int, default=300, help="timed checkouts per database, M (300)")
    parser.add_argument("--workers", "-w", type=int, default=3, help="gunicorn workers, W (3, as gunicorn.conf.py)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite,postgresql (default both)")
    parser.add_argument("--postgresql", default=POSTGRESQL, help=f"server for the PostgreSQL leg ({POSTGRESQL})")
    parser.add_argument("--page-seconds", type=int, default=1, help="seconds per page measurement (1)")
    parser.add_argument("--page-rounds", type=int, default=7, help="rounds of floor, catalog, cart (7)")
    parser.add_argument("--connections", type=int, default=16, help="connections at once for the pages (16)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto", help="page client")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results, without suffix (.md, .json)")
    args = parser.parse_args(argv)
    if min(args.buyers, args.checkouts, args.workers, args.connections, args.page_rounds) < 1 or args.page_seconds < 1:
        parser.error("--buyers, --checkouts, --workers, --connections, --page-rounds and --page-seconds must be >= 1")
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    if not databases or set(databases) - {"sqlite", "postgresql"}:
        parser.error("--databases: sqlite, postgresql or both")
    version = wrk_version()
    if args.client == "auto":
        args.client = "wrk" if version else "python"
    if args.client == "wrk" and not version:
        die("--client wrk: wrk is not installed (apt-get install wrk)")
    client_label = f"wrk {version}" if args.client == "wrk" else "a thread pool of requests.Session"

    started = time.perf_counter()
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "buyers": args.buyers,
        "checkouts": args.checkouts,
        "workers": args.workers,
        "client": client_label,
        "connections": args.connections,
        "page_seconds": args.page_seconds,
        "page_rounds": args.page_rounds,
        "postgresql": args.postgresql.split("@")[-1],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }
    legs, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="bench-checkout-") as tmp:
        try:
            with Servers(Path(tmp)) as servers:
                floor = servers.wsgi("floor", "bench.floor_app:app", args.workers).wait_until_up()
                print(f"floor: bare Flask under gunicorn ({args.workers} workers) at {floor.url}", flush=True)
                for name in databases:
                    if name == "sqlite":
                        legs.append(run_database("SQLite", None, Path(tmp) / "sqlite", floor, args))
                    elif not postgresql_available(args.postgresql):
                        print(f"\n!!! PostgreSQL SKIPPED: no server at {meta['postgresql']} !!!\n", flush=True)
                        skipped.append("PostgreSQL")
                    else:
                        with postgresql_schema(args.postgresql) as url:
                            legs.append(run_database("PostgreSQL", url, Path(tmp) / "postgresql", floor, args))
        except ServerError as error:
            die(str(error))

    meta["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    text, all_met = report(meta, legs, skipped)
    meta["runtime_s"] = round(time.perf_counter() - started, 1)
    print("\n" + text + f"\n\n({meta['runtime_s']} s)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".md").write_text(text + "\n")
    args.output.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "databases": legs, "skipped": skipped}, indent=2) + "\n"
    )
    print(f"wrote {args.output.with_suffix('.md')} and .json")
    if not all_met:
        print("FAILED: a target was missed (see Targets)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
