"""In-memory fakes of the documents service's ports (service_layer/ports.py) and a
sealed acta to render.

The repository keeps the rules of the MongoDB one: one record per acta, created
pending (due at once, or held by its creator until its lease ends); a lease taken
only on a pending record nobody holds or whose lease ended; storing and recording
a failure only by the lease holder. The object store's ``create`` never replaces
an object, like S3's ``If-None-Match: *``."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from PIL import Image

from services.documents.domain.errors import SigningFailed
from services.documents.domain.view import ActaView, FieldLine, FingerprintEvidence, SignatureView
from services.documents.service_layer.handlers import DocumentHandlers
from services.documents.service_layer.ports import DocumentRecord, Lease, Signer, StoredObject

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CAPTURED = datetime(2026, 11, 20, 13, 30, tzinfo=UTC)
CONTENT_HASH = hashlib.sha256(b"acta-1 canonical form").hexdigest()
DOCS = "crm-documents"
ATTACHMENTS = "crm-attachments"


def png(size: tuple[int, int] = (120, 40)) -> bytes:
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    image.putpixel((10, 10), (20, 40, 160, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def view(acta_id: str = "acta-1", **changes: object) -> ActaView:
    """A sealed home visit: a fingerprint, a handwritten signature, a refusal and the gestor."""
    found = ActaView(
        acta_id=acta_id,
        title="Acta de visita domiciliaria",
        template_key="visita_domiciliaria@1",
        place="Nuevo Roche, Barrancas (La Guajira)",
        captured_at=CAPTURED,
        sealed_at=CAPTURED + timedelta(hours=1),
        gestor_name="María José Peñaloza",
        community_name="Nuevo Roche",
        fields=(
            FieldLine("Motivo de la visita", "Seguimiento"),
            FieldLine("Personas presentes", "3"),
            FieldLine("Situación encontrada", "Sin novedad; la vivienda tiene humedad en la cocina."),
        ),
        signatures=(
            SignatureView(
                "José Ñáñez",
                "participante",
                "fingerprint",
                CAPTURED,
                "CC 1001",
                fingerprint=FingerprintEvidence(
                    87, "right_index", "ZFM-20 #0001", "verify_1_1", hashlib.sha256(b"t").hexdigest(), CAPTURED
                ),
            ),
            SignatureView("Ana Córdoba", "participante", "handwritten", CAPTURED, "CC 1002", handwritten_png=png()),
            SignatureView(
                "Pedro Pérez", "participante", "refused", None, "TI 1003", refusal_reason="No está de acuerdo"
            ),
            SignatureView("María José Peñaloza", "gestor", "handwritten", CAPTURED, "CC 5555", png((80, 30))),
        ),
        content_hash=CONTENT_HASH,
        chain_seq=7,
        verify_url=f"https://crm-social.example.org/verificar/{acta_id}",
        gps=(11.23, -72.88),
    )
    return replace(found, **changes)  # type: ignore[arg-type]


# -- fakes -------------------------------------------------------------------------------


class FakeDocumentRepository:
    """``mark_stored`` queues the event in ``outbox``."""

    def __init__(self) -> None:
        self.records: dict[str, DocumentRecord] = {}
        self.outbox: dict[str, list[Mapping[str, object]]] = {}

    def ensure_pending(self, acta_id: str, now: datetime, lease: Lease | None = None) -> DocumentRecord:
        if acta_id not in self.records:
            self.records[acta_id] = DocumentRecord(
                acta_id,
                "pending",
                next_attempt_at=lease.until if lease else now,
                lease_owner=lease.owner if lease else "",
                leased_until=lease.until if lease else None,
            )
        return self.records[acta_id]

    def get(self, acta_id: str) -> DocumentRecord | None:
        return self.records.get(acta_id)

    def claim(self, acta_id: str, lease: Lease, now: datetime) -> DocumentRecord | None:
        found = self.records.get(acta_id)
        if found is None or found.status != "pending":
            return None
        if found.leased_until is not None and found.leased_until > now:
            return None
        held = replace(found, lease_owner=lease.owner, leased_until=lease.until, next_attempt_at=lease.until)
        self.records[acta_id] = held
        return held

    def renew(self, acta_id: str, lease: Lease) -> bool:
        if not self._held(acta_id, lease.owner):
            return False
        self.records[acta_id] = replace(self.records[acta_id], leased_until=lease.until, next_attempt_at=lease.until)
        return True

    def mark_stored(self, record: DocumentRecord, owner: str, event: Mapping[str, object]) -> bool:
        if not self._held(record.acta_id, owner):
            return False
        self.records[record.acta_id] = replace(record, next_attempt_at=None, lease_owner="", leased_until=None)
        self.outbox.setdefault(record.acta_id, []).append(event)
        return True

    def mark_failed(self, acta_id: str, owner: str, error: str, attempts: int, next_attempt_at: datetime) -> None:
        if self._held(acta_id, owner):
            self.records[acta_id] = replace(
                self.records[acta_id],
                attempts=attempts,
                last_error=error,
                next_attempt_at=next_attempt_at,
                lease_owner="",
                leased_until=None,
            )

    def due(self, now: datetime, limit: int) -> list[str]:
        due = [
            r.acta_id
            for r in self.records.values()
            if r.status == "pending" and r.next_attempt_at is not None and r.next_attempt_at <= now
        ]
        return due[:limit]

    def _held(self, acta_id: str, owner: str) -> bool:
        found = self.records.get(acta_id)
        return found is not None and found.status == "pending" and found.lease_owner == owner


class FlakyActas:
    """The actas service: fails ``failures`` times, then answers; notes the document
    record as it was when each view was asked for."""

    def __init__(self, repo: FakeDocumentRepository, views: Mapping[str, ActaView], failures: int = 0) -> None:
        self.repo = repo
        self.views = dict(views)
        self.failures = failures
        self.records_seen: list[DocumentRecord | None] = []
        self.during_view: Callable[[], None] | None = None  # runs once, inside a view call (a slow render)
        self.template_lookups: list[str] = []  # acta ids whose template key was asked for

    def view(self, acta_id: str) -> ActaView:
        self.records_seen.append(self.repo.get(acta_id))
        hook, self.during_view = self.during_view, None
        if hook is not None:
            hook()
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("actas service unavailable")
        return self.views[acta_id]

    def template_key(self, acta_id: str) -> str:
        self.template_lookups.append(acta_id)
        return self.views[acta_id].template_key


class DictObjectStore:
    def __init__(self, failures: int = 0) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str, dict[str, str]]] = {}
        self.failures = failures
        self.puts = 0
        self.creates = 0
        self.stats = 0
        self.after_create: Callable[[], None] | None = None  # runs once, after an upload (a stall)

    def put(self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        self.puts += 1
        if self.failures > 0:
            self.failures -= 1
            raise OSError("object store unreachable")
        self.objects[(bucket, key)] = (data, content_type, dict(metadata))
        return StoredObject(key, hashlib.sha256(data).hexdigest(), len(data), content_type)

    def create(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> StoredObject | None:
        """The S3 conditional write (``If-None-Match: *``): never replaces an object."""
        self.creates += 1
        if self.failures == 0 and (bucket, key) in self.objects:
            return None  # the key is taken: nothing is written
        stored = self.put(bucket, key, data, content_type, metadata)  # fails while failures remain
        hook, self.after_create = self.after_create, None
        if hook is not None:
            hook()
        return stored

    def get(self, bucket: str, key: str) -> bytes:
        return self.objects[(bucket, key)][0]

    def stat(self, bucket: str, key: str) -> StoredObject | None:
        self.stats += 1
        found = self.objects.get((bucket, key))
        if found is None:
            return None
        data, content_type, _ = found
        return StoredObject(key, hashlib.sha256(data).hexdigest(), len(data), content_type)

    def link(self, bucket: str, key: str, ttl: timedelta) -> str:
        return f"https://objects.test/{bucket}/{key}?expires={int(ttl.total_seconds())}"


class MarkingSigner:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    def sign(self, pdf: bytes, *, reason: str = "", location: str = "") -> bytes:
        self.calls.append((reason, location))
        if self.fail:
            raise SigningFailed("the certificate expired")
        return pdf + b"\n% signed\n"


class StatusAtFlush:
    """The relay: notes the record's status when it is asked to publish."""

    def __init__(self, repo: FakeDocumentRepository) -> None:
        self.repo = repo
        self.flushed: list[tuple[str, str, str]] = []

    def flush(self, collection: str, aggregate_id: str) -> None:
        record = self.repo.get(aggregate_id)
        self.flushed.append((collection, aggregate_id, record.status if record else "missing"))


class SettableClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@dataclass
class World:
    handlers: DocumentHandlers
    repo: FakeDocumentRepository
    actas: FlakyActas
    store: DictObjectStore
    relay: StatusAtFlush
    clock: SettableClock


def world(
    views: Mapping[str, ActaView] | None = None,
    failures: int = 0,
    store: DictObjectStore | None = None,
    signer: Signer | None = None,
) -> World:
    repo = FakeDocumentRepository()
    actas = FlakyActas(repo, views if views is not None else {"acta-1": view()}, failures)
    store = store or DictObjectStore()
    relay = StatusAtFlush(repo)
    clock = SettableClock(NOW)
    return World(DocumentHandlers(repo, actas, store, signer, relay, clock), repo, actas, store, relay, clock)


def stored_pdf(w: World, acta_id: str = "acta-1") -> tuple[bytes, str, dict[str, str]]:
    return w.store.objects[(DOCS, f"actas/{acta_id}.pdf")]


def retry_after(w: World, acta_id: str = "acta-1") -> timedelta:
    record = w.repo.records[acta_id]
    assert record.next_attempt_at is not None
    return record.next_attempt_at - w.clock.now()
