"""Use cases of the documents service: the PDF of each sealed acta, its state and
time-limited links to it, and attachments (photos).

On ``acta_sealed`` the acta's PDF is produced by the machinery every document
shares (``production``: a durable pending record first, one producer at a time
under a lease, retries with backoff, the object created only if its key is free,
``document_stored`` queued once). The action plans' PDFs are ``plan_documents``.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from crm_platform import errors as vocabulary
from crm_platform.access import may_read_content, reads_all_content
from crm_platform.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_MB
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
from services.documents.service_layer.production import (
    DEFAULT_LINK_TTL,
    MAX_LINK_TTL,
    PDF,
    Link,
    Made,
    Production,
    link,
)

log = logging.getLogger(__name__)

DOCUMENTS = "documents"
ATTACHMENT_TYPES = {"image/jpeg", "image/png", "application/pdf"}
# What Pillow must find in an image claimed to be of each type.
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
# More than any phone camera takes, below Pillow's decompression-bomb limit;
# bounds the memory a decode may use.
MAX_PHOTO_PIXELS = 64_000_000
__all__ = ["DEFAULT_LINK_TTL", "MAX_LINK_TTL", "PDF", "DocumentHandlers", "Link", "object_key"]


class NotFound(DocumentsError, vocabulary.NotFound):
    """No such document or attachment."""


class ContentRestricted(DocumentsError, vocabulary.PermissionDenied):
    """The caller's role may not read what this acta records, so it gets no link to its PDF."""


class InvalidAttachment(DocumentsError, vocabulary.InvalidArgument):
    """The attachment's type or size is not accepted; the field at fault is ``content``."""

    def __init__(self, message: str) -> None:
        vocabulary.InvalidArgument.__init__(self, {"content": message}, message)


class SystemClock:
    def now(self) -> datetime:
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


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
        return self.production().on_event(acta_id)

    def produce(self, acta_id: str) -> DocumentRecord:
        """Render, sign and store one acta's PDF unless it is stored or someone else
        holds it; on failure, schedule a retry."""
        return self.production().produce(acta_id)

    def retry_due(self, limit: int = 20) -> int:
        return self.production().retry_due(limit)

    def production(self) -> Production:
        """The acta PDFs' production, on this instance's current adapters."""
        job = ActaJob(self.actas)
        return Production(
            self.repo, job, self.store, self.signer, self.relay, self.clock, self.documents_bucket, DOCUMENTS
        )

    def document(self, acta_id: str, ttl: timedelta | None = None, *, role: str) -> tuple[DocumentRecord, Link | None]:
        """The document's record and, once stored, a time-limited link to its PDF.

        The PDF shows everything the acta records, so a role that may not read the
        content of the acta's template (``crm_platform.access``, the rule the
        gateway's JSON follows) is refused (``ContentRestricted``, a
        ``PermissionDenied``), whatever the record's state."""
        record = self.repo.get(acta_id)
        if record is None:
            raise NotFound(f"No hay documento para el acta {acta_id!r}")
        if not reads_all_content(role):
            # Records stored before the template was noted, and pending ones, ask
            # the actas service (a failure there refuses nothing silently: it raises).
            template_key = record.template_key or self.actas.template_key(acta_id)
            if not may_read_content(role, template_key):
                raise ContentRestricted(
                    f"El rol {role!r} no puede leer el contenido de las actas de este tipo "
                    f"y por eso no puede obtener su documento (acta {acta_id})"
                )
        if record.status != "stored":
            return record, None
        return record, self._link(self.documents_bucket, record.object_key, ttl)

    # -- attachments (photos) --------------------------------------------------------
    def put_attachment(self, content: bytes, content_type: str) -> StoredObject:
        if content_type not in ATTACHMENT_TYPES:
            raise InvalidAttachment("Tipo de adjunto no admitido; use image/jpeg, image/png o application/pdf")
        if not content:
            raise InvalidAttachment("El adjunto está vacío")
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise InvalidAttachment(f"La foto supera el tamaño máximo de {MAX_ATTACHMENT_MB} MB")
        if not _is_what_it_claims(content, content_type):
            raise InvalidAttachment(f"El contenido no es un archivo {_TYPE_NAMES[content_type]} válido")
        digest = hashlib.sha256(content).hexdigest()
        existing = self.store.stat(self.attachments_bucket, attachment_key(digest))
        if existing is not None:
            return existing
        key = attachment_key(digest)
        return self.store.put(self.attachments_bucket, key, content, content_type, {"sha256": digest})

    def attachment(self, sha256: str, ttl: timedelta | None = None) -> tuple[StoredObject, Link]:
        """The attachment named by its SHA-256, in hex of either case."""
        digest = sha256.strip().lower()
        if not _is_sha256(digest):
            raise vocabulary.InvalidArgument({"sha256": "Debe ser un SHA-256 en hexadecimal (64 caracteres)"})
        found = self.store.stat(self.attachments_bucket, attachment_key(digest))
        if found is None:
            raise NotFound("No existe un adjunto con ese SHA-256")
        return found, self._link(self.attachments_bucket, found.key, ttl)

    def _link(self, bucket: str, key: str, ttl: timedelta | None) -> Link:
        return link(self.store, self.clock, bucket, key, ttl)


@dataclass(frozen=True)
class ActaJob:
    """A sealed acta's PDF: rendered from the actas service's view of it."""

    actas: ActaSource
    label: str = "acta"

    def make(self, document_id: str) -> Made:
        view = self.actas.view(document_id)
        return Made(
            pdf=render_pdf(view),
            key=object_key(document_id),
            reason=f"Acta {document_id} sellada por CRM Social",
            location=view.place,
            metadata={"acta-id": document_id, "acta-content-hash": view.content_hash},
            noted={"acta_content_hash": view.content_hash, "template_key": view.template_key},
        )

    def event(self, done: DocumentRecord, bucket: str) -> tuple[str, dict[str, Any]]:
        return "document_stored", {
            "acta_id": done.acta_id,
            "bucket": bucket,
            "object_key": done.object_key,
            "sha256": done.sha256,
            "size_bytes": done.size_bytes,
            "pades_signed": done.pades_signed,
            "stored_at": done.stored_at.isoformat() if done.stored_at else "",
        }


def object_key(acta_id: str) -> str:
    return f"actas/{acta_id}.pdf"


def attachment_key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256}"


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


_TYPE_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}


def _is_what_it_claims(content: bytes, content_type: str) -> bool:
    """An image decodes as the format it claims (Pillow parses and verifies it);
    a PDF starts with its header."""
    if content_type == PDF:
        return content.startswith(b"%PDF-")
    try:
        with Image.open(io.BytesIO(content)) as image:  # reads the header only
            width, height = image.size
            if image.format != IMAGE_FORMATS[content_type] or width * height > MAX_PHOTO_PIXELS:
                return False
            image.verify()
        with Image.open(io.BytesIO(content)) as image:  # verify() leaves the image unusable
            image.load()  # decodes every pixel: a truncated or corrupt body fails here
    except Exception:  # any parser error: it is not a valid image of that type
        return False
    return True
