"""Instant Payment Notifications: the simulator tells the merchant's IPN URL, through an Amazon
SNS HTTP notification, whenever a Charge, a Refund or a Charge Permission changes state, as
Amazon does (https://developer.amazon.com/docs/amazon-pay-checkout/setting-up-instant-payment-notifications.html;
the envelope and its signature in ``sns.py``). The message names the object and carries no
state: the receiver must GET it.

How changes are found, in one place: the store's lock calls :meth:`Notifications.collect` when
its outermost holder lets go (``Store._settled``), and every Charge Permission, Charge and Refund
whose ``(state, reason)`` differs from the last one seen becomes an event, whatever changed it:
an API call, a hosted page, a test control, a read that applied a due transition, or time.
Changes "by time" (pending authorizations and refunds 30 s later, ``ExpiredUnused`` after 30
days) need nobody to read the object: a ticker thread evaluates every due transition
(``Store.refresh_timed``) under the lock every 0.5 s of real time, and at once after
``POST /control/clock``.

Delivery never holds up an API answer: the ticker turns events into signed SNS messages and a
sender thread POSTs them (5 s timeout). A non-2xx answer is retried 3 times, 1, 2 and 4 s later
by the simulator's clock (tests advance it instead of sleeping); an endpoint that cannot be
reached is not retried (Amazon's IPN guide: "If your server can't be reached when the IPN is
sent ... there will be no retries",
https://amazonpaylegacyintegrationguide.s3.amazonaws.com/docs/amazon-pay-onetime/ipn-response.html).
Test controls (``/control/ipn…``) set the URL per environment, read the delivery log, inject
faults (duplicate, delay, reorder, drop, forged messages), send one IPN on demand and a
``SubscriptionConfirmation``. Documented in docs/simulator.md, "Instant Payment Notifications".
"""

from __future__ import annotations

import base64
import heapq
import http.client
import itertools
import json
import logging
import os
import queue
import re
import secrets
import threading
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit
from xml.sax.saxutils import escape

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from . import sns
from .errors import ApiError, invalid_parameter, missing_parameter, unrecognized_field
from .schema import parse_body, text_field

if TYPE_CHECKING:
    from .operations import Store

log = logging.getLogger(__name__)

ENVIRONMENTS = ("Sandbox", "Live")
OBJECT_TYPES = ("CHARGE_PERMISSION", "CHARGE", "REFUND", "CHARGEBACK")  # as Amazon's IPN schema lists them
#: The merchant whose objects these are: the simulator knows no merchant per key, so one, configured.
#: The default is the shop's demo merchant id (shop/config.py).
DEFAULT_MERCHANT_ID = "A1SIMULATORMERCHANT"
DEFAULT_RETRY_DELAYS = (1.0, 2.0, 4.0)  # seconds of the simulator's clock
DEFAULT_TICK_SECONDS = 0.5
DEFAULT_TIMEOUT_SECONDS = 5.0
REORDER_MAX_HOLD = timedelta(seconds=30)  # a held message goes out by then even if no other came
LOG_SIZE = 1000
MAX_FAULT_RULES = 32
MAX_URL_LENGTH = 2048
FAULT_KINDS = ("duplicate", "delay", "reorder", "drop", "forge")
FORGERIES = ("bad-signature", "foreign-cert-host", "http-cert-url", "signature-version-1", "wrong-topic")
FOREIGN_CERT_URL = "https://evil.example/cert.pem"
WRONG_TOPIC_MERCHANT = "A2OTHERMERCHANT0"
HEADERS = {
    "Content-Type": "text/plain; charset=UTF-8",
    "User-Agent": "Amazon Simple Notification Service Agent",
}
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


# -- what changed: events, found in one place ------------------------------------------------


@dataclass(frozen=True)
class Event:
    object_type: str
    object_id: str
    charge_permission_id: str | None
    environment: str
    state: str | None  # what the simulator knows changed (for the log; the IPN itself carries no state)


