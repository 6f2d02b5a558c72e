"""Publishing events on the bus from processes that are not nameko services.

Events use nameko's wire format, so nameko ``@event_handler`` consumers receive
them unchanged: a durable topic exchange ``<source>.events``, the event type as
routing key, a JSON body, persistent delivery, and context headers prefixed with
``nameko.`` (which nameko copies into the worker's context data). The trace
context travels as ``nameko.traceparent``.

Every event body carries its ``event_id``: consumers de-duplicate on it.

Every publish waits for the broker's publisher confirm, so a returned call means
the broker has taken responsibility for the message.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from kombu import Connection, Exchange, Producer

from crm_platform import contracts
from crm_platform.telemetry import inject_headers

log = logging.getLogger(__name__)

HEADER_PREFIX = "nameko"


class PublishError(RuntimeError):
    """The broker did not confirm an event."""


def events_exchange(source_service: str) -> Exchange:
    return Exchange(f"{source_service}.events", type="topic", durable=True, auto_delete=False)


def context_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Trace context (and any extra context data) as nameko-style headers."""
    data: dict[str, str] = dict(inject_headers())
    data.update(extra or {})
    return {f"{HEADER_PREFIX}.{key}": value for key, value in data.items()}


class EventPublisher:
    """Publishes events with publisher confirms over one lazily opened connection.

    Thread-safe; reconnects after a broker restart (kombu retry policy with
    ``declare`` so the exchange is re-declared on the new channel).
    """

    def __init__(self, amqp_uri: str, source_service: str, *, max_retries: int = 2) -> None:
        self._uri = amqp_uri
        self._source = source_service
        self._exchange = events_exchange(source_service)
        # Short on purpose: a caller waits on this; the outbox sweep retries later.
        self._retry_policy = {
            "max_retries": max_retries,
            "interval_start": 0.2,
            "interval_step": 0.4,
            "interval_max": 1.0,
        }
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._producer: Producer | None = None

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._conn = Connection(self._uri, transport_options={"confirm_publish": True})
            self._producer = Producer(self._conn)
        return self._producer

    def publish(self, event_type: str, payload: Mapping[str, Any], *, event_id: str) -> None:
        """Publish one event, checked against its contract and stamped with its
        version (``crm_platform.contracts``): a ``ContractViolation`` is raised and
        nothing is sent if it does not satisfy it."""
        body = {**contracts.stamped(self._source, event_type, payload), "event_id": event_id}
        headers = context_headers({"event_id": event_id})
        with self._lock:
            try:
                producer = self._ensure()
                producer.publish(
                    body,
                    exchange=self._exchange,
                    routing_key=event_type,
                    serializer="json",
                    delivery_mode=2,
                    headers=headers,
                    message_id=event_id,
                    declare=[self._exchange],
                    retry=True,
                    retry_policy=self._retry_policy,
                )
            except Exception as exc:
                self._reset()
                raise PublishError(f"event {event_type} ({event_id}) not confirmed: {exc}") from exc

    def _reset(self) -> None:
        if self._conn is not None:
            # The connection is broken already; releasing it may fail too.
            with contextlib.suppress(Exception):
                self._conn.release()
        self._conn = None
        self._producer = None

    def close(self) -> None:
        with self._lock:
            self._reset()
