"""The documents service process: ``crm-documents``.

- consumes ``actas.acta_sealed`` (queue ``documents.acta_sealed``) and produces
  each sealed acta's signed PDF; a message is acknowledged once the pending
  record is durable, so a crash never forgets an acta;
- retries failed PDFs with backoff (``RetryLoop``), and those whose producer died
  once its lease ends, and sweeps the outbox;
- serves gRPC (``DocumentsService``): document state and time-limited links,
  attachments.

A plain kombu consumer rather than nameko: rendering and PAdES signing are
CPU-bound and pyHanko uses asyncio, neither of which belongs under eventlet.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from kombu import Connection
from opentelemetry import trace

from crm_platform import grpc_support, process
from crm_platform.config import Infrastructure, setting
from crm_platform.event_consumer import EventConsumer
from crm_platform.outbox import OutboxSweeper
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as pb
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2_grpc as pb_grpc
from crm_platform.telemetry import setup_tracing, shutdown_tracing
from services.documents.bootstrap import SERVICE_NAME, App, bootstrap
from services.documents.service_layer.handlers import InvalidAttachment, Link, NotFound

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
F = TypeVar("F", bound=Callable[..., Any])
SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["DocumentsService"].full_name


class RetryLoop(threading.Thread):
    """Produces the PDFs whose previous attempt failed, when their backoff expires, and
    those whose producer died, when its lease ends (it claims each record first)."""

    def __init__(self, app: App, interval: float = 2.0) -> None:
        super().__init__(name="documents-retry", daemon=True)
        self.app = app
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.app.handlers.retry_due()
            except Exception:
                log.exception("document retry pass failed")


# -- gRPC ----------------------------------------------------------------------------------
def _translate(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except NotFound as exc:
            grpc_support.abort(context, grpc.StatusCode.NOT_FOUND, str(exc))
        except InvalidAttachment as exc:
            grpc_support.abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc), {"content": str(exc)})
        return None

    return wrapper  # type: ignore[return-value]


def _ttl(seconds: int) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds > 0 else None


def _link_fields(link: Link | None) -> dict[str, Any]:
    if link is None:
        return {}
    expires = Timestamp()
    expires.FromDatetime(link.expires_at)
    return {"download_url": link.url, "url_expires_at": expires}


class DocumentsServicer(pb_grpc.DocumentsServiceServicer):
    def __init__(self, app: App) -> None:
        self.h = app.handlers

    @_translate
    def GetActaDocument(self, request: pb.GetActaDocumentRequest, context: grpc.ServicerContext) -> pb.ActaDocument:
        record, link = self.h.document(request.acta_id, _ttl(request.link_ttl_seconds))
        message = pb.ActaDocument(
            acta_id=record.acta_id,
            status=record.status,
            sha256=record.sha256,
            size_bytes=record.size_bytes,
            pades_signed=record.pades_signed,
            attempts=record.attempts,
            last_error=record.last_error,
            acta_content_hash=record.acta_content_hash,
            **_link_fields(link),
        )
        if record.stored_at:
            message.stored_at.FromDatetime(record.stored_at)
        return message

    @_translate
    def PutAttachment(self, request: pb.PutAttachmentRequest, context: grpc.ServicerContext) -> pb.Attachment:
        stored = self.h.put_attachment(request.content, request.content_type)
        return pb.Attachment(sha256=stored.sha256, content_type=stored.content_type, size_bytes=stored.size_bytes)

    @_translate
    def GetAttachment(self, request: pb.GetAttachmentRequest, context: grpc.ServicerContext) -> pb.Attachment:
        stored, link = self.h.attachment(request.sha256, _ttl(request.link_ttl_seconds))
        return pb.Attachment(
            sha256=stored.sha256, content_type=stored.content_type, size_bytes=stored.size_bytes, **_link_fields(link)
        )


def create_server(address: str, app: App, max_workers: int = 8) -> tuple[grpc.Server, int]:
    servicer = DocumentsServicer(app)
    server, port, _ = grpc_support.create_server(
        address,
        lambda s: pb_grpc.add_DocumentsServiceServicer_to_server(servicer, s),
        [SERVICE_FULL_NAME],
        max_workers=max_workers,
    )
    return server, port


def main() -> None:
    process.configure_logging()
    setup_tracing(SERVICE_NAME)
    app = bootstrap()
    address = f"{setting('GRPC_HOST', '127.0.0.1')}:{setting('DOCUMENTS_GRPC_PORT', '50053')}"
    server, port = create_server(address, app)
    sweeper, retry = OutboxSweeper(app.relay), RetryLoop(app)
    server.start()
    sweeper.start()
    retry.start()
    log.info("documents gRPC listening on port %d", port)
    with Connection(Infrastructure.from_env().amqp_uri, heartbeat=30) as connection:
        consumer = EventConsumer(
            connection,
            service=SERVICE_NAME,
            source="actas",
            event_type="acta_sealed",
            required="acta_id",
            handle=lambda payload: {"crm.document.status": app.handlers.on_acta_sealed(payload["acta_id"]).status},
        )
        process.on_stop_signal(lambda: setattr(consumer, "should_stop", True))
        consumer.run()
    retry.stopping.set()
    sweeper.stopping.set()
    server.stop(grace=5).wait()
    app.close()
    shutdown_tracing()


if __name__ == "__main__":
    main()
