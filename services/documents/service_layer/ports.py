"""Interfaces the documents use cases need; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.documents.domain.view import ActaView


@dataclass(frozen=True)
class DocumentRecord:
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


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size_bytes: int
    content_type: str


class DocumentRepository(Protocol):
    def ensure_pending(self, acta_id: str, now: datetime) -> DocumentRecord:
        """The record of ``acta_id``, created pending if new (idempotent)."""
        ...

    def get(self, acta_id: str) -> DocumentRecord | None: ...
    def mark_stored(self, record: DocumentRecord, event: Mapping[str, object]) -> None: ...
    def mark_failed(self, acta_id: str, error: str, attempts: int, next_attempt_at: datetime) -> None: ...
    def due(self, now: datetime, limit: int) -> list[str]:
        """Pending actas whose next attempt is due."""
        ...


class ActaSource(Protocol):
    """The sealed acta as the documents need it (the actas service)."""

    def view(self, acta_id: str) -> ActaView: ...


class ObjectStore(Protocol):
    def put(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> StoredObject: ...
    def stat(self, bucket: str, key: str) -> StoredObject | None: ...
    def link(self, bucket: str, key: str, ttl: timedelta) -> str: ...


class Signer(Protocol):
    def sign(self, pdf: bytes, *, reason: str = ..., location: str = ...) -> bytes: ...


class EventRelay(Protocol):
    def flush(self, collection: str, aggregate_id: str) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