@dataclass
class Delivery:
    """One SNS message, posted once or more (retries, a duplicate) with the same body."""

    kind: str  # Notification | SubscriptionConfirmation
    environment: str
    url: str
    envelope: dict[str, str]
    info: dict[str, Any]  # objectType, objectId, notificationId, state (for the log)
    fault: str | None = None  # the fault rule applied, e.g. "duplicate", "forge:bad-signature"
    attempts: int = 0
    released: bool = False  # a held (reorder) message that has gone out

    @property
    def body(self) -> bytes:
        return sns.body(self.envelope)

    @property
    def headers(self) -> dict[str, str]:
        headers = dict(HEADERS)
        headers["x-amz-sns-message-type"] = self.kind
        headers["x-amz-sns-message-id"] = self.envelope["MessageId"]
        headers["x-amz-sns-topic-arn"] = self.envelope["TopicArn"]
        if self.kind == "Notification":
            headers["x-amz-sns-subscription-arn"] = self.info["subscriptionArn"]
        return headers


@dataclass
class FaultRule:
    kind: str
    times: int
    seconds: float = 0.0  # delay
    variant: str | None = None  # forge
    object_type: str | None = None  # only notifications about this type
    applied: int = 0

    def matches(self, object_type: str | None) -> bool:
        return self.applied < self.times and (self.object_type is None or self.object_type == object_type)

    def label(self) -> str:
        return f"forge:{self.variant}" if self.kind == "forge" else self.kind

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "times": self.times,
            "seconds": self.seconds if self.kind == "delay" else None,
            "variant": self.variant,
            "objectType": self.object_type,
            "applied": self.applied,
        }


