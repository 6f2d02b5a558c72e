"""Consuming another service's events outside nameko (``crm_platform.consumer``).

``EventConsumer`` binds a durable queue ``<service>.<event type>`` to the source's
``<source>.events`` exchange (the nameko wire format that
``crm_platform.messaging.EventPublisher`` writes) and hands each event to
``handle`` once it satisfies its contract (``crm_platform.contracts``). An event
that breaks the contract (a missing or mistyped field, an unknown major version)
or lacks its required key goes to ``<service>.<event type>.dead`` with the reason
in the ``x-crm-dead-reason`` header. Acknowledgement, requeueing and the trace
context are the base's (``QueueConsumer``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kombu import Connection, Exchange, Queue
from kombu.message import Message

from crm_platform import contracts
from crm_platform.consumer import QueueConsumer, Refused, SpanAttributes
from crm_platform.messaging import events_exchange

__all__ = ["DEAD_REASON_HEADER", "EventConsumer", "SpanAttributes"]

DEAD_REASON_HEADER = "x-crm-dead-reason"


class EventConsumer(QueueConsumer):
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
        queue = Queue(f"{service}.{event_type}", exchange=events_exchange(source), routing_key=event_type, durable=True)
        super().__init__(connection, queue, prefetch)
        self.span_name = f"{service}.on_{event_type}"
        self.event_type, self.required, self.handle = event_type, required, handle
        self.contract = contracts.contract_of(source, event_type)
        self.dead_exchange = Exchange(f"{service}.dead", type="direct", durable=True)
        self.dead_queue = Queue(
            f"{service}.{event_type}.dead", exchange=self.dead_exchange, routing_key="dead", durable=True
        )

    def declare(self, channel: Any) -> None:
        self.dead_queue(channel).declare()

    def process(self, body: Any, message: Message) -> SpanAttributes:
        try:
            payload = json.loads(body) if isinstance(body, str | bytes) else body
        except ValueError:
            raise Refused(f"{self.event_type}: the body is not JSON") from None
        try:
            contracts.parse(self.contract, payload)
        except contracts.ContractViolation as exc:
            raise Refused(str(exc)) from None
        key = payload.get(self.required)
        if not isinstance(key, str) or not key:
            raise Refused(f"missing {self.required}")
        attributes = dict(self.handle(payload) or {})
        return {f"crm.{self.required}": key, **attributes}

    def refuse(self, message: Message, refused: Refused) -> None:
        self.connection.Producer().publish(
            message.body,
            exchange=self.dead_exchange,
            routing_key="dead",
            headers={DEAD_REASON_HEADER: refused.reason},
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=2,
            declare=[self.dead_queue],
        )
