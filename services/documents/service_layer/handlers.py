"""Use cases of the documents service.

On ``acta_sealed`` a pending record is written first (so a crash cannot forget
the acta), then the PDF is rendered, signed and stored; only then is the record
marked stored and ``document_stored`` queued in its outbox. Any failure keeps the
record pending with the error and a backoff; ``retry_due`` picks it up again. A
redelivered event finds the record stored and does nothing.

Exactly one producer works on a record at a time: it holds a lease (an owner token
and an end time, taken by one conditional write; the consumer creates the record
already leased, so the retry loop does not see it while it is being produced). A
producer that finds the record held leaves it to the holder, or to the retry loop
once a dead holder's lease ends. The object is created only if its key is free,
so the first upload is the only one; a later producer adopts it (hashing the bytes
it finds), and the record is marked stored only by the lease holder, so the
record's SHA-256 is always that of the stored object and ``document_stored`` is
queued once.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from PIL import Image

from crm_platform import errors as vocabulary
from crm_platform.access import may_read_content, reads_all_content
from crm_platform.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_MB
from services.documents.domain import retry
from services.documents.domain.errors import DocumentsError
from services.documents.domain.rendering import render_pdf
from services.documents.service_layer.ports import (
    ActaSource,
    Clock,
    DocumentRecord,
    DocumentRepository,
    EventRelay,
    Lease,
    ObjectStore,
    Signer,
    StoredObject,
)

log = logging.getLogger(__name__)

DOCUMENTS = "documents"
PDF = "application/pdf"
ATTACHMENT_TYPES = {"image/jpeg", "image/png", "application/pdf"}
# What Pillow must find in an image claimed to be of each type.
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
# More than any phone camera takes, below Pillow's decompression-bomb limit;
# bounds the memory a decode may use.
MAX_PHOTO_PIXELS = 64_000_000
DEFAULT_LINK_TTL = timedelta(minutes=15)
MAX_LINK_TTL = timedelta(hours=24)


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
        lease = self._lease()
        record = self.repo.ensure_pending(acta_id, self.clock.now(), lease)  # a new record is created held
        if record.status == "pending" and record.lease_owner != lease.owner:
            record = self.repo.claim(acta_id, lease, self.clock.now()) or record
        return self._produce_if_held(record, lease)

    def produce(self, acta_id: str) -> DocumentRecord:
        """Render, sign and store one acta's PDF unless it is stored or someone else
        holds it; on failure, schedule a retry."""
        lease = self._lease()
        record = self.repo.claim(acta_id, lease, self.clock.now()) or self.repo.get(acta_id)
        if record is None:  # not known yet
            record = self.repo.ensure_pending(acta_id, self.clock.now(), lease)
        return self._produce_if_held(record, lease)

    def _produce_if_held(self, record: DocumentRecord, lease: Lease) -> DocumentRecord:
        if record.status == "stored":
            return record  # a redelivered event or a late retry: the document exists already
        if record.lease_owner != lease.owner:
            # The holder produces it; if it dies, the retry loop does once its lease ends.
            log.info("PDF of acta %s is being produced by another worker", record.acta_id)
            return record
        return self._produce(record, lease)

    def _produce(self, record: DocumentRecord, lease: Lease) -> DocumentRecord:
        acta_id = record.acta_id
        try:
            view = self.actas.view(acta_id)
            pdf = render_pdf(view)
            if self.signer is not None:
                pdf = self.signer.sign(pdf, reason=f"Acta {acta_id} sellada por CRM Social", location=view.place)
            if not self.repo.renew(acta_id, self._lease(lease.owner)):
                log.warning("PDF of acta %s: lease lost before the upload; left to its new holder", acta_id)
                return self.repo.get(acta_id) or record
            key = object_key(acta_id)
            digest = hashlib.sha256(pdf).hexdigest()
            metadata = {"acta-id": acta_id, "sha256": digest, "acta-content-hash": view.content_hash}
            stored = self.store.create(self.documents_bucket, key, pdf, PDF, metadata)
            if stored is None:  # an earlier producer's upload is there: it is the document
                existing = self.store.get(self.documents_bucket, key)
                digest = hashlib.sha256(existing).hexdigest()
                stored = StoredObject(key, digest, len(existing), PDF)
                log.info("PDF of acta %s was uploaded already (%s); recording that one", acta_id, digest)
        except Exception as exc:  # every failure is recorded and retried; nothing is dropped
            attempts = record.attempts + 1
            wait = retry.backoff(attempts)
            seconds = wait.total_seconds()
            log.warning("PDF of acta %s failed (attempt %d), retry in %.0fs: %s", acta_id, attempts, seconds, exc)
            error, next_attempt_at = f"{type(exc).__name__}: {exc}"[:500], self.clock.now() + wait
            self.repo.mark_failed(acta_id, lease.owner, error, attempts, next_attempt_at)
            return replace(
                record,
                attempts=attempts,
                last_error=str(exc),
                next_attempt_at=next_attempt_at,
                lease_owner="",
                leased_until=None,
            )
        done = replace(
            record,
            status="stored",
            attempts=record.attempts + 1,
            last_error="",
            next_attempt_at=None,
            object_key=stored.key,
            sha256=digest,
            size_bytes=stored.size_bytes,
            pades_signed=self.signer is not None,
            stored_at=self.clock.now(),
            acta_content_hash=view.content_hash,
            template_key=view.template_key,
            lease_owner="",
            leased_until=None,
        )
        event = {
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
        }
        if not self.repo.mark_stored(done, lease.owner, event):
            # The lease ended and another producer took the record; it records the
            # same object (created once), so there is nothing to undo.
            log.warning("PDF of acta %s: lease lost before the record was marked; left to its new holder", acta_id)
            return self.repo.get(acta_id) or record
        self.relay.flush(DOCUMENTS, acta_id)
        return done

    def retry_due(self, limit: int = 20) -> int:
        due = self.repo.due(self.clock.now(), limit)
        for acta_id in due:
            self.produce(acta_id)
        return len(due)

    def _lease(self, owner: str = "") -> Lease:
        return Lease(owner or uuid.uuid4().hex, self.clock.now() + retry.LEASE)

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
        ttl = min(ttl or DEFAULT_LINK_TTL, MAX_LINK_TTL)
        return Link(self.store.link(bucket, key, ttl), self.clock.now() + ttl)


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
