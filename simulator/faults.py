"""Fault injection: make the simulated Amazon Pay API fail the way networks and services do.

A test configures rules with ``POST /control/faults`` (control.py); the API dispatcher
(api.py) asks :meth:`Faults.draw` once per request to a known ``/v2/…`` operation, before
anything else happens, and acts out the kind it gets:

- ``5xx``: ``503 ServiceUnavailable``, nothing applied;
- ``429``: ``429 TooManyRequests`` with ``Retry-After: 1``, nothing applied;
- ``slow``: the operation is applied, the answer sent ``slowSeconds`` later;
- ``reset``: the connection is dropped before anything is applied;
- ``lost``: the operation is applied (its idempotent answer stored), then the connection is
  dropped, so the caller never sees the answer and must retry with the same idempotency key.

Control endpoints and hosted pages never fail. The rules, the seeded random generator and
the counters live on the Store (a fresh Store has no faults) behind their own lock.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, invalid_parameter, missing_parameter, unrecognized_field

KINDS = ("5xx", "429", "slow", "reset", "lost")
ANY_OPERATION = "*"
DEFAULT_SLOW_SECONDS = 1.5
MAX_SLOW_SECONDS = 60
MAX_RULES = 32
#: Captured at import: a test that patches ``time.sleep`` (to skip Retry-After) keeps slow answers slow.
_sleep = time.sleep


@dataclass
class Rule:
    operation: str  # an operation name (api.ROUTES) or "*"
    kind: str  # one of KINDS
    rate: float  # chance to fire on a matching request, drawn from the seeded generator
    times: int | None  # fire at most this many times; None: no limit
    injected: int = 0

    def matches(self, operation: str) -> bool:
        return self.operation in (operation, ANY_OPERATION) and (self.times is None or self.injected < self.times)

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "kind": self.kind,
            "rate": self.rate,
            "times": self.times,
            "injected": self.injected,
        }


class Faults:
    """The fault rules of one simulator state, and what they did. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[Rule] = []
        self.seed: int = 0
        self.random = random.Random(0)
        self.slow_seconds = DEFAULT_SLOW_SECONDS
        self.injected: dict[str, Counter[str]] = {}
        self.requests: Counter[str] = Counter()

    def configure(self, rules: list[Rule], seed: int, slow_seconds: float) -> None:
        """Replace the rules; the generator restarts from ``seed`` and the counters from zero."""
        with self.lock:
            self.rules, self.seed, self.slow_seconds = rules, seed, slow_seconds
            self.random = random.Random(seed)
            self.injected, self.requests = {}, Counter()

    def clear(self) -> None:
        """Stop injecting; the counters stay readable until the next ``configure``."""
        with self.lock:
            self.rules = []

    def draw(self, operation: str) -> str | None:
        """The fault to act out on this request to ``operation``, if any (the first rule that fires)."""
        with self.lock:
            self.requests[operation] += 1
            for rule in self.rules:
                if not rule.matches(operation):
                    continue
                if rule.rate >= 1 or self.random.random() < rule.rate:
                    rule.injected += 1
                    self.injected.setdefault(operation, Counter())[rule.kind] += 1
                    return rule.kind
            return None

    def wait(self) -> None:
        _sleep(self.slow_seconds)

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            totals: Counter[str] = Counter()
            for counter in self.injected.values():
                totals.update(counter)
            return {
                "seed": self.seed,
                "slowSeconds": self.slow_seconds,
                "rules": [rule.to_json() for rule in self.rules],
                "injected": {operation: dict(counter) for operation, counter in sorted(self.injected.items())},
                "injectedPerKind": {kind: totals[kind] for kind in KINDS if totals[kind]},
                "requests": dict(sorted(self.requests.items())),
            }


def error(kind: str) -> ApiError:
    """The answer of a ``5xx`` or ``429`` fault (Amazon's codes for these statuses)."""
    if kind == "429":
        return ApiError(429, "TooManyRequests", "The request was throttled (simulated fault). Retry after 1 second.")
    return ApiError(503, "ServiceUnavailable", "The service is temporarily unavailable (simulated fault).")


def parse_config(body: dict[str, Any], operations: set[str]) -> tuple[list[Rule], int, float]:
    """``{"seed"?, "rules": [{"operation", "kind", "rate"?, "times"?}], "slowSeconds"?}``, checked."""
    for name in body:
        if name not in ("seed", "rules", "slowSeconds"):
            raise unrecognized_field(name)
    seed = body.get("seed")
    if seed is None:
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise invalid_parameter("seed", "An integer.")
    slow = body.get("slowSeconds")
    if slow is None:
        slow = DEFAULT_SLOW_SECONDS
    if isinstance(slow, bool) or not isinstance(slow, int | float) or not 0 <= slow <= MAX_SLOW_SECONDS:
        raise invalid_parameter("slowSeconds", f"A number of seconds from 0 to {MAX_SLOW_SECONDS}.")
    raw_rules = body.get("rules")
    if raw_rules is None:
        raise missing_parameter("rules")
    if not isinstance(raw_rules, list) or len(raw_rules) > MAX_RULES:
        raise invalid_parameter("rules", f"A list of at most {MAX_RULES} rules.")
    return [_rule(raw, f"rules[{index}]", operations) for index, raw in enumerate(raw_rules)], seed, float(slow)


def _rule(raw: Any, where: str, operations: set[str]) -> Rule:
    if not isinstance(raw, dict):
        raise invalid_parameter(where, "Each rule is an object.")
    for name in raw:
        if name not in ("operation", "kind", "rate", "times"):
            raise unrecognized_field(f"{where}.{name}")
    operation, kind = raw.get("operation"), raw.get("kind")
    if operation is None:
        raise missing_parameter(f"{where}.operation")
    if operation != ANY_OPERATION and operation not in operations:
        raise invalid_parameter(f"{where}.operation", f"Use * or an operation name such as {min(operations)}.")
    if kind is None:
        raise missing_parameter(f"{where}.kind")
    if kind not in KINDS:
        raise invalid_parameter(f"{where}.kind", f"Use one of {', '.join(KINDS)}.")
    rate = raw.get("rate")
    if rate is None:
        rate = 1.0
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise invalid_parameter(f"{where}.rate", "A number from 0 to 1.")
    times = raw.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 1_000_000):
        raise invalid_parameter(f"{where}.times", "null (no limit) or a whole number from 1.")
    return Rule(operation, kind, float(rate), times)
