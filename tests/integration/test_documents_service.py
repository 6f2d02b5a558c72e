"""The documents service on the running stack: a sealed acta gets one signed PDF
in the object store; a redelivered event adds nothing; failures are retried until
the document exists."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pymongo
import pytest
from kombu import Connection, Producer
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from crm_platform.messaging import events_exchange
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as dpb
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2_grpc as dpb_grpc
from devstack.infra import Stack
from services.documents.adapters import repository
from services.documents.adapters.object_store import MinioObjectStore
from services.documents.service_layer.handlers import DocumentHandlers, object_key
from tests.helpers import GESTOR, eventually
from tests.integration.test_actas_service import struct, visit_values
from tests.unit.test_contracts import sealed


@pytest.fixture(scope="module")
def documents(stack: Stack) -> Iterator[dpb_grpc.DocumentsServiceStub]:
    channel = grpc.insecure_channel(stack.env["DOCUMENTS_GRPC"])
    yield dpb_grpc.DocumentsServiceStub(channel)
    channel.close()


def sealed_acta(actas: apb_grpc.ActasServiceStub, family: Any, signer: Any) -> apb.Acta:
    draft = actas.CreateActa(
        apb.CreateActaRequest(template_key="visita_domiciliaria@1", values=struct(visit_values(family, [signer.id]))),
        metadata=GESTOR,
    )
    actas.SignActa(
        apb.SignActaRequest(acta_id=draft.id, signer_id=signer.id, refusal_reason="Prefiere no firmar"),
        metadata=GESTOR,
    )
    actas.SignActa(apb.SignActaRequest(acta_id=draft.id), metadata=GESTOR)
    sealed: apb.Acta = actas.SealActa(apb.SealActaRequest(acta_id=draft.id), metadata=GESTOR)
    return sealed


def stored(documents: dpb_grpc.DocumentsServiceStub, acta_id: str) -> Any:
    """The acta's document once stored, else None."""
    try:
        found = documents.GetActaDocument(dpb.GetActaDocumentRequest(acta_id=acta_id), metadata=GESTOR)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return found if found.status == "stored" else None


def test_a_sealed_acta_gets_a_signed_pdf_with_its_hash_behind_a_time_limited_link(
    stack, actas, documents, family, signer
) -> None:
    acta = sealed_acta(actas, family, signer)
    document = eventually(lambda: stored(documents, acta.id), timeout=30)
    assert document.pades_signed and document.acta_content_hash == acta.content_hash
    assert document.url_expires_at.ToDatetime(tzinfo=UTC) <= datetime.now(UTC) + timedelta(minutes=16)

    pdf = httpx.get(document.download_url, timeout=10).content
    assert hashlib.sha256(pdf).hexdigest() == document.sha256 and len(pdf) == document.size_bytes
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert acta.content_hash in text and "Acta de visita domiciliaria" in text and "Prefiere no firmar" in text

    cert = Path(stack.var_dir) / "documents-identity"
    (cert_file,) = cert.glob("*cert*.pem")
    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = validate_pdf_signature(
        embedded, ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_file))], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted

    # The link expires: a one-second link stops working.
    short = documents.GetActaDocument(dpb.GetActaDocumentRequest(acta_id=acta.id, link_ttl_seconds=1), metadata=GESTOR)
    eventually(lambda: httpx.get(short.download_url, timeout=10).status_code == 403, timeout=10)