class Notifications:
    """The IPN side of one simulator state (``Store.ipn``): what was seen and sent, the settings
    and faults a test set. A fresh Store (``POST /control/reset``) starts with none of it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[tuple[str, str], tuple[Any, ...]] = {}  # guarded by the store's lock
        self.events: deque[Event] = deque(maxlen=10_000)
        self.urls: dict[str, str | None] = {}  # per environment, set by PUT /control/ipn
        self.versions: dict[str, str] = {}
        self.rules: list[FaultRule] = []
        self.scheduled: list[tuple[datetime, int, Delivery]] = []  # a heap, by the simulator's clock
        self.held: tuple[datetime, Delivery] | None = None  # reorder
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.subscription_ids: dict[str, str] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}  # by Token
        self.unsubscribed: list[dict[str, Any]] = []
        self.wake: Callable[[], None] = lambda: None
        self.owner: object | None = None  # the IpnService that delivers for this state
        self._order = itertools.count()

    # Called by the store's lock (Store._settled), so under it.
    def collect(self, store: Store) -> None:
        found = []
        for cp in store.charge_permissions.values():
            found += self._changed("CHARGE_PERMISSION", cp.id, cp.id, cp.env, cp.state, tuple(cp.reasons))
        for charge in store.charges.values():
            cp_id = charge.charge_permission_id
            found += self._changed("CHARGE", charge.id, cp_id, charge.env, charge.state, charge.reason)
        for refund in store.refunds.values():
            charge = store.charges.get(refund.charge_id)
            cp_id = charge.charge_permission_id if charge else None
            found += self._changed("REFUND", refund.id, cp_id, refund.env, refund.state, refund.reason)
        if found:
            self.events.extend(found)
            self.wake()

    def _changed(self, object_type, object_id, cp_id, env, state, reason) -> list[Event]:
        key, now = (object_type, object_id), (state, reason)
        if self.seen.get(key) == now:
            return []
        self.seen[key] = now
        reasons = [reason] if isinstance(reason, str) else list(reason or ())
        shown = f"{state} ({', '.join(reasons)})" if reasons else state
        return [Event(object_type, object_id, cp_id, env, shown)]

    def take_events(self) -> list[Event]:
        taken = []
        while self.events:
            taken.append(self.events.popleft())
        return taken

    def schedule(self, due: datetime, delivery: Delivery) -> None:
        with self.lock:
            heapq.heappush(self.scheduled, (due, next(self._order), delivery))

    def due(self, now: datetime) -> list[Delivery]:
        with self.lock:
            ready = []
            while self.scheduled and self.scheduled[0][0] <= now:
                ready.append(heapq.heappop(self.scheduled)[2])
            if self.held is not None and now - self.held[0] >= REORDER_MAX_HOLD:
                self.held[1].released = True
                ready.append(self.held[1])
                self.held = None
            return ready

    def hold(self, now: datetime, delivery: Delivery) -> Delivery | None:
        """Hold ``delivery`` back until the next one has gone out; one held at a time (an earlier one
        is returned, to go out now)."""
        with self.lock:
            earlier, self.held = self.held, (now, delivery)
            return earlier[1] if earlier else None

    def release_held(self) -> Delivery | None:
        with self.lock:
            held, self.held = self.held, None
            return held[1] if held else None

    def next_fault(self, object_type: str | None) -> FaultRule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(object_type):
                    rule.applied += 1
                    return rule
            return None

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.log.append(entry)

    def subscription_arn(self, environment: str, topic: str) -> str:
        with self.lock:
            sub_id = self.subscription_ids.setdefault(environment, str(uuid.uuid4()))
        return f"{topic}:{sub_id}"


class SettlingLock:
    """The store's lock: re-entrant, and when its outermost holder is about to let go (every change
    made under it complete), it calls ``settled(lock)``."""

    def __init__(self, settled: Callable[[SettlingLock], None]):
        self._lock = threading.RLock()
        self._depth = 0
        self._settled = settled

    def __enter__(self) -> SettlingLock:
        self._lock.acquire()
        self._depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._depth == 1:
                self._settled(self)
        finally:
            self._depth -= 1
            self._lock.release()


# -- delivering: the service of one simulator app ----------------------------------------------


class IpnService:
    def __init__(self, app: Flask):
        self.app = app
        self.certificate = sns.SigningCertificate()
        self.outbound: queue.Queue[tuple[Notifications, Delivery]] = queue.Queue()
        self.wake = threading.Event()
        self.origin: str | None = None  # the simulator's own origin, for SigningCertURL etc.
        self._tick_lock = threading.RLock()
        self._start_lock = threading.Lock()
        self._started = False

    # -- settings

    @property
    def merchant_id(self) -> str:
        return self.app.config["SIMULATOR_MERCHANT_ID"]

    @property
    def topic(self) -> str:
        return sns.topic_arn(self.merchant_id)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return tuple(self.app.config["SIMULATOR_IPN_RETRY_DELAYS"])

    def base_url(self) -> str:
        return (self.app.config.get("SIMULATOR_PUBLIC_URL") or self.origin or "http://127.0.0.1:5001").rstrip("/")

    def setting(self, notes: Notifications, env: str) -> tuple[str | None, str, str]:
        """The IPN URL of ``env`` (None: nobody listens), its signature version, and where it came from."""
        with notes.lock:
            if env in notes.urls:
                return notes.urls[env], notes.versions.get(env, "2"), "control"
            return self.app.config.get("SIMULATOR_IPN_URL") or None, notes.versions.get(env, "2"), "setting"

    # -- threads

    def current(self) -> tuple[Store, Notifications]:
        store = self.app.extensions["amazon_pay_simulator"]
        notes = store.ipn
        if notes.owner is not self:
            notes.owner, notes.wake = self, self.wake.set
        return store, notes

    def start(self) -> None:
        if self._started:
            return
        with self._start_lock:
            if self._started:
                return
            self._started = True
        ref = weakref.ref(self)
        tick = float(self.app.config["SIMULATOR_IPN_TICK_SECONDS"])
        threading.Thread(target=_ticker, args=(ref, self.wake, tick), name="ipn-ticker", daemon=True).start()
        threading.Thread(target=_sender, args=(ref, self.outbound), name="ipn-sender", daemon=True).start()

    def before_request(self) -> None:
        if request.blueprint in ("amazon_pay_api", "simulator_control", "simulator_ipn"):
            self.origin = request.host_url.rstrip("/")
        self.start()
        self.current()

    def tick(self) -> None:
        """Apply due timed transitions, turn new events into messages, queue what is due."""
        with self._tick_lock:
            store, notes = self.current()
            with store.lock:
                store.refresh_timed()
            for event in notes.take_events():
                self.publish(store, notes, event)
            for delivery in notes.due(store.clock.now()):
                self.outbound.put((notes, delivery))

    # -- messages

    def publish(self, store: Store, notes: Notifications, event: Event) -> Delivery | None:
        url, version, _source = self.setting(notes, event.environment)
        if not url:
            return None  # no endpoint configured for this environment: Amazon sends nothing
        message = {
            "MerchantID": self.merchant_id,
            "ObjectType": event.object_type,
            "ObjectId": event.object_id,
            "ChargePermissionId": event.charge_permission_id,
            "NotificationType": "STATE_CHANGE",
            "NotificationId": secrets.token_hex(16),
            "NotificationVersion": "V2",
        }
        base = self.base_url()
        subscription = notes.subscription_arn(event.environment, self.topic)
        envelope = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": self.topic,
            "Message": _compact(message),
            "Timestamp": sns.timestamp(store.clock.request_time()),
            "SignatureVersion": version,
            "Signature": "",
            "SigningCertURL": base + sns.CERT_PATH,
            "UnsubscribeURL": f"{base}/sns/unsubscribe?"
            + urlencode({"Action": "Unsubscribe", "SubscriptionArn": subscription}),
        }
        info = {
            "objectType": event.object_type,
            "objectId": event.object_id,
            "notificationId": message["NotificationId"],
            "state": event.state,
            "subscriptionArn": subscription,
        }
        delivery = Delivery("Notification", event.environment, url, envelope, info)
        self.dispatch(store, notes, delivery, event.object_type)
        return delivery

    def confirmation(self, store: Store, notes: Notifications, env: str, url: str, version: str) -> Delivery:
        token = secrets.token_hex(64)
        base = self.base_url()
        query = urlencode({"Action": "ConfirmSubscription", "TopicArn": self.topic, "Token": token}, quote_via=quote)
        envelope = {
            "Type": "SubscriptionConfirmation",
            "MessageId": str(uuid.uuid4()),
            "Token": token,
            "TopicArn": self.topic,
            "Message": f"You have chosen to subscribe to the topic {self.topic}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message.",
            "SubscribeURL": f"{base}/sns/confirm-subscription?{query}",
            "Timestamp": sns.timestamp(store.clock.request_time()),
            "SignatureVersion": version,
            "Signature": "",
            "SigningCertURL": base + sns.CERT_PATH,
        }
        with notes.lock:
            notes.subscriptions[token] = {
                "environment": env,
                "url": url,
                "token": token,
                "messageId": envelope["MessageId"],
                "subscriptionArn": None,
                "confirmedAt": None,
            }
        info = {"objectType": None, "objectId": None, "notificationId": None, "state": None}
        delivery = Delivery("SubscriptionConfirmation", env, url, envelope, info)
        self.dispatch(store, notes, delivery, None)
        return delivery

    def dispatch(self, store: Store, notes: Notifications, delivery: Delivery, object_type: str | None) -> None:
        """Sign, apply the next fault rule, and schedule (or hold, or drop)."""
        now = store.clock.now()
        rule = notes.next_fault(object_type)
        delivery.fault = rule.label() if rule else None
        self._sign(delivery, rule.variant if rule and rule.kind == "forge" else None)
        if rule is None or rule.kind in ("duplicate", "forge"):
            notes.schedule(now, delivery)
        elif rule.kind == "delay":
            notes.schedule(now + timedelta(seconds=rule.seconds), delivery)
        elif rule.kind == "reorder":
            earlier = notes.hold(now, delivery)
            if earlier is not None:
                notes.schedule(now, earlier)
        else:  # drop
            self._log(store, notes, delivery, None, "dropped", None)

    def _sign(self, delivery: Delivery, forgery: str | None) -> None:
        envelope, version = delivery.envelope, delivery.envelope["SignatureVersion"]
        if forgery == "signature-version-1":
            version = "1"
        elif forgery == "wrong-topic":
            envelope["TopicArn"] = sns.topic_arn(WRONG_TOPIC_MERCHANT)
        elif forgery == "foreign-cert-host":
            envelope["SigningCertURL"] = FOREIGN_CERT_URL
        elif forgery == "http-cert-url":
            parts = urlsplit(envelope["SigningCertURL"])
            if parts.scheme == "https":
                envelope["SigningCertURL"] = "http" + envelope["SigningCertURL"][len("https") :]
            else:  # served over http already: Amazon's host over plain http
                envelope["SigningCertURL"] = f"http://sns.{sns.REGION}.amazonaws.com{sns.CERT_PATH}"
        self.certificate.sign(envelope, version)
        if forgery == "bad-signature":
            signature = bytearray(base64.b64decode(envelope["Signature"]))
            signature[len(signature) // 2] ^= 0xFF
            envelope["Signature"] = base64.b64encode(bytes(signature)).decode("ascii")

    # -- sending (the sender thread)

    def send(self, notes: Notifications, delivery: Delivery) -> None:
        store, current = self.current()
        if current is not notes:
            return  # the state was reset or replaced: its messages go nowhere
        self._post_and_record(store, notes, delivery)
        if delivery.fault == "duplicate" and delivery.attempts == 1:
            self._post_and_record(store, notes, delivery, duplicate=True)
        if delivery.attempts == 1 and not delivery.released:
            held = notes.release_held()
            if held is not None:
                held.released = True
                self._post_and_record(store, notes, held)

    def _post_and_record(self, store: Store, notes: Notifications, delivery: Delivery, duplicate: bool = False) -> None:
        if not duplicate:
            delivery.attempts += 1
        timeout = float(self.app.config["SIMULATOR_IPN_TIMEOUT_SECONDS"])
        status, error, reached = post(delivery.url, delivery.body, delivery.headers, timeout)
        if status is not None and 200 <= status < 300:
            outcome = "delivered"
        elif not reached:
            outcome = "unreachable"  # no retry, as Amazon documents for endpoints it cannot reach
        elif duplicate or delivery.attempts > len(self.retry_delays):
            outcome = "failed"
        else:
            outcome = "retrying"
            delay = self.retry_delays[delivery.attempts - 1]
            notes.schedule(store.clock.now() + timedelta(seconds=delay), delivery)
        self._log(store, notes, delivery, status, outcome, error, duplicate)

    def _log(self, store, notes, delivery, status, outcome, error, duplicate=False) -> None:
        info = delivery.info
        notes.record(
            {
                "type": delivery.kind,
                "messageId": delivery.envelope["MessageId"],
                "environment": delivery.environment,
                "url": delivery.url,
                "objectType": info["objectType"],
                "objectId": info["objectId"],
                "notificationId": info["notificationId"],
                "state": info["state"],
                "attempt": max(delivery.attempts, 1) if outcome != "dropped" else 0,
                "status": status,
                "outcome": outcome,
                "error": error,
                "fault": delivery.fault,
                "duplicate": duplicate,
                "at": datetime.now(UTC).isoformat(),
                "simulatorTime": store.clock.now().isoformat(),
            }
        )
        log.info(
            "simulator ipn type=%s object=%s/%s attempt=%s status=%s outcome=%s",
            delivery.kind,
            info["objectType"],
            info["objectId"],
            delivery.attempts,
            status,
            outcome,
        )

    def to_json(self, notes: Notifications) -> dict[str, Any]:
        environments = {}
        for env in ENVIRONMENTS:
            url, version, source = self.setting(notes, env)
            environments[env] = {"url": url, "signatureVersion": version, "source": source}
        base = self.base_url()
        with notes.lock:
            return {
                "environments": environments,
                "merchantId": self.merchant_id,
                "topicArn": self.topic,
                "signingCertUrl": base + sns.CERT_PATH,
                "retryDelaySeconds": list(self.retry_delays),
                "faults": [rule.to_json() for rule in notes.rules],
                "pending": len(notes.scheduled) + (1 if notes.held else 0),
                "subscriptions": [dict(s) for s in notes.subscriptions.values()],
                "unsubscribed": list(notes.unsubscribed),
                "deliveries": list(notes.log),
            }


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str | None, bool]:
    """POST once: (status, error, reached). ``reached`` is False when no connection could be made."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    try:
        try:
            connection.connect()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}", False
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(64 * 1024)
            return response.status, None, True
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}", True
    finally:
        connection.close()


