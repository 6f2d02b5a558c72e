"""In-memory fakes of the actas service's ports (service_layer/ports.py).

``FakeActaRepository`` keeps the rules the MongoDB adapter enforces, so a use case
tested here fails as it would against the database: optimistic versions, a
sealed acta cannot be sealed again, one acta per kiosk submission id, one chain
entry per sealed acta appended with ``chain.append``. Actas are stored and
returned as copies, as a database would, so a use case that mutates an acta and
then fails leaves the store untouched.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from services.actas.domain import chain
from services.actas.domain.errors import AlreadyExists
from services.actas.domain.model import Acta, Event, Status
from services.actas.domain.pairing import IssuedCode
from services.actas.domain.sealing import Sealing
from services.actas.service_layer.ports import (
    ActaFilter,
    CountFilter,
    DuplicateSubmission,
    RegisteredDevice,
    Rejection,
    StaffProfile,
)
from tests.actas_support import RecordingRelay


class ConcurrentUpdate(Exception):
    """Someone else wrote the acta since it was read (the adapter's optimistic check)."""


class FakeActaRepository:
    def __init__(self) -> None:
        self.actas: dict[str, Acta] = {}
        self.stored_images: dict[str, dict[str, bytes]] = {}
        # Events written with each aggregate and not yet published (the outbox), by id.
        self.outbox: dict[str, list[Event]] = {}
        self.submissions: dict[str, DuplicateSubmission] = {}
        self.entries: list[chain.ChainEntry] = []
        self.devices: dict[str, RegisteredDevice] = {}
        self.pairing_codes: dict[str, IssuedCode] = {}
        self.rejections: dict[str, Rejection] = {}
        self.folio_counters: Counter[str] = Counter()
        self.staff_profiles: dict[str, StaffProfile] = {}

    # -- actas ---------------------------------------------------------------------
    def add(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None:
        if acta.id in self.actas:
            raise AlreadyExists(acta.id)
        acta.version = 1
        self._store(acta, events, images)

    def update(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None:
        self._check_version(acta)
        acta.version += 1
        self._store(acta, events, images)

    def get(self, acta_id: str) -> Acta | None:
        found = self.actas.get(acta_id)
        return copy.deepcopy(found) if found else None

    def images(self, acta_id: str) -> dict[str, bytes]:
        return dict(self.stored_images.get(acta_id, {}))

    def seal(self, acta: Acta, sealing: Sealing) -> chain.ChainEntry:
        self._check_version(acta)
        if self.actas[acta.id].status == Status.SEALED:
            raise ConcurrentUpdate(acta.id)
        events = self._sealed(sealing)
        entry = self._append(acta)
        acta.version += 1
        self._store(acta, events, {})
        return entry

    def ingest(self, acta: Acta, sealing: Sealing, images: dict[str, bytes], body_sha256: str) -> chain.ChainEntry:
        stored = self.submissions.get(acta.submission_id)
        if stored is not None:
            raise stored
        events = self._sealed(sealing)
        acta.version = 1
        entry = self._append(acta)
        self.submissions[acta.submission_id] = DuplicateSubmission(acta.id, body_sha256)
        self._store(acta, events, images)
        return entry

    def _sealed(self, sealing: Sealing) -> list[Event]:
        """The next number of the sealing's folio counter, drawn only when the seal
        is stored (as the adapter's transaction does)."""
        self.folio_counters[sealing.counter] += 1
        return sealing.seal(self.folio_counters[sealing.counter])

    def find_submission(self, submission_id: str) -> DuplicateSubmission | None:
        return self.submissions.get(submission_id)

    def query(self, query: ActaFilter) -> list[Acta]:
        found = [
            a
            for a in self.actas.values()
            if (not query.beneficiary_id or query.beneficiary_id in {p.beneficiary_id for p in a.participants})
            and (not query.family_id or query.family_id in {p.family_id for p in a.participants})
            and (not query.gestor_id or a.gestor_id == query.gestor_id)
            and (not query.template_code or a.template_code == query.template_code)
            and (not query.status or str(a.status) == query.status)
            and (query.captured_from is None or a.captured_at >= query.captured_from)
            and (query.captured_to is None or a.captured_at <= query.captured_to)
        ]
        found.sort(key=lambda a: a.captured_at, reverse=True)
        return [copy.deepcopy(a) for a in found[: query.limit]]

    def count(self, what: CountFilter) -> dict[str, int]:
        counts: Counter[str] = Counter()
        query = ActaFilter(
            status=what.status, captured_from=what.captured_from, captured_to=what.captured_to, limit=10**9
        )
        for acta in self.query(query):
            if acta.amends and not what.include_corrections:
                continue
            if what.group_by == "week":
                year, week, _ = acta.captured_at.isocalendar()
                counts[f"{year}-W{week:02d}"] += 1
            else:
                keys = {"template": acta.template_key, "gestor": acta.gestor_id, "community": acta.community_id}
                counts[keys[what.group_by]] += 1
        return dict(sorted(counts.items()))

    def amended_by(self, acta_id: str) -> list[str]:
        corrections = sorted((a for a in self.actas.values() if a.amends == acta_id), key=lambda a: a.created_at)
        return [a.id for a in corrections]

    # -- chain ---------------------------------------------------------------------
    def chain_in_order(self) -> Iterator[chain.ChainEntry]:
        return iter(list(self.entries))

    def chain_entry(self, acta_id: str) -> chain.ChainEntry | None:
        return next((e for e in self.entries if e.acta_id == acta_id), None)

    def sealed_actas(self) -> Iterator[Acta]:
        return iter([copy.deepcopy(a) for a in self.actas.values() if a.status == Status.SEALED])

    # -- staff profiles ------------------------------------------------------------
    def put_staff(self, profile: StaffProfile) -> None:
        self.staff_profiles[profile.username] = profile

    def staff(self, username: str) -> StaffProfile | None:
        return self.staff_profiles.get(username)

    # -- devices -------------------------------------------------------------------
    def add_device(self, device: RegisteredDevice) -> None:
        if device.device.device_id in self.devices:
            raise AlreadyExists(f"El quiosco {device.device.device_id} ya está registrado")
        self.devices[device.device.device_id] = device

    def get_device(self, device_id: str) -> RegisteredDevice | None:
        return self.devices.get(device_id)

    def revoke_device(self, device_id: str, when: datetime) -> RegisteredDevice | None:
        found = self.devices.get(device_id)
        if found is not None and not found.device.revoked:  # revoking twice keeps the first time
            self.devices[device_id] = replace(found, device=replace(found.device, revoked=True), revoked_at=when)
        return self.devices.get(device_id)

    def list_devices(self) -> list[RegisteredDevice]:
        return [self.devices[k] for k in sorted(self.devices)]

    # -- pairing codes -------------------------------------------------------------
    def add_pairing_code(self, code: IssuedCode) -> None:
        self.pairing_codes[code.code_sha256] = code

    def consume_pairing_code(
        self, code_sha256: str, device_id: str, public_key: str, when: datetime
    ) -> IssuedCode | None:
        found = self.pairing_codes.get(code_sha256)
        if found is None or found.used_at is not None or found.expires_at <= when:
            return None
        used = replace(found, used_at=when, used_by_device=device_id, used_with_key=public_key)
        self.pairing_codes[code_sha256] = used
        return used

    def pairing_code(self, code_sha256: str) -> IssuedCode | None:
        return self.pairing_codes.get(code_sha256)

    def release_pairing_code(self, code_sha256: str) -> None:
        found = self.pairing_codes[code_sha256]
        self.pairing_codes[code_sha256] = replace(found, used_at=None, used_by_device="", used_with_key="")

    # -- rejected submissions ------------------------------------------------------
    def add_rejection(self, rejection: Rejection, events: Sequence[Event]) -> None:
        if rejection.id in self.rejections:  # recorded already: a redelivery
            return
        self.rejections[rejection.id] = rejection
        self.outbox.setdefault(rejection.id, []).extend(events)

    def list_rejections(self, include_resolved: bool, limit: int) -> list[Rejection]:
        found = [r for r in self.rejections.values() if include_resolved or not r.resolved]
        return sorted(found, key=lambda r: r.received_at, reverse=True)[:limit]

    def resolve_rejection(self, rejection_id: str, by: str, note: str) -> Rejection | None:
        found = self.rejections.get(rejection_id)
        if found is None:
            return None
        self.rejections[rejection_id] = replace(found, resolved=True, resolved_by=by, resolution_note=note)
        return self.rejections[rejection_id]

    # -- helpers for tests ---------------------------------------------------------
    def event_types(self, aggregate_id: str) -> list[str]:
        return [e.type for e in self.outbox.get(aggregate_id, [])]

    def tamper(self, acta_id: str, **changes: object) -> None:
        """Change a stored acta behind the service's back, as someone with database access could."""
        stored = self.actas[acta_id]
        for name, value in changes.items():
            setattr(stored, name, value)

    def _append(self, acta: Acta) -> chain.ChainEntry:
        entry = chain.append(self.entries[-1] if self.entries else None, acta.id, acta.content_hash)
        self.entries.append(entry)
        acta.chain_seq = entry.seq
        return entry

    def _check_version(self, acta: Acta) -> None:
        stored = self.actas.get(acta.id)
        if stored is None or stored.version != acta.version:
            raise ConcurrentUpdate(acta.id)

    def _store(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None:
        self.actas[acta.id] = copy.deepcopy(acta)
        self.outbox.setdefault(acta.id, []).extend(events)
        self.stored_images.setdefault(acta.id, {}).update(images)


class OutboxRelay(RecordingRelay):
    """Publishes, when flushed, the events the outbox holds for the aggregate (as the
    real relay does), so a test sees whether they were written before the flush."""

    def __init__(self, repo: FakeActaRepository) -> None:
        super().__init__()
        self.repo = repo
        self.published: list[Event] = []

    def flush(self, collection: str, aggregate_id: str) -> None:
        super().flush(collection, aggregate_id)
        pending = self.repo.outbox.get(aggregate_id, [])
        self.published.extend(pending)
        pending.clear()

    def published_types(self) -> list[str]:
        return [e.type for e in self.published]


class SettableClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current
