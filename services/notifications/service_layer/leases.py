"""The leases a dispatcher holds on the records it is sending.

A record's lease is its ``next_attempt_at`` while it is queued: whoever writes it
on condition that it is still the value they read holds the record until then
(``DeliveryLog.save_leased``). The holder keeps the value it wrote here, as its
token for its next conditional write, and a heartbeat (``renew``, run by the
dispatcher every quarter of the lease) moves the end forward while the holder
lives. So a lease can be short: a holder that dies stops renewing, and its record
is due again at most one lease later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Lease:
    message_key: str
    token: datetime  # the record's next_attempt_at as this holder last read or wrote it
    held: bool = False  # written by us and to be renewed (a send under way)
    lost: bool = False  # someone else took the record: write nothing more under this lease
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Leases:
    """The leases this process holds, for the heartbeat to renew."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[Lease] = set()

    def track(self, lease: Lease) -> None:
        with self._lock:
            self._held.add(lease)

    def forget(self, lease: Lease) -> None:
        with self._lock:
            self._held.discard(lease)

    def renew(
        self, renew: Callable[[str, datetime, datetime], bool], now: Callable[[], datetime], length: timedelta
    ) -> int:
        """Extend every held lease to ``now() + length``; returns how many were.
        A lease someone else took (the conditional write matched nothing) is lost;
        a store error leaves it as it was, for the next beat."""
        with self._lock:
            leases = list(self._held)
        renewed = 0
        for lease in leases:
            with lease.lock:  # the holder's own conditional writes take it too
                if not lease.held or lease.lost:
                    continue
                until = now() + length
                try:
                    ok = renew(lease.message_key, lease.token, until)
                except Exception as exc:  # the store is away; the holder retries its own writes
                    log.warning("could not renew the lease on %s: %s", lease.message_key, exc)
                    continue
                if ok:
                    lease.token = until
                    renewed += 1
                else:  # taken by another dispatcher, or the holder's outcome write just landed
                    lease.lost, lease.held = True, False
                    log.info("%s: no longer held under this lease", lease.message_key)
        return renewed