def _ticker(ref: weakref.ref[IpnService], wake: threading.Event, seconds: float) -> None:
    service = ref()
    try:
        if service is not None:
            service.certificate.pem  # noqa: B018 - make the signing key and certificate now, not at the first IPN
    except Exception:
        log.exception("simulator ipn: making the signing certificate failed")
    del service
    while True:
        wake.wait(seconds)
        wake.clear()
        service = ref()
        if service is None:
            return
        try:
            service.tick()
        except Exception:  # never let the ticker die; never a 500 because of delivery
            log.exception("simulator ipn ticker failed")
        del service


def _sender(ref: weakref.ref[IpnService], outbound: queue.Queue) -> None:
    while True:
        try:
            notes, delivery = outbound.get(timeout=1)
        except queue.Empty:
            if ref() is None:
                return
            continue
        service = ref()
        if service is None:
            return
        try:
            service.send(notes, delivery)
        except Exception:
            log.exception("simulator ipn delivery failed")
        del service


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# -- HTTP: the certificate, SNS's subscription links, the test controls -------------------------

bp = Blueprint("simulator_ipn", __name__)


def init_app(app: Flask) -> None:
    app.config.setdefault("SIMULATOR_IPN_URL", os.environ.get("AMAZON_PAY_SIMULATOR_IPN_URL") or None)
    app.config.setdefault(
        "SIMULATOR_MERCHANT_ID", os.environ.get("AMAZON_PAY_SIMULATOR_MERCHANT_ID") or DEFAULT_MERCHANT_ID
    )
    app.config.setdefault("SIMULATOR_IPN_RETRY_DELAYS", DEFAULT_RETRY_DELAYS)
    app.config.setdefault("SIMULATOR_IPN_TICK_SECONDS", DEFAULT_TICK_SECONDS)
    app.config.setdefault("SIMULATOR_IPN_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)
    if app.config["SIMULATOR_IPN_URL"]:
        _check_url(app.config["SIMULATOR_IPN_URL"], "AMAZON_PAY_SIMULATOR_IPN_URL")
    service = IpnService(app)
    app.extensions["amazon_pay_simulator_ipn"] = service
    app.before_request(service.before_request)
    app.register_blueprint(bp)


def service() -> IpnService:
    return current_app.extensions["amazon_pay_simulator_ipn"]


def clock_moved() -> None:
    """After ``POST /control/clock``: what became due is evaluated and sent now, not at the next tick."""
    ipn = current_app.extensions.get("amazon_pay_simulator_ipn")
    if ipn is not None:
        ipn.tick()


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return jsonify(error.body()), error.status


@bp.get(sns.CERT_PATH)
def certificate():
    return Response(service().certificate.pem, mimetype="application/x-pem-file")


@bp.get("/sns/confirm-subscription")
def confirm_subscription():
    """The ``SubscribeURL`` of a SubscriptionConfirmation: a GET confirms (SNS answers XML)."""
    _store, notes = service().current()
    token = request.args.get("Token", "")
    with notes.lock:
        subscription = notes.subscriptions.get(token)
        if subscription is None or request.args.get("Action") != "ConfirmSubscription":
            return _sns_error("InvalidParameter", "Invalid token")
        if subscription["subscriptionArn"] is None:
            subscription["subscriptionArn"] = f"{service().topic}:{uuid.uuid4()}"
            subscription["confirmedAt"] = datetime.now(UTC).isoformat()
        arn = subscription["subscriptionArn"]
    return _sns_answer(
        "ConfirmSubscription", f"<ConfirmSubscriptionResult><SubscriptionArn>{escape(arn)}</SubscriptionArn>"
    )


@bp.get("/sns/unsubscribe")
def unsubscribe():
    """The ``UnsubscribeURL`` of every notification: a GET stops IPNs to that environment, as SNS does."""
    ipn = service()
    _store, notes = ipn.current()
    arn = request.args.get("SubscriptionArn", "")
    with notes.lock:
        env = next((e for e, sub in notes.subscription_ids.items() if f"{ipn.topic}:{sub}" == arn), None)
        if env is None or request.args.get("Action") != "Unsubscribe":
            return _sns_error("NotFound", "Subscription does not exist")
        notes.urls[env] = None
        notes.unsubscribed.append({"environment": env, "subscriptionArn": arn, "at": datetime.now(UTC).isoformat()})
    return _sns_answer("Unsubscribe", "")


def _sns_answer(action: str, result: str) -> Response:
    closing = f"</{action}Result>" if result else ""
    xml = (
        f'<{action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/">{result}{closing}'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>"
    )
    return Response(xml, mimetype="text/xml")


def _sns_error(code: str, message: str) -> Response:
    xml = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
        "</ErrorResponse>"
    )
    return Response(xml, status=404 if code == "NotFound" else 400, mimetype="text/xml")


