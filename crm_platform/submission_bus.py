"""Where kiosk submissions travel on RabbitMQ: shared by the kiosk (publisher) and
the actas ingest workers (competing consumers).

- ``actas.submissions`` (direct, durable) -> queue ``actas.kiosk_submissions``
  (durable), routing key ``kiosk.submission``; messages are persistent protobuf
  ``KioskSubmission`` bytes (protos/crm/actas/v1/submission.proto).
- Refused submissions are copied, with their reason in the headers, to
  ``actas.kiosk_submissions.rejected`` through ``actas.submissions.rejected``;
  staff list and resolve them through the actas service, which also records them.
"""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Producer, Queue

CONTENT_TYPE = "application/x-protobuf"
ROUTING_KEY = "kiosk.submission"
REJECTED_ROUTING_KEY = "kiosk.submission.rejected"

EXCHANGE = Exchange("actas.submissions", type="direct", durable=True, auto_delete=False)
QUEUE = Queue("actas.kiosk_submissions", exchange=EXCHANGE, routing_key=ROUTING_KEY, durable=True)
REJECTED_EXCHANGE = Exchange("actas.submissions.rejected", type="direct", durable=True, auto_delete=False)
REJECTED_QUEUE = Queue(
    "actas.kiosk_submissions.rejected", exchange=REJECTED_EXCHANGE, routing_key=REJECTED_ROUTING_KEY, durable=True
)

# Message header names
H_REASON = "x-crm-reject-reason"
H_DETAIL = "x-crm-reject-detail"
H_REJECTION_ID = "x-crm-rejection-id"


def publish(producer: Producer, envelope: bytes, **options: Any) -> None:
    """One serialized ``KioskSubmission``, persistent, to the submissions queue.
    ``options`` go to kombu's ``Producer.publish`` (headers, mandatory, timeout...)."""
    producer.publish(
        envelope,
        exchange=EXCHANGE,
        routing_key=ROUTING_KEY,
        content_type=CONTENT_TYPE,
        content_encoding="binary",
        delivery_mode=2,
        declare=[QUEUE],
        **options,
    )
