"""Interfaces the documents use cases need; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.documents.domain.plan_view import PlanView
from services.documents.domain.view import ActaView


@dataclass(frozen=True)
class DocumentRecord:
    """The state of one document. ``acta_id`` is the record's id: an acta's id for
    an acta's PDF; for other documents (an action plan's) their own id, also read
    as ``document_id``."""

    acta_id: str
    status: str  # pending or stored
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = None
    object_key: str = ""
    sha256: str = ""
    size_bytes: int = 0
    pades_signed: bool = False
    stored_at: datetime | None = None
    acta_content_hash: str = ""
    # The acta's template, noted when the document is stored: some templates'
    # content only some roles may read (``crm_platform.access``). Empty on records
    # stored before it was noted; the actas service then tells.
    template_key: str = ""
    lease_owner: str = ""  # the producer working on a pending record, if any
    leased_until: datetime | None = None

    @property
    def document_id(self) -> str:
        return self.acta_id


@dataclass(frozen=True)
class Lease:
    """A producer's hold on a pending record: only its ``owner`` may store the
    document or record a failure, until ``until``; after that anyone may take it."""

    owner: str
    until: datetime


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size_bytes: int
    content_type: str


class DocumentRepository(Protocol):
    def ensure_pending(self, acta_id: str, now: datetime, lease: Lease | None = None) -> DocumentRecord:
        """The record of ``acta_id``, created pending if new (idempotent). A record
        created with ``lease`` is held by its creator and not due before the lease ends."""
        ...

    def get(self, acta_id: str) -> DocumentRecord | None: ...
    def claim(self, acta_id: str, lease: Lease, now: datetime) -> DocumentRecord | None:
        """Take ``lease`` on a pending record nobody holds (or whose lease ended by
        ``now``), in one conditional write; the record as leased, else None."""
        ...

    def renew(self, acta_id: str, lease: Lease) -> bool:
        """Extend a lease still held by ``lease.owner`` to ``lease.until``."""
        ...

    def mark_stored(self, record: DocumentRecord, owner: str, event: Mapping[str, object]) -> bool:
        """Store ``record`` and queue ``event``, only if ``owner`` still holds the
        pending record; False (and nothing written) otherwise."""
        ...

    def mark_failed(self, acta_id: str, owner: str, error: str, attempts: int, next_attempt_at: datetime) -> None:
        """Record a failure and release the lease, only if ``owner`` still holds it."""
        ...

    def due(self, now: datetime, limit: int) -> list[str]:
        """Pending actas whose next attempt is due (a leased record is due when its lease ends)."""
        ...


class ActaSource(Protocol):
    """The sealed acta as the documents need it (the actas service)."""

    def view(self, acta_id: str) -> ActaView: ...
    def template_key(self, acta_id: str) -> str:
        """The key of the acta's template (``"intervencion_psicosocial@1"``), without rendering it."""
        ...


class PlanSource(Protocol):
    """An approved action plan version as its PDF shows it (the income service)."""

    def view(self, unit_id: str, version: int) -> PlanView: ...


class ObjectStore(Protocol):
    def put(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> StoredObject: ...
    def create(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> StoredObject | None:
        """Write the object only if ``key`` does not exist yet (an atomic conditional
        write); None, and nothing written, when it does."""
        ...

    def get(self, bucket: str, key: str) -> bytes: ...
    def stat(self, bucket: str, key: str) -> StoredObject | None: ...
    def link(self, bucket: str, key: str, ttl: timedelta) -> str: ...


class Signer(Protocol):
    def sign(self, pdf: bytes, *, reason: str = ..., location: str = ...) -> bytes: ...


class EventRelay(Protocol):
    def flush(self, collection: str, aggregate_id: str) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
