"""Producing one stored, signed PDF per record, whatever the document is: the
machinery the acta PDFs and the action plans' PDFs share.

On the event that asks for a document, a pending record is written first (so a
crash cannot forget it), then the PDF is made (``Job.make``), signed and stored;
only then is the record marked stored and the job's event queued in its outbox.
Any failure keeps the record pending with the error and a backoff; ``retry_due``
picks it up again. A redelivered event finds the record stored and does nothing.

Exactly one producer works on a record at a time: it holds a lease (an owner token
and an end time, taken by one conditional write; the consumer creates the record
already leased, so the retry loop does not see it while it is being produced). A
producer that finds the record held leaves it to the holder, or to the retry loop
once a dead holder's lease ends. The object is created only if its key is free,
so the first upload is the only one; a later producer adopts it (hashing the bytes
it finds), and the record is marked stored only by the lease holder, so the
record's SHA-256 is always that of the stored object and the event is queued once.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from services.documents.domain import retry
from services.documents.service_layer.ports import (
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

PDF = "application/pdf"
DEFAULT_LINK_TTL = timedelta(minutes=15)
MAX_LINK_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Made:
    """A document's PDF as rendered (not yet signed) and where and how it is kept."""

    pdf: bytes
    key: str  # the object's key in the bucket
    reason: str  # the signature's reason ("Acta ... sellada por CRM Social")
    location: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)  # the object's (its sha256 is added)
    noted: Mapping[str, Any] = field(default_factory=dict)  # record fields noted when stored


class Job(Protocol):
    """What one kind of document is: how its PDF is made and what its event says."""

    @property
    def label(self) -> str:
        """What the document is, for the logs: "acta", "plan"."""
        ...

    def make(self, document_id: str) -> Made: ...

    def event(self, done: DocumentRecord, bucket: str) -> tuple[str, dict[str, Any]]:
        """The type and payload of the event queued when ``done`` is stored."""
        ...


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


def link(store: ObjectStore, clock: Clock, bucket: str, key: str, ttl: timedelta | None) -> Link:
    """A time-limited link to an object: ``ttl`` (default 15 minutes), at most 24 hours."""
    ttl = min(ttl or DEFAULT_LINK_TTL, MAX_LINK_TTL)
    return Link(store.link(bucket, key, ttl), clock.now() + ttl)


@dataclass
class Production:
    """The records of one collection (``collection``, the outbox the relay flushes)
    and the PDFs ``job`` makes for them, stored in ``bucket``."""

    repo: DocumentRepository
    job: Job
    store: ObjectStore
    signer: Signer | None
    relay: EventRelay
    clock: Clock
    bucket: str
    collection: str

    def on_event(self, document_id: str) -> DocumentRecord:
        """The event that asks for the document: the record, durable, then the PDF."""
        lease = self._lease()
        record = self.repo.ensure_pending(document_id, self.clock.now(), lease)  # a new record is created held
        if record.status == "pending" and record.lease_owner != lease.owner:
            record = self.repo.claim(document_id, lease, self.clock.now()) or record
        return self._produce_if_held(record, lease)

    def produce(self, document_id: str) -> DocumentRecord:
        """Make, sign and store one PDF unless it is stored or someone else holds
        its record; on failure, schedule a retry."""
        lease = self._lease()
        record = self.repo.claim(document_id, lease, self.clock.now()) or self.repo.get(document_id)
        if record is None:  # not known yet
            record = self.repo.ensure_pending(document_id, self.clock.now(), lease)
        return self._produce_if_held(record, lease)

    def retry_due(self, limit: int = 20) -> int:
        due = self.repo.due(self.clock.now(), limit)
        for document_id in due:
            self.produce(document_id)
        return len(due)

    def _produce_if_held(self, record: DocumentRecord, lease: Lease) -> DocumentRecord:
        if record.status == "stored":
            return record  # a redelivered event or a late retry: the document exists already
        if record.lease_owner != lease.owner:
            # The holder produces it; if it dies, the retry loop does once its lease ends.
            log.info("PDF of %s %s is being produced by another worker", self.job.label, record.document_id)
            return record
        return self._produce(record, lease)

    def _produce(self, record: DocumentRecord, lease: Lease) -> DocumentRecord:
        document_id, what = record.document_id, f"PDF of {self.job.label} {record.document_id}"
        try:
            made = self.job.make(document_id)
            pdf = made.pdf
            if self.signer is not None:
                pdf = self.signer.sign(pdf, reason=made.reason, location=made.location)
            if not self.repo.renew(document_id, self._lease(lease.owner)):
                log.warning("%s: lease lost before the upload; left to its new holder", what)
                return self.repo.get(document_id) or record
            digest = hashlib.sha256(pdf).hexdigest()
            metadata = {**made.metadata, "sha256": digest}
            stored = self.store.create(self.bucket, made.key, pdf, PDF, metadata)
            if stored is None:  # an earlier producer's upload is there: it is the document
                existing = self.store.get(self.bucket, made.key)
                digest = hashlib.sha256(existing).hexdigest()
                stored = StoredObject(made.key, digest, len(existing), PDF)
                log.info("%s was uploaded already (%s); recording that one", what, digest)
        except Exception as exc:  # every failure is recorded and retried; nothing is dropped
            attempts = record.attempts + 1
            wait = retry.backoff(attempts)
            seconds = wait.total_seconds()
            log.warning("%s failed (attempt %d), retry in %.0fs: %s", what, attempts, seconds, exc)
            error, next_attempt_at = f"{type(exc).__name__}: {exc}"[:500], self.clock.now() + wait
            self.repo.mark_failed(document_id, lease.owner, error, attempts, next_attempt_at)
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
            lease_owner="",
            leased_until=None,
            **made.noted,
        )
        event_type, payload = self.job.event(done, self.bucket)
        event = {"id": uuid.uuid4().hex, "type": event_type, "payload": payload}
        if not self.repo.mark_stored(done, lease.owner, event):
            # The lease ended and another producer took the record; it records the
            # same object (created once), so there is nothing to undo.
            log.warning("%s: lease lost before the record was marked; left to its new holder", what)
            return self.repo.get(document_id) or record
        self.relay.flush(self.collection, document_id)
        return done

    def _lease(self, owner: str = "") -> Lease:
        return Lease(owner or uuid.uuid4().hex, self.clock.now() + retry.LEASE)
