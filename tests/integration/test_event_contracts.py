"""Event contracts on the real broker: a consumer dead-letters an event of a major
version it cannot read, with the reason; a publisher refuses a malformed event
before it reaches the broker."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from kombu import Connection, Producer, Queue

from crm_platform.contracts import ContractViolation
from crm_platform.messaging import EventPublisher, events_exchange
from devstack.infra import Stack
from tests.unit.test_contracts import sealed


def test_an_acta_sealed_event_of_an_unknown_major_version_is_dead_lettered_with_the_reason(stack: Stack) -> None:
    acta_id = uuid.uuid4().hex
    with Connection(stack.env["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        Producer(conn.default_channel).publish(
            {**sealed(acta_id=acta_id), "schema_version": "2.0", "event_id": uuid.uuid4().hex},
            exchange=events_exchange("actas"),
            routing_key="acta_sealed",
            serializer="json",
            delivery_mode=2,
        )
        for service in ("documents", "notifications", "beneficiaries"):  # kombu and nameko consumers
            dead = conn.SimpleQueue(f"{service}.acta_sealed.dead")
            try:
                reason = _dead_reason(dead, acta_id)
            finally:
                dead.close()
            assert reason == "acta_sealed: version 2.0 is not readable by a consumer of version 1.0", service


def _dead_reason(dead: Any, acta_id: str) -> str:
    """The reason ``acta_id``'s event was dead-lettered (other tests' leftovers are skipped)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        message = dead.get(timeout=max(0.1, deadline - time.monotonic()))
        message.ack()
        if message.payload.get("acta_id") == acta_id:
            return str(message.headers["x-crm-dead-reason"])
    raise AssertionError(f"{acta_id} was not dead-lettered")


def stored(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "acta_id": uuid.uuid4().hex,
        "bucket": "crm-documents",
        "object_key": "actas/x.pdf",
        "sha256": "ab" * 32,
        "size_bytes": 1200,
        "pades_signed": True,
        "stored_at": "2026-12-06T10:00:00+00:00",
    }
    return {**payload, **overrides}


def test_a_malformed_event_is_refused_by_the_publisher_and_never_reaches_the_broker(stack: Stack) -> None:
    # document_stored has no consumer in the stack: the probe queue is its only reader.
    with Connection(stack.env["AMQP_URI"]) as conn:
        probe = conn.SimpleQueue(
            Queue(
                f"contracts-probe-{uuid.uuid4().hex[:6]}",
                exchange=events_exchange("documents"),
                routing_key="document_stored",
                auto_delete=True,
            )
        )
        publisher = EventPublisher(stack.env["AMQP_URI"], "documents")
        try:
            with pytest.raises(ContractViolation, match="size_bytes: expected an integer, got str"):
                publisher.publish("document_stored", stored(size_bytes="1200"), event_id=uuid.uuid4().hex)
            event_id = uuid.uuid4().hex
            publisher.publish("document_stored", stored(), event_id=event_id)
            message = probe.get(timeout=10)
            message.ack()
            # Only the well-formed one arrived, stamped with its contract's version.
            assert message.payload["event_id"] == event_id and message.payload["schema_version"] == "1.0"
        finally:
            publisher.close()
            probe.close()