def test_a_redelivered_acta_sealed_event_creates_no_second_document(stack, actas, documents, family, signer) -> None:
    acta = sealed_acta(actas, family, signer)
    first = eventually(lambda: stored(documents, acta.id), timeout=30)
    with Connection(stack.env["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        Producer(conn.default_channel).publish(
            # The same event again; no participants, so no other consumer acts on it.
            {**sealed(acta_id=acta.id, participants=[], family_ids=[]), "event_id": uuid.uuid4().hex},
            exchange=events_exchange("actas"),
            routing_key="acta_sealed",
            serializer="json",
            delivery_mode=2,
        )
    # Let the consumer handle it, then check nothing changed.
    marker = sealed_acta(actas, family, signer)
    eventually(lambda: stored(documents, marker.id), timeout=30)
    again = stored(documents, acta.id)
    assert again is not None
    assert (again.sha256, again.attempts, again.stored_at) == (first.sha256, first.attempts, first.stored_at)


class FlakySource:
    """The actas service answering with failures first (a restart, a timeout)."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real, self.failures, self.calls = real, failures, 0

    def view(self, acta_id: str) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("actas no disponible")
        return self.real.view(acta_id)

    def template_key(self, acta_id: str) -> str:
        return str(self.real.template_key(acta_id))


class StepClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.moment


def test_a_failed_render_is_retried_with_backoff_until_the_document_is_stored(stack, actas, family, signer) -> None:
    from services.documents.adapters.actas_source import GrpcActaSource

    acta = sealed_acta(actas, family, signer)
    name = f"documents_retry_{uuid.uuid4().hex[:8]}"
    repository.connect(stack.env["MONGO_URI"], name)
    source = GrpcActaSource(stack.env["ACTAS_GRPC"], "http://127.0.0.1/verificar")
    store = MinioObjectStore(stack.env["S3_ENDPOINT"], stack.env["S3_ACCESS_KEY"], stack.env["S3_SECRET_KEY"], False)
    clock = StepClock()
    flushed: list[str] = []

    class Relay:
        def flush(self, collection: str, aggregate_id: str) -> None:
            flushed.append(aggregate_id)

    handlers = DocumentHandlers(
        repo=repository.MongoDocumentRepository(),
        actas=FlakySource(source, failures=2),
        store=store,
        signer=None,
        relay=Relay(),
        clock=clock,
        documents_bucket="crm-attachments",  # a bucket the running service does not write to
    )
    try:
        first = handlers.on_acta_sealed(acta.id)
        assert first.status == "pending" and first.attempts == 1 and "actas no disponible" in first.last_error
        assert handlers.retry_due() == 0  # not due before its backoff
        clock.moment += timedelta(seconds=3)
        assert handlers.retry_due() == 1
        assert handlers.repo.get(acta.id).attempts == 2  # type: ignore[union-attr]
        clock.moment += timedelta(seconds=10)
        handlers.retry_due()
        done = handlers.repo.get(acta.id)
        assert done is not None and done.status == "stored" and done.attempts == 3
        assert store.stat("crm-attachments", object_key(acta.id)) is not None
        assert flushed == [acta.id]
        raw = pymongo.MongoClient(stack.env["MONGO_URI"])[name].documents.find_one({"_id": acta.id})
        assert raw and [e["type"] for e in raw["outbox"]] == ["document_stored"]
    finally:
        source.close()
        pymongo.MongoClient(stack.env["MONGO_URI"]).drop_database(name)
        repository.disconnect()


def test_an_acta_sealed_event_without_an_acta_id_is_dead_lettered_with_its_reason(
    stack, actas, documents, family, signer
) -> None:
    with Connection(stack.env["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        Producer(conn.default_channel).publish(
            {"event_id": uuid.uuid4().hex, "title": "sin id"},
            exchange=events_exchange("actas"),
            routing_key="acta_sealed",
            serializer="json",
            delivery_mode=2,
        )
        dead = conn.SimpleQueue("documents.acta_sealed.dead")
        try:
            message = dead.get(timeout=15)
            message.ack()
        finally:
            dead.close()
    assert message.payload["title"] == "sin id"
    assert message.headers["x-crm-dead-reason"] == "acta_sealed: missing field 'acta_id'"
    # The consumer keeps serving: the next sealed acta still gets its document.
    acta = sealed_acta(actas, family, signer)
    assert eventually(lambda: stored(documents, acta.id), timeout=30)
