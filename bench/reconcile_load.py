"""How long one reconcile pass takes over many open orders: linear in their number?

After an outage (Amazon not answering, workers killed, buyers who closed the tab) a shop may
hold thousands of orders that only ``flask amazon-pay reconcile`` will settle. This benchmark
makes ``n`` such orders, then times one ``reconcile.reconcile_pass()`` against the simulator
running as its own process (gunicorn, ``bench/simulator_app.py``), on SQLite and on
PostgreSQL, for several ``n``:

- a half **paid at Amazon, never completed** (the buyer closed the tab on the way back):
  ``awaiting_payment``; the pass asks Get Checkout Session (Open) and completes it;
- a quarter **completed, answer lost** (Complete Checkout Session applied, no answer):
  ``unconfirmed``; Get Checkout Session (Completed), Get Charge;
- a quarter **pending** (instrument 0701, Complete answered 202): ``pending`` with its
  charge; Get Charge (the simulator's clock is moved 31 s first, so Amazon has decided).

Every order ends ``paid``, with one charge each (checked). Amazon's side is made in the
simulator's process through its own ``Store`` methods (``/control/bench/...``: the objects a
real checkout makes, without one signed request each); the shop's rows are written in bulk,
column for column as ``orders.create``, ``orders.redirect_once`` and ``orders.record`` write
them. Only the pass is timed.

    .venv/bin/python -m bench.reconcile_load                          # defaults: a few minutes
    .venv/bin/python -m bench.reconcile_load --sizes 1000,2500,5000,10000 --databases postgresql

Results: stdout, and ``bench/results/reconcile_load.json`` (git-ignored); the shop's log lines
go to ``bench/results/reconcile_load.log``. PostgreSQL: ``--postgres-url``, else
TEST_DATABASE_URL, else ``postgresql://postgres@127.0.0.1:5432/test`` (a schema per run,
dropped afterwards); without a server that leg is SKIPPED, said loudly, exit status 3.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import secrets
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy as sa

from bench import simulator_app
from bench.servers import ROOT, Servers, postgresql_available, postgresql_schema, prepare_instance

RESULTS = ROOT / "bench" / "results"
DEFAULT_SIZES = (250, 500, 1000, 2500)
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CHUNK = 2000  # checkouts per request to the simulator, rows per INSERT
SHOP_URL = "http://shop.example"  # the shop's external URL in payloads (nothing is sent there)
#: The mix of open orders: (what happened, the instrument chosen at Amazon, share of n).
KINDS = (("closed the tab", "1111", 2), ("answer lost", "1111", 1), ("pending", "0701", 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="open orders per run, e.g. 1000,2500"
    )
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGRES)
    parser.add_argument(
        "--repeats", type=int, default=1, help="passes per size (fresh orders each); the least disturbed is kept"
    )
    args = parser.parse_args(argv)
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    databases = [name.strip() for name in args.databases.split(",")]
    if not sizes or min(sizes) < 4 or not set(databases) <= {"sqlite", "postgresql"} or args.repeats < 1:
        parser.error("sizes of 4 or more; databases: sqlite, postgresql; repeats: 1 or more")

    RESULTS.mkdir(parents=True, exist_ok=True)
    _log_to(RESULTS / "reconcile_load.log")
    rows, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="reconcile-load-") as folder, Servers(Path(folder)) as servers:
        instance = Path(folder) / "instance"
        simulator = simulator_app.start(servers, prepare_instance(instance)).wait_until_up("/control")
        os.environ.update(SHOP_INSTANCE_PATH=str(instance), AMAZON_PAY_SIMULATOR_URL=simulator.url)
        os.environ.pop("DATABASE_URL", None)
        for database in databases:
            if database == "postgresql" and not postgresql_available(args.postgres_url):
                skipped.append(f"PostgreSQL SKIPPED: no server answered at {args.postgres_url}")
                print(f"!!! {skipped[-1]} (set --postgres-url or TEST_DATABASE_URL) !!!", file=sys.stderr)
                continue
            for _ in range(args.repeats):
                for n in sizes:
                    row = run_once(database, n, simulator, Path(folder), args.postgres_url)
                    rows.append(row)
                    print(_line(row), flush=True)

    report = _report(rows, skipped)
    print(report)
    (RESULTS / "reconcile_load.json").write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "mix": [
                    {"orders": kind, "instrument": instrument, "share": share} for kind, instrument, share in KINDS
                ],
                "runs": rows,
                "skipped": skipped,
                "report": report,
            },
            indent=2,
        )
    )
    return 3 if skipped else 0


# -- one run: n open orders, one pass ------------------------------------------------------------


def run_once(database: str, n: int, simulator, folder: Path, postgres_url: str) -> dict:
    """Make ``n`` open orders on a fresh database and a fresh simulator state; time one pass
    (wall time, and the CPU time of this process and of the simulator's worker)."""
    import shop
    from shop.lifecycle import db, reconcile

    simulator_url = simulator.url
    [simulator_worker] = _children(simulator.process.pid)
    _control(simulator_url, "POST", "reset")
    with ExitStack() as stack:
        if database == "postgresql":
            where = {"DATABASE_URL": stack.enter_context(postgresql_schema(postgres_url))}
        else:
            where = {"DATABASE": str(folder / f"orders-{n}-{secrets.token_hex(3)}.sqlite")}
        app = shop.create_app(where)
        with app.app_context():
            made = time.perf_counter()
            planned = make_open_orders(app, n, simulator_url)
            made = time.perf_counter() - made
            _control(simulator_url, "POST", "clock", {"advanceSeconds": 31})  # pending ones decided
            _control(simulator_url, "POST", "faults", {"rules": []})  # request counters from zero

            started, cpu, amazon_cpu = time.perf_counter(), time.process_time(), _cpu_seconds(simulator_worker)
            outcome = reconcile.reconcile_pass()
            seconds = time.perf_counter() - started
            cpu, amazon_cpu = time.process_time() - cpu, _cpu_seconds(simulator_worker) - amazon_cpu

            calls = _control(simulator_url, "GET", "faults")["requests"]
            counts = _control(simulator_url, "GET", "counts")
            with db.read() as connection:
                states = dict(connection.execute(sa.text("SELECT status, COUNT(*) FROM orders GROUP BY status")).all())
            db.db.engine.dispose()

    per_reference = counts["chargesPerMerchantReference"]
    assert outcome.seen == n and dict(outcome.settled) == {"paid": n}, (outcome, planned)
    assert states == {"paid": n}, states
    assert len(per_reference) == n and set(per_reference.values()) == {1}, "one charge per order"
    return {
        "database": database,
        "orders": n,
        "seconds": round(seconds, 3),
        "orders_per_second": round(n / seconds, 1),
        "ms_per_order": round(1000 * seconds / n, 3),
        "seconds_per_1000": round(1000 * seconds / n, 3),
        "shop_cpu_seconds": round(cpu, 3),
        "simulator_cpu_seconds": round(amazon_cpu, 3),
        "cpu_seconds_per_1000": round(1000 * (cpu + amazon_cpu) / n, 3),
        "api_calls": sum(calls.values()),
        "api_calls_per_order": round(sum(calls.values()) / n, 3),
        "api_calls_per_operation": calls,
        "open_orders": planned,
        "seconds_to_make_them": round(made, 1),
    }


def make_open_orders(app, n: int, simulator_url: str) -> dict[str, int]:
    """Amazon's side first (sessions, buyers), then the shop's orders and Amazon's checkouts
    that carry their references, as a real checkout orders these steps."""
    from shop.web import button, checkout

    kinds = [kind for kind, _, share in KINDS for _ in range(share)]
    plan = [kinds[i % len(kinds)] for i in range(n)]
    instrument = {kind: chosen for kind, chosen, _ in KINDS}
    with app.test_request_context(base_url=SHOP_URL):
        payload = json.loads(button.checkout_session_payload("us", "PayAndShip"))
        result_url = f"{SHOP_URL}/checkout/result"
    update = {
        "webCheckoutDetails": {"checkoutResultReturnUrl": result_url},
        "paymentDetails": {
            "paymentIntent": app.config["AMAZON_PAY_PAYMENT_INTENT"],
            "canHandlePendingAuthorization": app.config["AMAZON_PAY_CAN_HANDLE_PENDING_AUTHORIZATION"],
        },
        "merchantMetadata": {"merchantStoreName": checkout.STORE_NAME},
    }
    sessions: dict[str, list[str]] = {}
    for kind, chosen, _ in KINDS:
        count = plan.count(kind)
        ids: list[str] = []
        while len(ids) < count:
            body = {"payload": payload, "count": min(CHUNK, count - len(ids)), "instrument": chosen}
            ids += _control(simulator_url, "POST", "bench/sessions", body)["checkoutSessionIds"]
        sessions[kind] = ids
    items, totals = _one_trail_mug()
    references = _references(n)
    orders_planned = []
    for kind in plan:
        orders_planned.append((kind, sessions[kind].pop(), references.pop()))
    for start in range(0, n, CHUNK):
        chunk = orders_planned[start : start + CHUNK]
        body = {
            "update": update,
            "checkouts": [
                {
                    "checkoutSessionId": session_id,
                    "merchantReferenceId": reference,
                    "amount": str(totals.total),
                    "currencyCode": totals.currency,
                    "stage": "approved" if kind == "closed the tab" else "completed",
                    "noteToBuyer": f"Your order {reference} at {checkout.STORE_NAME}",
                }
                for kind, session_id, reference in chunk
            ],
        }
        amazon = _control(simulator_url, "POST", "bench/checkouts", body)["checkouts"]
        _write_orders(chunk, amazon, items, totals, instrument)
    return dict(Counter(plan))


def _one_trail_mug():
    """What one buyer orders: a trail mug, shipped to the simulator's test buyer (Seattle, WA:
    shipping and sales tax as the shop computes them)."""
    from shop import catalog, shipping
    from shop.cart import Line
    from shop.lifecycle import orders
    from simulator.buyers import ADDRESSES

    mug = catalog.PRODUCTS["trail-mug"]
    lines = [Line(mug, 1, mug.price("USD"))]
    _, totals = shipping.order_amounts("us", "USD", ADDRESSES["us-home"], lines)
    return orders.items_from_cart(lines), totals


def _references(n: int) -> list[str]:
    """``n`` distinct order references, drawn as ``orders.create`` draws one."""
    drawn: set[str] = set()
    while len(drawn) < n:
        drawn.add("ORD-" + secrets.token_hex(4).upper())
    return list(drawn)


def _write_orders(chunk, amazon: list[dict], items, totals, instrument) -> None:
    """The shop's rows for these orders, as its own code leaves them: ``orders.create`` (the
    order, "Order placed"), ``orders.redirect_once`` (Amazon's redirect URL, "Update Checkout
    Session") and, for a Complete whose answer was lost or a 202, ``orders.record``."""
    from shop.lifecycle import db, orders

    at = db.now()
    rows, events = [], []
    for (kind, session_id, reference), made in zip(chunk, amazon, strict=True):
        assert made["checkoutSessionId"] == session_id, made
        status, detail, fields = "awaiting_payment", None, {"charge_id": None, "charge_permission_id": None}
        if kind == "answer lost":
            status, detail = "unconfirmed", "Complete Checkout Session: no answer (RequestTimeout)"
        elif kind == "pending":
            assert made["chargeState"] == "AuthorizationInitiated" and instrument[kind] == "0701", made
            status, detail = "pending", "Complete Checkout Session: 202, authorization pending"
            fields = {"charge_id": made["chargeId"], "charge_permission_id": made["chargePermissionId"]}
        rows.append(
            {
                "reference": reference,
                "payment_request": f"checkout:{session_id}",
                "checkout_session_id": session_id,
                "owner": secrets.token_urlsafe(16),
                "status": status,
                "currency": totals.currency,
                "subtotal": totals.subtotal,
                "shipping": totals.shipping,
                "tax": totals.tax,
                "total": totals.total,
                "items": items,
                "buyer_email": "jane.doe@example.com",
                "failure_reason": None,
                "redirect_url": made["amazonPayRedirectUrl"],
                "lease_until": None,
                "created_at": at,
                "updated_at": at,
                **fields,
            }
        )
        history = [
            ("awaiting_payment", f"Order placed; total {totals.total} {totals.currency}"),
            ("awaiting_payment", "Update Checkout Session: buyer sent to Amazon Pay"),
        ]
        events.append(history + ([(status, detail)] if detail else []))
    with db.write() as connection:
        connection.execute(sa.insert(orders.orders_table), rows)
        ids = dict(
            connection.execute(
                sa.select(orders.orders_table.c.reference, orders.orders_table.c.id).where(
                    orders.orders_table.c.reference.in_([row["reference"] for row in rows])
                )
            ).all()
        )
        connection.execute(
            sa.insert(orders.events_table),
            [
                {"order_id": ids[row["reference"]], "at": at, "status": status, "detail": detail}
                for row, history in zip(rows, events, strict=True)
                for status, detail in history
            ],
        )


# -- plumbing ------------------------------------------------------------------------------------


def _control(simulator_url: str, method: str, path: str, body: dict | None = None) -> dict:
    answer = requests.request(method, f"{simulator_url}/control/{path}", json=body, timeout=120)
    if answer.status_code != 200:
        raise RuntimeError(f"{method} /control/{path}: {answer.status_code} {answer.text[:300]}")
    return answer.json()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _log_to(path: Path) -> None:
    """The shop logs a line per API call and per pass: to a file, as a server would, not to
    the terminal (``create_app``'s ``basicConfig`` then adds nothing)."""
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _line(row: dict) -> str:
    return (
        f"{row['database']:<10} {row['orders']:>7,} open orders: {row['seconds']:8.2f} s "
        f"{row['orders_per_second']:7.1f} orders/s  {row['api_calls_per_order']:.2f} API calls/order  "
        f"CPU {row['shop_cpu_seconds']:.1f} s shop + {row['simulator_cpu_seconds']:.1f} s simulator"
    )


def _report(rows: list[dict], skipped: list[str]) -> str:
    """The table (per database and size, the least disturbed pass: the shortest), and per
    database how far from linear: seconds per 1,000 orders at the largest n over the smallest
    (1.00 = linear) and the exponent k of a least-squares fit seconds ~ n^k, on wall time and
    on CPU time (the shop's process and the simulator's, which other programs on a shared
    machine inflate far less), and the shop's CPU per order in the simulator's (``_yardstick``),
    which they hardly touch at all."""
    best: dict[tuple[str, int], dict] = {}
    for row in rows:
        key = (row["database"], row["orders"])
        if key not in best or row["seconds"] < best[key]["seconds"]:
            best[key] = row
    kept = [best[key] for key in sorted(best, key=lambda key: (key[0] != "sqlite", key[1]))]
    lines = [
        "",
        "| database | open orders | seconds | orders/s | API calls / order | s per 1,000 orders "
        "| CPU s per 1,000 orders | shop CPU / simulator CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in kept:
        lines.append(
            f"| {row['database']} | {row['orders']:,} | {row['seconds']:.2f} | {row['orders_per_second']:,.0f} | "
            f"{row['api_calls_per_order']:.2f} | {row['seconds_per_1000']:.2f} | {row['cpu_seconds_per_1000']:.2f} | "
            f"{_yardstick(row):.2f} |"
        )
    lines.append("")
    for database in dict.fromkeys(row["database"] for row in kept):
        mine = [row for row in kept if row["database"] == database]
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        wall = large["seconds_per_1000"] / small["seconds_per_1000"]
        cpu = large["cpu_seconds_per_1000"] / small["cpu_seconds_per_1000"]
        lines.append(
            f"{database}: s per 1,000 orders {small['seconds_per_1000']:.2f} at {small['orders']:,}, "
            f"{large['seconds_per_1000']:.2f} at {large['orders']:,}: ratio {wall:.2f} (1.00 = linear), "
            f"fit seconds ~ n^{_exponent(mine, 'seconds'):.2f}; CPU ratio {cpu:.2f}, "
            f"fit CPU ~ n^{_exponent(mine, 'cpu'):.2f}; shop CPU / simulator CPU ratio "
            f"{_yardstick(large) / _yardstick(small):.2f}"
        )
    lines += [f"!!! {line} !!!" for line in skipped]
    return "\n".join(lines)


def _yardstick(row: dict) -> float:
    """The shop's CPU time per order measured in the simulator's: the simulator does the same
    work for every API call (1.75 per order here) whatever the database holds, so its CPU per
    order is a yardstick of how fast the machine ran just then. Flat across sizes = the shop's
    cost per order does not grow with their number, whatever else the machine was doing."""
    return row["shop_cpu_seconds"] / row["simulator_cpu_seconds"]


def _exponent(rows: list[dict], what: str) -> float:
    """k of the least-squares line log(y) = k log(n) + c."""
    xs = [math.log(row["orders"]) for row in rows]
    if what == "cpu":
        ys = [math.log(row["shop_cpu_seconds"] + row["simulator_cpu_seconds"]) for row in rows]
    else:
        ys = [math.log(row["seconds"]) for row in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


if __name__ == "__main__":
    sys.exit(main())
