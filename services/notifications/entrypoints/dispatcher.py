"""The dispatcher: a thread that sends the notifications that are due, a few at a
time (``workers``), until stopped. Each record is leased before it is sent, so
several dispatchers (threads or processes) never send one message twice; a
heartbeat thread renews the leases of the records being sent every quarter of
the lease (``renew_every``), so a lease can be short and the messages of a
dispatcher that died go out again within one lease.

Every ``reconcile_every`` seconds it also applies the delivery reports that were
parked because they arrived before their message's send was written."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from services.notifications.domain.model import Notification
from services.notifications.service_layer.handlers import NotificationHandlers

log = logging.getLogger(__name__)


class Dispatcher(threading.Thread):
    def __init__(
        self,
        handlers: NotificationHandlers,
        workers: int = 8,
        idle: float = 0.25,
        batch: int = 200,
        reconcile_every: float = 10.0,
        renew_every: float | None = None,
    ) -> None:
        super().__init__(name="notifications-dispatcher", daemon=True)
        self.handlers = handlers
        self.idle = idle
        self.batch = batch
        self.reconcile_every = reconcile_every
        self.renew_every = renew_every if renew_every is not None else handlers.lease.total_seconds() / 4
        self.stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify")
        self._sending_done = threading.Event()  # every worker has returned: no lease left to renew
        self._heartbeat = threading.Thread(target=self._renew, name="notifications-leases", daemon=True)

    def run(self) -> None:
        self._heartbeat.start()
        next_reconcile = time.monotonic() + self.reconcile_every
        try:
            while not self.stopping.is_set():
                if time.monotonic() >= next_reconcile:
                    self.reconcile()
                    next_reconcile = time.monotonic() + self.reconcile_every
                if self.pass_once() == 0:
                    self.stopping.wait(self.idle)
        finally:
            self._pool.shutdown(wait=True)  # a worker writing an outcome finishes it first
            self._sending_done.set()
            self._heartbeat.join(timeout=5)

    def _renew(self) -> None:
        while not self._sending_done.wait(self.renew_every):
            try:
                self.handlers.renew_leases()
            except Exception:  # never expected (renew_leases logs store errors); the beat must go on
                log.exception("renewing the leases failed")

    def pass_once(self) -> int:
        """Dispatch one batch of due records; returns how many were due."""
        try:
            due = self.handlers.log.due(self.handlers.clock.now(), self.batch)
        except Exception:
            log.exception("could not read the due notifications; retrying")
            return 0
        for _ in self._pool.map(self._one, due):
            pass
        return len(due)

    def reconcile(self) -> None:
        try:
            self.handlers.reconcile_reports()
        except Exception:
            log.exception("could not apply the parked delivery reports; retrying later")

    def _one(self, notification: Notification) -> None:
        if self.stopping.is_set():
            return  # left queued and due; nothing of it is leased yet
        try:
            self.handlers.dispatch(notification)
        except Exception:  # the record stays queued or leased, and comes back
            log.exception("dispatch of %s failed; it will be retried", notification.message_key)

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self.join(timeout)
