"""The kiosk submission ingest worker: ``crm-actas-ingest``.

A competing consumer of ``actas.kiosk_submissions`` (see
crm_platform/submission_bus.py); run as many as the load needs. Each message is
acknowledged only after its effect is durable:

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
import time
from typing import Any

from kombu import Connection, Producer
from kombu.message import Message
from kombu.mixins import ConsumerMixin
from opentelemetry import trace
from pymongo.errors import PyMongoError

from crm_platform import process
from crm_platform import submission_bus as bus
from crm_platform.config import Infrastructure, int_setting
from crm_platform.outbox import BackgroundRelay, OutboxSweeper
from crm_platform.proto_gen.crm.actas.v1 import submission_pb2 as sub_pb
from crm_platform.telemetry import extract_context, setup_tracing, shutdown_tracing
from services.actas.bootstrap import SERVICE_NAME, App, bootstrap
from services.actas.domain.errors import DependencyUnavailable
from services.actas.domain.submission import RejectReason, SubmissionRejected
from services.actas.entrypoints.proto_mapping import decode_submission
from services.actas.service_layer.handlers import IngestResult

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
RETRY_PAUSE_SECONDS = 1.0


class IngestWorker(ConsumerMixin):
    def __init__(self, connection: Connection, app: App, prefetch: int = 32) -> None:
        self.connection = connection
        self.app = app
        self.prefetch = prefetch
        self.ingested = 0
        self.duplicates = 0
        self.rejected = 0

    def get_consumers(self, consumer_cls: Any, channel: Any) -> list[Any]:
        bus.REJECTED_QUEUE(channel).declare()
        consumer = consumer_cls(
            queues=[bus.QUEUE],
            callbacks=[self.on_message],
            accept=[bus.CONTENT_TYPE],
            on_decode_error=self.on_decode_error,
            auto_declare=True,
        )
        consumer.qos(prefetch_count=self.prefetch)
        return [consumer]

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        # The raw bytes are still handled: our own decoding names what is wrong.
        self.on_message(None, message)

    def on_message(self, _body: Any, message: Message) -> None:
        headers = message.headers or {}
        with tracer.start_as_current_span(
            "actas.ingest_submission", context=extract_context(headers), kind=trace.SpanKind.CONSUMER
        ) as span:
            try:
                result = self.handle(message.body if isinstance(message.body, bytes) else bytes(message.body))
            except SubmissionRejected as refused:
                span.set_attribute("crm.reject_reason", str(refused.reason))
                self._reject(message, refused)
                message.ack()
                return
            except (DependencyUnavailable, PyMongoError) as exc:
                log.warning("submission left on the queue, will retry: %s", exc)
                time.sleep(RETRY_PAUSE_SECONDS)
                message.requeue()
                return
            except Exception as exc:
                if message.delivery_info.get("redelivered"):
                    log.exception("submission failed twice; moved to the rejected queue")
                    self._reject(message, SubmissionRejected(RejectReason.MALFORMED, f"error al procesar: {exc}"))
                    message.ack()
                else:
                    log.exception("submission failed; requeued once")
                    message.requeue()
                return
            span.set_attribute("crm.acta_id", result.acta_id)
            span.set_attribute("crm.duplicate", result.duplicate)
            message.ack()

    def handle(self, raw: bytes) -> IngestResult:
        try:
            envelope = sub_pb.KioskSubmission.FromString(raw)
        except Exception as exc:
            raise SubmissionRejected(RejectReason.MALFORMED, f"el mensaje no es un KioskSubmission: {exc}") from None
        result = self.app.handlers.ingest(envelope.device_id, envelope.body, envelope.signature, decode_submission)
        if result.duplicate:
            self.duplicates += 1
        else:
            self.ingested += 1
        return result

    def _reject(self, message: Message, refused: SubmissionRejected) -> None:
        device_id, submission_id = _identify(message.body)
        # Keyed by the bytes and the reason: a redelivered refusal is recorded once.
        key = hashlib.sha256(message.body + str(refused.reason).encode()).hexdigest()[:32]
        rejection = self.app.handlers.reject(refused, device_id, submission_id, rejection_id=key)
        self.rejected += 1
        log.info("submission refused (%s): %s", refused.reason, refused.detail)
        producer = Producer(self.connection.default_channel)
        producer.publish(
            message.body,
            exchange=bus.REJECTED_EXCHANGE,
            routing_key=bus.REJECTED_ROUTING_KEY,
            content_type=bus.CONTENT_TYPE,
            content_encoding="binary",
            delivery_mode=2,
            headers={
                bus.H_REASON: str(refused.reason),
                bus.H_DETAIL: refused.detail[:500],
                bus.H_REJECTION_ID: rejection.id,
            },
            declare=[bus.REJECTED_QUEUE],
        )


def _identify(raw: bytes) -> tuple[str, str]:
    """Device and submission ids of whatever parses, for the rejection record."""
    try:
        envelope = sub_pb.KioskSubmission.FromString(raw)
    except Exception:
        return "", ""
    try:
        body = sub_pb.SubmissionBody.FromString(envelope.body)
    except Exception:
        return envelope.device_id, ""
    return envelope.device_id, body.submission_id


def main() -> None:
    process.configure_logging()
    setup_tracing(f"{SERVICE_NAME}-ingest")
    app = bootstrap()
    # Acknowledge once the acta is committed; its events are published in the background.
    background = BackgroundRelay(app.relay)
    app.handlers.relay = background
    infra = Infrastructure.from_env()
    sweeper = OutboxSweeper(app.relay)
    sweeper.start()
    with Connection(infra.amqp_uri, heartbeat=30, transport_options={"confirm_publish": True}) as connection:
        worker = IngestWorker(connection, app, prefetch=int_setting("ACTAS_INGEST_PREFETCH", 32))
        process.on_stop_signal(lambda: setattr(worker, "should_stop", True))
        log.info("actas ingest worker consuming %s", bus.QUEUE.name)
        worker.run()
    sweeper.stopping.set()
    background.close()
    app.close()
    shutdown_tracing()


if __name__ == "__main__":
    main()