@bp.get("/control/ipn")
def get_settings():
    ipn = service()
    return jsonify(ipn.to_json(ipn.current()[1]))


@bp.put("/control/ipn")
def put_settings():
    """``{"url": str|null, "environment": "Sandbox"|"Live"|null (both), "signatureVersion": "1"|"2"}``."""
    body = _json()
    _only(body, ("url", "environment", "signatureVersion"))
    if "url" not in body:
        raise missing_parameter("url")
    url = body["url"]
    if url is not None:
        if not isinstance(url, str):
            raise invalid_parameter("url", "An http(s) URL or null.")
        _check_url(url, "url")
    envs = _environments(body.get("environment"))
    version = body.get("signatureVersion")
    if version is None:
        version = "2"
    if version not in sns.HASHES:
        raise invalid_parameter("signatureVersion", 'Use "1" (RSA-SHA1) or "2" (RSA-SHA256).')
    ipn = service()
    _store, notes = ipn.current()
    with notes.lock:
        for env in envs:
            notes.urls[env], notes.versions[env] = url, version
    return jsonify(ipn.to_json(notes))


@bp.get("/control/ipn/faults")
def get_faults():
    _store, notes = service().current()
    with notes.lock:
        return jsonify({"rules": [rule.to_json() for rule in notes.rules]})


