"""The simulator's clock: real UTC time plus an offset that tests can move forward.

Checkout Sessions expire after 24 hours and pending authorizations resolve after 30 seconds
(Amazon's sandbox); tests advance this clock instead of waiting.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, start: datetime | None = None):
        self._fixed = start
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            base = self._fixed or datetime.now(UTC)
            return base + self._offset

    def request_time(self) -> datetime:
        """What x-amz-pay-date is checked against: the clock without test advances.

        Advancing the clock ages Amazon's objects (expiry, pending authorizations); the
        merchant's requests are still signed with the real time, and must keep passing.
        """
        with self._lock:
            return self._fixed or datetime.now(UTC)

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


def amazon_timestamp(moment: datetime) -> str:
    """Timestamps in Amazon Pay bodies use the ISO 8601 basic format, e.g. 20190714T155300Z."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
