"""Wires the documents use cases to their adapters, once per process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_platform.config import ConfigError, Infrastructure, is_development, setting
from crm_platform.messaging import EventPublisher
from crm_platform.outbox import OutboxRelay
from services.documents.adapters import repository
from services.documents.adapters.actas_source import GrpcActaSource
from services.documents.adapters.income_source import GrpcPlanSource
from services.documents.adapters.object_store import MinioObjectStore
from services.documents.domain.signing import PdfSigner, development_identity
from services.documents.service_layer.handlers import DOCUMENTS, DocumentHandlers, SystemClock
from services.documents.service_layer.plan_documents import PLAN_DOCUMENTS, PlanDocuments

SERVICE_NAME = "documents"


@dataclass
class App:
    handlers: DocumentHandlers
    relay: OutboxRelay
    publisher: EventPublisher
    source: GrpcActaSource
    store: MinioObjectStore
    plans: PlanDocuments
    plan_source: GrpcPlanSource

    def close(self) -> None:
        self.source.close()
        self.plan_source.close()
        self.publisher.close()
        repository.disconnect()


def signer_from_env() -> PdfSigner:
    """The operator's signing key and certificate (PEM files). Development mode makes
    a self-signed pair under var/ when none is configured; elsewhere both are required."""
    key_path, cert_path = setting("DOCUMENTS_SIGNING_KEY", ""), setting("DOCUMENTS_SIGNING_CERT", "")
    if not (key_path and cert_path):
        if not is_development():
            raise ConfigError("DOCUMENTS_SIGNING_KEY and DOCUMENTS_SIGNING_CERT are required outside development")
        key, cert = development_identity(Path(setting("DOCUMENTS_DEV_IDENTITY_DIR", "var/documents-identity")))
        key_path, cert_path = str(key), str(cert)
    passphrase = setting("DOCUMENTS_SIGNING_PASSPHRASE", "").encode() or None
    return PdfSigner.from_files(Path(key_path), Path(cert_path), passphrase=passphrase)


def bootstrap(infra: Infrastructure | None = None) -> App:
    infra = infra or Infrastructure.from_env()
    repository.connect(infra.mongo_uri, setting("DOCUMENTS_DB", repository.DEFAULT_DB))
    repo = repository.MongoDocumentRepository()
    plan_repo = repository.MongoDocumentRepository(repository.PLAN_DOCUMENTS)
    publisher = EventPublisher(infra.amqp_uri, SERVICE_NAME)
    relay = OutboxRelay(publisher, {DOCUMENTS: repo.documents, PLAN_DOCUMENTS: plan_repo.documents})
    source = GrpcActaSource(
        setting("ACTAS_GRPC", "127.0.0.1:50052"), setting("PUBLIC_VERIFY_BASE_URL", "http://127.0.0.1:8080/verificar")
    )
    store = MinioObjectStore(
        infra.s3_endpoint,
        infra.s3_access_key,
        infra.s3_secret_key,
        infra.s3_secure,
        public_endpoint=setting("S3_PUBLIC_ENDPOINT", ""),
        region=setting("S3_REGION", "us-east-1"),
    )
    signer, clock = signer_from_env(), SystemClock()
    documents_bucket = setting("DOCUMENTS_BUCKET", "crm-documents")
    handlers = DocumentHandlers(
        repo=repo,
        actas=source,
        store=store,
        signer=signer,
        relay=relay,
        clock=clock,
        documents_bucket=documents_bucket,
        attachments_bucket=setting("ATTACHMENTS_BUCKET", "crm-attachments"),
    )
    plan_source = GrpcPlanSource(
        setting("INCOME_GRPC", "127.0.0.1:50056"), setting("BENEFICIARIES_GRPC", "127.0.0.1:50051")
    )
    plans = PlanDocuments(plan_repo, plan_source, store, signer, relay, clock, documents_bucket)
    return App(handlers, relay, publisher, source, store, plans, plan_source)
