"""Use cases of the documents service.

On ``acta_sealed`` a pending record is written first (so a crash cannot forget
the acta), then the PDF is rendered, signed and stored; only then is the record
marked stored and ``document_stored`` queued in its outbox. Any failure keeps the
record pending with the error and a backoff; ``retry_due`` picks it up again. A
redelivered event finds the record stored and does nothing.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from services.documents.domain import retry
from services.documents.domain.errors import DocumentsError
from services.documents.domain.rendering import render_pdf
from services.documents.service_layer.ports import (
    ActaSource,
    Clock,
    DocumentRecord,
    DocumentRepository,
    EventRelay,
    ObjectStore,
    Signer,
    StoredObject,
)

log = logging.getLogger(__name__)

DOCUMENTS = "documents"
PDF = "application/pdf"
ATTACHMENT_TYPES = {"image/jpeg", "image/png", "application/pdf"}
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
DEFAULT_LINK_TTL = timedelta(minutes=15)
MAX_LINK_TTL = timedelta(hours=24)


class NotFound(DocumentsError):
    """No such document or attachment."""


class InvalidAttachment(DocumentsError):
    """The attachment's type or size is not accepted."""


class SystemClock:
    def now(self) -> datetime:
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


@dataclass
class DocumentHandlers:
    repo: DocumentRepository
    actas: ActaSource
    store: ObjectStore
    signer: Signer | None
    relay: EventRelay
    clock: Clock
    documents_bucket: str = "crm-documents"
    attachments_bucket: str = "crm-attachments"

    def on_acta_sealed(self, acta_id: str) -> DocumentRecord:
        record = self.repo.ensure_pending(acta_id, self.clock.now())
        if record.status == "stored":
            return record  # a redelivered event: the document exists already
        return self.produce(acta_id)

    def produce(self, acta_id: str) -> DocumentRecord:
        """Render, sign and store one acta's PDF; on failure, schedule a retry."""
        record = self.repo.get(acta_id) or self.repo.ensure_pending(acta_id, self.clock.now())
        if record.status == "stored":
            return record
        try:
            view = self.actas.view(acta_id)
            pdf = render_pdf(view)
            if self.signer is not None:
                pdf = self.signer.sign(pdf, reason=f"Acta {acta_id} sellada por CRM Social", location=view.place)
            digest = hashlib.sha256(pdf).hexdigest()
            stored = self.store.put(
                self.documents_bucket,
                object_key(acta_id),
                pdf,
                PDF,
                {"acta-id": acta_id, "sha256": digest, "acta-content-hash": view.content_hash},
            )
        except Exception as exc:  # every failure is recorded and retried; nothing is dropped
            attempts = record.attempts + 1
            wait = retry.backoff(attempts)
            seconds = wait.total_seconds()
            log.warning("PDF of acta %s failed (attempt %d), retry in %.0fs: %s", acta_id, attempts, seconds, exc)
            self.repo.mark_failed(acta_id, f"{type(exc).__name__}: {exc}"[:500], attempts, self.clock.now() + wait)
            return replace(record, attempts=attempts, last_error=str(exc))
        done = replace(
            record,
            status="stored",
            attempts=record.attempts + 1,
            last_error="",
            object_key=stored.key,
            sha256=digest,
            size_bytes=stored.size_bytes,
            pades_signed=self.signer is not None,
            stored_at=self.clock.now(),
            acta_content_hash=view.content_hash,
        )
        self.repo.mark_stored(
            done,
            {
                "id": uuid.uuid4().hex,
                "type": "document_stored",
                "payload": {
                    "acta_id": acta_id,
                    "bucket": self.documents_bucket,
                    "object_key": stored.key,
                    "sha256": digest,
                    "size_bytes": stored.size_bytes,
                    "pades_signed": done.pades_signed,
                    "stored_at": done.stored_at.isoformat() if done.stored_at else "",
                },
            },
        )
        self.relay.flush(DOCUMENTS, acta_id)
        return done

    def retry_due(self, limit: int = 20) -> int:
        due = self.repo.due(self.clock.now(), limit)
        for acta_id in due:
            self.produce(acta_id)
        return len(due)

    def document(self, acta_id: str, ttl: timedelta | None = None) -> tuple[DocumentRecord, Link | None]:
        record = self.repo.get(acta_id)
        if record is None:
            raise NotFound(f"No hay documento para el acta {acta_id!r}")
        if record.status != "stored":
            return record, None
        return record, self._link(self.documents_bucket, record.object_key, ttl)

    # -- attachments (photos) --------------------------------------------------------
    def put_attachment(self, content: bytes, content_type: str) -> StoredObject:
        if content_type not in ATTACHMENT_TYPES:
            allowed = ", ".join(sorted(ATTACHMENT_TYPES))
            raise InvalidAttachment(f"Tipo de adjunto no admitido {content_type!r}; use {allowed}")
        if not content or len(content) > MAX_ATTACHMENT_BYTES:
            limit_mb = MAX_ATTACHMENT_BYTES // (1024 * 1024)
            raise InvalidAttachment(f"El adjunto debe tener entre 1 byte y {limit_mb} MB")
        digest = hashlib.sha256(content).hexdigest()
        existing = self.store.stat(self.attachments_bucket, attachment_key(digest))
        if existing is not None:
            return existing
        key = attachment_key(digest)
        return self.store.put(self.attachments_bucket, key, content, content_type, {"sha256": digest})

    def attachment(self, sha256: str, ttl: timedelta | None = None) -> tuple[StoredObject, Link]:
        found = self.store.stat(self.attachments_bucket, attachment_key(sha256)) if _is_sha256(sha256) else None
        if found is None:
            raise NotFound(f"No existe el adjunto {sha256!r}")
        return found, self._link(self.attachments_bucket, found.key, ttl)

    def _link(self, bucket: str, key: str, ttl: timedelta | None) -> Link:
        ttl = min(ttl or DEFAULT_LINK_TTL, MAX_LINK_TTL)
        return Link(self.store.link(bucket, key, ttl), self.clock.now() + ttl)


def object_key(acta_id: str) -> str:
    return f"actas/{acta_id}.pdf"


def attachment_key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256}"


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)
