"""Use cases of the action plans' PDFs ("Plan de Acción").

On ``income.action_plan_approved`` the PDF of that plan version is produced by the
machinery the actas' PDFs use (``production``): a durable pending record first
(the event is acknowledged only after it is written), one producer at a time under
a lease, retries with backoff, the object ``planes/{unit_id}/v{version}.pdf``
created only if its key is free, ``plan_document_stored`` queued once. The records
are their own collection (``plan_documents``), one per approved version; an
approved version never changes, so its PDF is made once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crm_platform import errors as vocabulary
from services.documents.domain.plan_rendering import render_plan_pdf
from services.documents.domain.plan_view import (
    parse_plan_document_id,
    plan_document_id,
    plan_object_key,
)
from services.documents.service_layer.ports import (
    Clock,
    DocumentRecord,
    DocumentRepository,
    EventRelay,
    ObjectStore,
    PlanSource,
    Signer,
)
from services.documents.service_layer.production import Link, Made, Production, link

PLAN_DOCUMENTS = "plan_documents"
MAX_VERSION = 10_000


class PlanDocumentNotFound(vocabulary.NotFound):
    """No PDF for that plan version: it is not approved (or there is no such plan)."""


@dataclass(frozen=True)
class PlanJob:
    plans: PlanSource
    label: str = "plan"

    def make(self, document_id: str) -> Made:
        unit_id, version = parse_plan_document_id(document_id)
        view = self.plans.view(unit_id, version)
        return Made(
            pdf=render_plan_pdf(view),
            key=plan_object_key(unit_id, version),
            reason=f"Plan de Acción de {view.unit_name}, versión {version}, aprobado (CRM Social)",
            location=view.community,
            metadata={"unit-id": unit_id, "plan-version": str(version)},
        )

    def event(self, done: DocumentRecord, bucket: str) -> tuple[str, dict[str, Any]]:
        unit_id, version = parse_plan_document_id(done.document_id)
        return "plan_document_stored", {
            "unit_id": unit_id,
            "plan_version": version,
            "bucket": bucket,
            "object_key": done.object_key,
            "sha256": done.sha256,
            "size_bytes": done.size_bytes,
            "pades_signed": done.pades_signed,
            "stored_at": done.stored_at.isoformat() if done.stored_at else "",
        }


@dataclass
class PlanDocuments:
    repo: DocumentRepository  # the ``plan_documents`` records
    plans: PlanSource
    store: ObjectStore
    signer: Signer | None
    relay: EventRelay
    clock: Clock
    bucket: str = "crm-documents"

    def production(self) -> Production:
        job = PlanJob(self.plans)
        return Production(self.repo, job, self.store, self.signer, self.relay, self.clock, self.bucket, PLAN_DOCUMENTS)

    def on_plan_approved(self, unit_id: str, version: int) -> DocumentRecord:
        """The approved version's record (durable before this returns), and its PDF
        unless another worker holds it or it failed (then it is retried)."""
        if not unit_id or not 1 <= version <= MAX_VERSION:
            raise ValueError(f"not a plan version: {unit_id!r} v{version}")
        return self.production().on_event(plan_document_id(unit_id, version))

    def retry_due(self, limit: int = 20) -> int:
        return self.production().retry_due(limit)

    def document(self, unit_id: str, version: int, ttl: timedelta | None = None) -> tuple[DocumentRecord, Link | None]:
        """The record of a plan version's PDF and, once stored, a time-limited link."""
        problems: dict[str, str] = {}
        if not unit_id.strip():
            problems["unit_id"] = "Indique la unidad productiva"
        if not 1 <= version <= MAX_VERSION:
            problems["plan_version"] = f"La versión del plan debe estar entre 1 y {MAX_VERSION}"
        if problems:
            raise vocabulary.InvalidArgument(problems)
        record = self.repo.get(plan_document_id(unit_id, version))
        if record is None:
            raise PlanDocumentNotFound(
                f"No hay PDF de la versión {version} del plan de acción de esta unidad productiva: "
                "se genera cuando esa versión es aprobada"
            )
        if record.status != "stored":
            return record, None
        return record, link(self.store, self.clock, self.bucket, record.object_key, ttl)
