"""The documents service process: ``crm-documents``.

- consumes ``actas.acta_sealed`` (queue ``documents.acta_sealed``) and produces
  each sealed acta's signed PDF, and ``income.action_plan_approved`` (queue
  ``documents.action_plan_approved``) and produces the approved plan version's
  signed "Plan de Acción"; a message is acknowledged once the pending record is
  durable, so a crash never forgets a document;
- retries failed PDFs with backoff (``RetryLoop``), and those whose producer died
  once its lease ends, and sweeps the outbox;
- serves gRPC (``DocumentsService``): the state of acta and plan documents and
  time-limited links to them, attachments. Its errors are the platform's vocabulary, translated by the
  server's interceptor.

A plain kombu consumer rather than nameko: rendering and PAdES signing are
CPU-bound and pyHanko uses asyncio, neither of which belongs under eventlet.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.grpc_support import current_caller
from crm_platform.outbox import OutboxSweeper
from crm_platform.process import Periodic
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as pb
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2_grpc as pb_grpc
from crm_platform.service import GrpcEndpoint, Servicer, Subscription, run_service
from services.documents.access import ACCESS
from services.documents.bootstrap import SERVICE_NAME, App, bootstrap
from services.documents.service_layer.handlers import Link

SERVICE_FULL_NAME = pb.DESCRIPTOR.services_by_name["DocumentsService"].full_name


class RetryLoop(Periodic):
    """Produces the PDFs whose previous attempt failed, when their backoff expires, and
    those whose producer died, when its lease ends (it claims each record first)."""

    def __init__(self, app: App, interval: float = 2.0) -> None:
        super().__init__("documents-retry", lambda: app.handlers.retry_due() + app.plans.retry_due(), interval)


# -- gRPC ----------------------------------------------------------------------------------
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
        self.plans = app.plans

    def GetActaDocument(self, request: pb.GetActaDocumentRequest, context: grpc.ServicerContext) -> pb.ActaDocument:
        _, role = current_caller()
        record, link = self.h.document(request.acta_id, _ttl(request.link_ttl_seconds), role=role)
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

    def GetPlanDocument(self, request: pb.GetPlanDocumentRequest, context: grpc.ServicerContext) -> pb.PlanDocument:
        record, link = self.plans.document(request.unit_id, request.plan_version, _ttl(request.link_ttl_seconds))
        message = pb.PlanDocument(
            unit_id=request.unit_id,
            plan_version=request.plan_version,
            status=record.status,
            sha256=record.sha256,
            size_bytes=record.size_bytes,
            pades_signed=record.pades_signed,
            attempts=record.attempts,
            last_error=record.last_error,
            **_link_fields(link),
        )
        if record.stored_at:
            message.stored_at.FromDatetime(record.stored_at)
        return message

    def PutAttachment(self, request: pb.PutAttachmentRequest, context: grpc.ServicerContext) -> pb.Attachment:
        stored = self.h.put_attachment(request.content, request.content_type)
        return pb.Attachment(sha256=stored.sha256, content_type=stored.content_type, size_bytes=stored.size_bytes)

    def GetAttachment(self, request: pb.GetAttachmentRequest, context: grpc.ServicerContext) -> pb.Attachment:
        stored, link = self.h.attachment(request.sha256, _ttl(request.link_ttl_seconds))
        return pb.Attachment(
            sha256=stored.sha256, content_type=stored.content_type, size_bytes=stored.size_bytes, **_link_fields(link)
        )


def endpoint(app: App) -> GrpcEndpoint:
    servicer = Servicer(
        DocumentsServicer(app), pb_grpc.add_DocumentsServiceServicer_to_server, SERVICE_FULL_NAME, ACCESS
    )
    return GrpcEndpoint("DOCUMENTS_GRPC_PORT", 50053, [servicer], max_workers=8)


def subscriptions(app: App) -> list[Subscription]:
    sealed, approved = app.handlers.on_acta_sealed, app.plans.on_plan_approved
    return [
        Subscription("actas", "acta_sealed", "acta_id", lambda e: {"crm.document.status": sealed(e["acta_id"]).status}),
        Subscription(
            "income",
            "action_plan_approved",
            "unit_id",
            lambda e: {"crm.document.status": approved(e["unit_id"], e["plan_version"]).status},
        ),
    ]


def main() -> None:
    run_service(
        SERVICE_NAME,
        bootstrap,
        grpc=endpoint,
        background=lambda app: [OutboxSweeper(app.relay), RetryLoop(app)],
        subscription=subscriptions,
    )


if __name__ == "__main__":
    main()