@bp.post("/control/ipn/faults")
def set_faults():
    """``{"rules": [{"kind", "times"?, "seconds"? (delay), "variant"? (forge), "objectType"?}]}``:
    replaces the rules; each message takes the first rule with uses left."""
    body = _json()
    _only(body, ("rules",))
    raw = body.get("rules")
    if raw is None:
        raise missing_parameter("rules")
    if not isinstance(raw, list) or len(raw) > MAX_FAULT_RULES:
        raise invalid_parameter("rules", f"A list of at most {MAX_FAULT_RULES} rules.")
    rules = [_fault_rule(item, f"rules[{index}]") for index, item in enumerate(raw)]
    _store, notes = service().current()
    with notes.lock:
        notes.rules = rules
        return jsonify({"rules": [rule.to_json() for rule in notes.rules]})


@bp.delete("/control/ipn/faults")
def clear_faults():
    _store, notes = service().current()
    with notes.lock:
        notes.rules = []
    return jsonify({"rules": []})


@bp.post("/control/ipn/send")
def send_now():
    """``{"objectType", "objectId", "environment"?, "chargePermissionId"?}``: one IPN now, for any
    object, known or not (an unknown one goes to the environment given, Sandbox by default)."""
    body = _json()
    _only(body, ("objectType", "objectId", "environment", "chargePermissionId"))
    object_type = text_field(body, "objectType")
    if object_type not in OBJECT_TYPES:
        raise invalid_parameter("objectType", f"Use one of {', '.join(OBJECT_TYPES)}.")
    object_id = text_field(body, "objectId")
    if not _ID.fullmatch(object_id):
        raise invalid_parameter("objectId", "1 to 128 of A-Z, a-z, 0-9, '-', '_', '.', ':'.")
    cp_id = text_field(body, "chargePermissionId", required=False)
    if cp_id is not None and not _ID.fullmatch(cp_id):
        raise invalid_parameter("chargePermissionId")
    ipn = service()
    store, notes = ipn.current()
    with store.lock:
        known = _find(store, object_type, object_id)
    env = known[0] if known else (_environments(body.get("environment"), single=True)[0])
    if cp_id is None:
        cp_id = known[1] if known else _charge_permission_of(object_id)
    event = Event(object_type, object_id, cp_id, env, known[2] if known else None)
    _needs_url(ipn, notes, env)
    with ipn._tick_lock:
        delivery = ipn.publish(store, notes, event)
        for ready in notes.due(store.clock.now()):
            ipn.outbound.put((notes, ready))
    if delivery is None:  # the URL was unset meanwhile
        _needs_url(ipn, notes, env)
    answer = {"queued": True, "environment": env, "messageId": delivery.envelope["MessageId"]}
    return jsonify(answer | {"message": json.loads(delivery.envelope["Message"])}), 202


