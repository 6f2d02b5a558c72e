"""Notifications per second through the email channel, beside a raw SMTP send loop.

The notifications pipeline runs in this process over the real SecantusDB and
RabbitMQ (started on loopback, no other service) into a loopback aiosmtpd server
that counts what it receives:

- queue: ``NotificationHandlers.send`` writes one record per recipient (unique
  message key) for ``count`` recipients;
- dispatch: the ``Dispatcher`` (8 workers) leases each record, renders the
  ``recordatorio_reunion`` template, sends it with ``SmtpChannel`` and writes the
  outcome with ``notification_sent`` in the record's outbox, published to
  RabbitMQ by the background relay (and the sweeper, for what it leaves); the
  run ends when no record is queued and no event is left in an outbox.

The directory is an in-memory one (every recipient has an email address and the
notifications consent): the benchmark measures this service, not the
beneficiaries service's lookups.

Baseline, same run, same server: the same ``count`` messages, rendered beforehand,
sent with ``smtplib.SMTP.send_message`` over one connection, one after the other.

    python -m benchmarks.bench_notifications [--count 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import smtplib
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kombu import Connection, Queue
from kombu.message import Message

from benchmarks._common import Row, print_rows, sigterm_unwinds
from crm_platform.messaging import EventPublisher, events_exchange
from crm_platform.outbox import BackgroundRelay, OutboxRelay, OutboxSweeper
from devstack.infra import LOOPBACK, Stack, free_port
from services.notifications.adapters import repository
from services.notifications.adapters.ratelimit import ChannelRateLimits
from services.notifications.channels.smtp import SmtpChannel, SmtpSettings
from services.notifications.domain.model import ChannelName, DeliveryStatus
from services.notifications.domain.phones import normalise_phone
from services.notifications.domain.retry import RetryPolicy
from services.notifications.domain.templates import render
from services.notifications.entrypoints.dispatcher import Dispatcher
from services.notifications.service_layer.handlers import NOTIFICATIONS, Audience, NotificationHandlers, SystemClock
from services.notifications.service_layer.ports import Contact

NAME = "notifications (email)"
TEMPLATE = "recordatorio_reunion"
VARIABLES = {"fecha": "sábado 21 de noviembre", "hora": "9:00", "lugar": "Casa comunal", "tema": "la huerta"}
SENDER = "CRM Social <notificaciones@crm.example>"
DISPATCH_TIMEOUT = 1800.0  # seconds: a run that cannot finish fails instead of hanging
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CountingHandler:
    """aiosmtpd handler: accepts every message and counts them."""

    def __init__(self) -> None:
        self.received = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.received += 1
        return "250 OK"


class MemoryDirectory:
    def __init__(self, contacts: Sequence[Contact]) -> None:
        self._by_id = {c.recipient_id: c for c in contacts}

    def contact(self, recipient_id: str) -> Contact | None:
        return self._by_id.get(recipient_id)

    def family(self, family_id: str) -> list[Contact] | None:
        return None

    def community(self, community_id: str) -> list[Contact] | None:
        return None


def _contacts(count: int) -> list[Contact]:
    return [Contact(f"b{i:06d}", f"Persona {i}", "", f"persona{i}@crm.example", True) for i in range(count)]


def raw_loop(port: int, contacts: Sequence[Contact]) -> float:
    """Seconds to send the same messages with smtplib over one connection."""
    channel = SmtpChannel(SmtpSettings(host=LOOPBACK, port=port, sender=SENDER))
    emails = [
        channel.compose(
            render(TEMPLATE, ChannelName.EMAIL, c.email, f"raw:{c.recipient_id}", {"nombre": c.name, **VARIABLES})
        )
        for c in contacts
    ]
    started = time.perf_counter()
    with smtplib.SMTP(LOOPBACK, port, timeout=10) as smtp:
        for email in emails:
            smtp.send_message(email)
    return time.perf_counter() - started


def pipeline(
    stack: Stack, smtp: CountingHandler, port: int, contacts: Sequence[Contact]
) -> tuple[float, float, int, int]:
    """(queue seconds, dispatch seconds, sent, events left) through the service's use
    cases, composed as ``crm-notifications`` composes them. Dispatch is done when the
    SMTP server has every message and RabbitMQ every ``notification_sent``."""
    repository.connect(stack.env["MONGO_URI"], "bench_notifications")
    log = repository.MongoDeliveryLog()
    publisher = EventPublisher(stack.env["AMQP_URI"], "notifications")
    relay = OutboxRelay(publisher, {NOTIFICATIONS: log.notifications})
    background = BackgroundRelay(relay)
    sweeper = OutboxSweeper(relay)
    channel = SmtpChannel(SmtpSettings(host=LOOPBACK, port=port, sender=SENDER))
    handlers = NotificationHandlers(
        log=log,
        directory=MemoryDirectory(contacts),
        channels={ChannelName.EMAIL: channel},
        render=render,
        normalise_phone=normalise_phone,
        retry=RetryPolicy(),
        limiter=ChannelRateLimits({}),
        relay=background,
        clock=SystemClock(),
    )
    dispatcher = Dispatcher(handlers, workers=8, idle=0.05, batch=500)
    events_left = {"outbox.created_at": {"$gte": _EPOCH}}
    # Progress is watched outside the store (a count there would compete with the
    # pipeline for SecantusDB): the SMTP server's count, and the distinct events
    # consumed from a queue bound to notification_sent (the relay may publish one twice).
    announced: set[str] = set()
    events = Queue("bench.notification_sent", events_exchange("notifications"), "notification_sent")
    with Connection(stack.env["AMQP_URI"]) as amqp, amqp.Consumer(events, callbacks=[_collect(announced)]):
        expected = smtp.received + len(contacts)
        try:
            started = time.perf_counter()
            audience = Audience(recipient_ids=tuple(c.recipient_id for c in contacts))
            handlers.send(audience, TEMPLATE, VARIABLES, "bench", "bench")
            queued = time.perf_counter() - started
            started = time.perf_counter()
            sweeper.start()
            dispatcher.start()
            deadline = time.monotonic() + DISPATCH_TIMEOUT
            while smtp.received < expected or len(announced) < len(contacts):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dispatch did not finish in {DISPATCH_TIMEOUT:.0f}s")
                with contextlib.suppress(TimeoutError):
                    amqp.drain_events(timeout=0.1)
            dispatched = time.perf_counter() - started
            _stop(dispatcher, sweeper, background)  # the last $pulls land before the check
            sent = log.notifications.count_documents({"status": str(DeliveryStatus.SENT)})
            return queued, dispatched, sent, log.notifications.count_documents(events_left)
        finally:
            _stop(dispatcher, sweeper, background)
            publisher.close()
            log.notifications.database.client.drop_database("bench_notifications")
            repository.disconnect()


def _stop(dispatcher: Dispatcher, sweeper: OutboxSweeper, background: BackgroundRelay) -> None:
    dispatcher.stop()
    sweeper.stopping.set()
    if sweeper.is_alive():
        sweeper.join(10)
    background.close()


def _collect(announced: set[str]) -> Callable[[Any, Message], None]:
    def on_event(body: Any, message: Message) -> None:
        announced.add(str(body["message_key"]))
        message.ack()

    return on_event


def run(count: int = 10_000) -> list[Row]:
    from aiosmtpd.controller import Controller

    contacts = _contacts(count)
    with sigterm_unwinds(), tempfile.TemporaryDirectory(prefix="crm-bench-notify-") as tmp:
        stack = Stack(var_dir=Path(tmp))
        smtp_handler = CountingHandler()
        port = free_port()
        controller = Controller(smtp_handler, hostname=LOOPBACK, port=port)
        controller.start()
        try:
            stack.start_rabbitmq(isolated_vhost=True)
            stack.start_mongo()
            raw_seconds = raw_loop(port, contacts)
            before = smtp_handler.received
            queued, dispatched, sent, events_left = pipeline(stack, smtp_handler, port, contacts)
            received = smtp_handler.received - before
        finally:
            controller.stop()
            stack.stop()
    raw_rate = count / raw_seconds
    total = queued + dispatched
    print(f"[{NAME}] raw smtplib: {count} in {raw_seconds:.2f}s ({raw_rate:.0f}/s)", flush=True)
    print(f"[{NAME}] pipeline: queue {queued:.2f}s, dispatch {dispatched:.2f}s; sent {sent}, received {received}")
    if sent != count or received != count or events_left:
        raise RuntimeError(
            f"expected {count} messages sent and received once and no event left, got {sent} sent, "
            f"{received} received, {events_left} events left"
        )
    return [
        Row(
            NAME,
            f"notifications/s, queue + dispatch ({count} emails)",
            "msg/s",
            count / total,
            raw_rate,
            "raw smtplib loop",
        ),
        Row(
            NAME,
            f"notifications/s, dispatch only ({count} emails)",
            "msg/s",
            count / dispatched,
            raw_rate,
            "raw smtplib loop",
        ),
        Row(NAME, f"records queued/s ({count})", "msg/s", count / queued, None, "-"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_notifications", description=__doc__)
    parser.add_argument("--count", type=int, default=10_000, help="notifications to send (default 10000)")
    args = parser.parse_args(argv)
    print_rows(NAME, run(args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
