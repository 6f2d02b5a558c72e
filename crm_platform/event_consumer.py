"""Consuming another service's events outside nameko (plain kombu, ordinary threads).

``EventConsumer`` binds a durable queue ``<service>.<event type>`` to the source's
``<source>.events`` exchange (the nameko wire format that
``crm_platform.messaging.EventPublisher`` writes). A message is acknowledged only
after ``handle`` returned; a MongoDB error (the store not writable now) puts it
back on the queue; an event that breaks its contract (``crm_platform.contracts``:
a missing or mistyped field, an unknown major version) or lacks its required key
goes to ``<service>.<event type>.dead`` with the reason in a header. The trace context
in the ``nameko.*`` headers continues in the consumer's span.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kombu import Connection, Exchange, Queue
from kombu.message import Message
from kombu.mixins import ConsumerMixin
from opentelemetry import trace
from pymongo.errors import PyMongoError

from crm_platform import contracts
from crm_platform.messaging import HEADER_PREFIX, events_exchange
from crm_platform.telemetry import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# What a handler may return: attributes for the consumer's span.
SpanAttributes = Mapping[str, str | int | bool] | None


class EventConsumer(ConsumerMixin):
    def __init__(
        self,
        connection: Connection,
        *,
        service: str,
        source: str,
        event_type: str,
        required: str,
        handle: Callable[[dict[str, Any]], SpanAttributes],
        prefetch: int = 4,
    ) -> None:
        self.connection = connection
        self.service, self.event_type, self.required = service, event_type, required
        self.handle = handle
        self.prefetch = prefetch
        self.contract = contracts.contract_of(source, event_type)
        self.queue = Queue(
            f"{service}.{event_type}", exchange=events_exchange(source), routing_key=event_type, durable=True
        )
        self.dead_exchange = Exchange(f"{service}.dead", type="direct", durable=True)
        self.dead_queue = Queue(
            f"{service}.{event_type}.dead", exchange=self.dead_exchange, routing_key="dead", durable=True
        )

    def get_consumers(self, consumer_cls: Any, channel: Any) -> list[Any]:
        self.dead_queue(channel).declare()
        consumer = consumer_cls(queues=[self.queue], callbacks=[self.on_message], accept=["json"])
        consumer.qos(prefetch_count=self.prefetch)
        return [consumer]

    def on_message(self, body: Any, message: Message) -> None:
        prefix = f"{HEADER_PREFIX}."
        headers = {k.removeprefix(prefix): v for k, v in (message.headers or {}).items()}
        with tracer.start_as_current_span(
            f"{self.service}.on_{self.event_type}", context=extract_context(headers), kind=trace.SpanKind.CONSUMER
        ) as span:
            payload = json.loads(body) if isinstance(body, str | bytes) else body
            try:
                contracts.parse(self.contract, payload)
            except contracts.ContractViolation as exc:
                log.error("%s breaks its contract (%s); moved to %s", self.event_type, exc, self.dead_queue.name)
                self._dead(message, str(exc))
                message.ack()
                return
            key = payload.get(self.required)
            if not isinstance(key, str) or not key:
                log.error("%s without %s; moved to %s", self.event_type, self.required, self.dead_queue.name)
                self._dead(message, f"missing {self.required}")
                message.ack()
                return
            span.set_attribute(f"crm.{self.required}", key)
            try:
                attributes = self.handle(payload)
            except PyMongoError as exc:
                log.warning("%s %s: not writable now, requeued: %s", self.required, key, exc)
                message.requeue()
                return
            for name, value in (attributes or {}).items():
                span.set_attribute(name, value)
            message.ack()

    def _dead(self, message: Message, reason: str) -> None:
        self.connection.Producer().publish(
            message.body,
            exchange=self.dead_exchange,
            routing_key="dead",
            headers={"x-crm-dead-reason": reason},
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=2,
            declare=[self.dead_queue],
        )
