"""The kiosk submission ingest worker: ``crm-actas-ingest``.

A competing consumer of ``actas.kiosk_submissions`` (see
crm_platform/submission_bus.py); run as many as the load needs. Each message is
decoded once, here (``decode_kiosk_message``), and acknowledged only after its
effect is durable (``crm_platform.consumer``):

- accepted: the sealed acta and its chain entry are committed, then ack;
- duplicate (same idempotency key, same bytes): nothing new is stored, ack;
- refused (bad signature, unknown device, invalid fields...): the rejection is
  recorded for staff, a copy goes to the rejected queue with the reason in
  its headers, then ack;
- a dependency is down (MongoDB, the beneficiaries service): not acked; the
  message is requeued after a pause and retried.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from kombu import Connection, Producer
from kombu.message import Message

from crm_platform import submission_bus as bus
from crm_platform.config import int_setting
from crm_platform.consumer import QueueConsumer, Refused, SpanAttributes
from crm_platform.outbox import OutboxSweeper
from crm_platform.service import run_service
from services.actas.bootstrap import SERVICE_NAME, App, bootstrap
from services.actas.domain.submission import RejectReason, SubmissionRejected
from services.actas.entrypoints.proto_mapping import decode_kiosk_message

log = logging.getLogger(__name__)


class IngestWorker(QueueConsumer):
    span_name = "actas.ingest_submission"
    accept = (bus.CONTENT_TYPE,)

    def __init__(self, connection: Connection, app: App, prefetch: int = 32) -> None:
        super().__init__(connection, bus.QUEUE, prefetch)
        self.app = app
        self.ingested = 0
        self.duplicates = 0
        self.rejected = 0

    def declare(self, channel: Any) -> None:
        bus.REJECTED_QUEUE(channel).declare()

    def process(self, body: Any, message: Message) -> SpanAttributes:
        raw = message.body if isinstance(message.body, bytes) else bytes(message.body)
        try:
            kiosk = decode_kiosk_message(raw)
        except SubmissionRejected as refused:
            raise Refused(refused.detail, refused) from None
        try:
            result = self.app.handlers.ingest(kiosk)
        except SubmissionRejected as refused:
            raise Refused(
                refused.detail, refused, device_id=kiosk.device_id, submission_id=kiosk.submission_id
            ) from None
        if result.duplicate:
            self.duplicates += 1
        else:
            self.ingested += 1
        return {"crm.acta_id": result.acta_id, "crm.duplicate": result.duplicate}

    def refuse(self, message: Message, refused: Refused) -> None:
        cause = refused.cause
        if not isinstance(cause, SubmissionRejected):  # failed twice for another reason
            cause = SubmissionRejected(RejectReason.MALFORMED, refused.reason)
        device_id, submission_id = refused.context.get("device_id"), refused.context.get("submission_id")
        if device_id is None or submission_id is None:
            device_id, submission_id = _identify(message.body)
        # Keyed by the bytes and the reason: a redelivered refusal is recorded once.
        key = hashlib.sha256(message.body + str(cause.reason).encode()).hexdigest()[:32]
        rejection = self.app.handlers.reject(cause, device_id, submission_id, rejection_id=key)
        self.rejected += 1
        log.info("submission refused (%s): %s", cause.reason, cause.detail)
        Producer(self.connection.default_channel).publish(
            message.body,
            exchange=bus.REJECTED_EXCHANGE,
            routing_key=bus.REJECTED_ROUTING_KEY,
            content_type=bus.CONTENT_TYPE,
            content_encoding="binary",
            delivery_mode=2,
            headers={
                bus.H_REASON: str(cause.reason),
                bus.H_DETAIL: cause.detail[:500],
                bus.H_REJECTION_ID: rejection.id,
            },
            declare=[bus.REJECTED_QUEUE],
        )


def _identify(raw: bytes) -> tuple[str, str]:
    """Device and submission ids of whatever parses (only for a message that could
    not even be processed, so was never decoded into a KioskMessage)."""
    try:
        kiosk = decode_kiosk_message(raw)
    except SubmissionRejected:
        return "", ""
    return kiosk.device_id, kiosk.submission_id


def main() -> None:
    run_service(
        f"{SERVICE_NAME}-ingest",
        lambda: bootstrap(publish_in_background=True),
        background=lambda app: [OutboxSweeper(app.relay)],
        consumer=lambda app, connection: IngestWorker(
            connection, app, prefetch=int_setting("ACTAS_INGEST_PREFETCH", 32)
        ),
    )


if __name__ == "__main__":
    main()
