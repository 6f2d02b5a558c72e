"""The projection's consumer: one durable queue, ``reports.events``, bound to every
event the projection is kept from (``BINDINGS``), so their relative order is the
order the broker delivered them in. Each event is checked against its contract
(``crm_platform.contracts``) and refused to ``reports.events.dead`` with the reason
when it breaks it; acknowledgement, requeueing and tracing are ``QueueConsumer``'s.
"""

from __future__ import annotations

import json
from typing import Any

from kombu import Connection, Exchange, Queue, binding
from kombu.message import Message

from crm_platform import contracts
from crm_platform.consumer import QueueConsumer, Refused, SpanAttributes
from crm_platform.event_consumer import DEAD_REASON_HEADER
from crm_platform.messaging import events_exchange
from services.reports.service_layer.projection import ProjectionHandlers

QUEUE = "reports.events"
BINDINGS: tuple[tuple[str, str], ...] = (
    ("beneficiaries", "community_registered"),
    ("beneficiaries", "family_registered"),
    ("beneficiaries", "beneficiary_registered"),
    ("beneficiaries", "beneficiary_updated"),
    ("beneficiaries", "consent_changed"),
    ("actas", "acta_sealed"),
    ("income", "productive_unit_registered"),
    ("income", "stage_changed"),
    ("income", "followup_recorded"),
)


class ProjectionConsumer(QueueConsumer):
    span_name = "reports.on_event"

    def __init__(self, connection: Connection, handlers: ProjectionHandlers, prefetch: int = 16) -> None:
        queue = Queue(
            QUEUE,
            bindings=[binding(events_exchange(src), routing_key=kind) for src, kind in BINDINGS],
            durable=True,
        )
        super().__init__(connection, queue, prefetch)
        self.handlers = handlers
        self.dead_exchange = Exchange("reports.dead", type="direct", durable=True)
        self.dead_queue = Queue(f"{QUEUE}.dead", exchange=self.dead_exchange, routing_key="dead", durable=True)

    def declare(self, channel: Any) -> None:
        for source in sorted({src for src, _ in BINDINGS}):
            events_exchange(source)(channel).declare()
        self.dead_queue(channel).declare()

    def process(self, body: Any, message: Message) -> SpanAttributes:
        source = str(message.delivery_info.get("exchange", "")).removesuffix(".events")
        event_type = str(message.delivery_info.get("routing_key", ""))
        if (source, event_type) not in BINDINGS:
            raise Refused(f"unexpected event {source}.{event_type}")
        try:
            payload = json.loads(body) if isinstance(body, str | bytes) else body
            contracts.parse(contracts.contract_of(source, event_type), payload)
        except ValueError as exc:  # not JSON, or a ContractViolation
            raise Refused(f"{source}.{event_type}: {exc}") from None
        attributes = self.handlers.handle(source, event_type, payload)
        return {"crm.event": f"{source}.{event_type}", **attributes}

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