@bp.post("/control/ipn/subscribe")
def subscribe():
    """``{"environment"?}``: send an SNS SubscriptionConfirmation to the environment's IPN URL."""
    body = _json()
    _only(body, ("environment",))
    env = _environments(body.get("environment"), single=True)[0]
    ipn = service()
    store, notes = ipn.current()
    url, version = _needs_url(ipn, notes, env)
    with ipn._tick_lock:
        delivery = ipn.confirmation(store, notes, env, url, version)
        for ready in notes.due(store.clock.now()):
            ipn.outbound.put((notes, ready))
    envelope = delivery.envelope
    answer = {"queued": True, "environment": env, "messageId": envelope["MessageId"], "token": envelope["Token"]}
    return jsonify(answer | {"subscribeUrl": envelope["SubscribeURL"]}), 202


def _find(store: Store, object_type: str, object_id: str) -> tuple[str, str | None, str] | None:
    if object_type == "CHARGE_PERMISSION" and object_id in store.charge_permissions:
        cp = store.charge_permissions[object_id]
        return cp.env, cp.id, cp.state
    if object_type == "CHARGE" and object_id in store.charges:
        charge = store.charges[object_id]
        return charge.env, charge.charge_permission_id, charge.state
    if object_type == "REFUND" and object_id in store.refunds:
        refund = store.refunds[object_id]
        charge = store.charges.get(refund.charge_id)
        return refund.env, charge.charge_permission_id if charge else None, refund.state
    return None


def _charge_permission_of(object_id: str) -> str | None:
    """Amazon's ids start with their Charge Permission's: S01-1234567-1234567-C123456."""
    found = re.match(r"^([SP]\d{2}-\d{7}-\d{7})", object_id)
    return found.group(1) if found else None


def _needs_url(ipn: IpnService, notes: Notifications, env: str) -> tuple[str, str]:
    url, version, _source = ipn.setting(notes, env)
    if not url:
        raise ApiError(
            409, "IpnUrlNotSet", f"No IPN URL for {env}: PUT /control/ipn or set AMAZON_PAY_SIMULATOR_IPN_URL."
        )
    return url, version


def _json() -> dict[str, Any]:
    return parse_body(request.get_data())


def _only(body: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in body:
        if name not in names:
            raise unrecognized_field(name)


def _environments(value: Any, single: bool = False) -> tuple[str, ...]:
    if value is None:
        return ("Sandbox",) if single else ENVIRONMENTS
    if value not in ENVIRONMENTS:
        raise invalid_parameter("environment", "Use Sandbox or Live" + ("." if single else ", or null for both."))
    return (value,)


def _check_url(url: str, name: str) -> None:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise invalid_parameter(name, "The port is not a number from 0 to 65535.") from None
    if len(url) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_parameter(name, "An absolute http or https URL.")


def _fault_rule(raw: Any, where: str) -> FaultRule:
    if not isinstance(raw, dict):
        raise invalid_parameter(where, "Each rule is an object.")
    _only_in(raw, ("kind", "times", "seconds", "variant", "objectType"), where)
    kind = raw.get("kind")
    if kind is None:
        raise missing_parameter(f"{where}.kind")
    if kind not in FAULT_KINDS:
        raise invalid_parameter(f"{where}.kind", f"Use one of {', '.join(FAULT_KINDS)}.")
    times = raw.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 1_000_000:
        raise invalid_parameter(f"{where}.times", "A whole number from 1 (default 1).")
    seconds = raw.get("seconds")
    if kind == "delay":
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 3600:
            raise invalid_parameter(f"{where}.seconds", "A number of seconds from 0 to 3600.")
    elif seconds is not None:
        raise unrecognized_field(f"{where}.seconds")
    variant = raw.get("variant")
    if kind == "forge":
        if variant not in FORGERIES:
            raise invalid_parameter(f"{where}.variant", f"Use one of {', '.join(FORGERIES)}.")
    elif variant is not None:
        raise unrecognized_field(f"{where}.variant")
    object_type = raw.get("objectType")
    if object_type is not None and object_type not in OBJECT_TYPES:
        raise invalid_parameter(f"{where}.objectType", f"Use one of {', '.join(OBJECT_TYPES)}.")
    return FaultRule(kind, times, float(seconds or 0), variant, object_type)


def _only_in(raw: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in raw:
        if name not in names:
            raise unrecognized_field(f"{where}.{name}")
