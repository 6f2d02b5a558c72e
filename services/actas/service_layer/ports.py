"""The interfaces the actas use cases need; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.actas.domain.chain import ChainEntry
from services.actas.domain.model import Acta, Event
from services.actas.domain.pairing import IssuedCode
from services.actas.domain.sealing import Sealing
from services.actas.domain.submission import Device


@dataclass(frozen=True)
class Person:
    """A participant as the beneficiaries service knows them."""

    beneficiary_id: str
    family_id: str
    community_id: str
    full_name: str
    national_id: str
    # finger -> SHA-256 of the enrolled template
    enrolled: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StaffProfile:
    """A staff account as the gateway names it: what an acta its holder signs as
    gestor shows of them."""

    username: str
    full_name: str
    document: str = ""  # e.g. "CC 52123456"
    title: str = ""  # e.g. "Gestora social", "Psicóloga"


@dataclass(frozen=True)
class ActaFilter:
    beneficiary_id: str = ""
    family_id: str = ""
    gestor_id: str = ""
    template_code: str = ""
    status: str = ""
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    limit: int = 50


@dataclass(frozen=True)
class CountFilter:
    """What ``/acta-counts`` counts. By default sealed originals: drafts are work in
    progress and a correction is the same activity counted again."""

    group_by: str = "template"
    status: str = "sealed"  # draft, signed, sealed, or "" for every status
    include_corrections: bool = False
    captured_from: datetime | None = None
    captured_to: datetime | None = None


@dataclass(frozen=True)
class Rejection:
    id: str
    reason: str
    detail: str
    device_id: str
    submission_id: str
    received_at: datetime
    field_errors: dict[str, str] = field(default_factory=dict)
    resolved: bool = False
    resolved_by: str = ""
    resolution_note: str = ""


@dataclass(frozen=True)
class RegisteredDevice:
    device: Device
    community_id: str
    description: str
    registered_by: str
    registered_at: datetime
    revoked_at: datetime | None = None
    # Kept by ``ActaRepository.ingest`` in the seal's transaction: the newest sealed
    # submission's seal time, and how many were sealed (redeliveries never count).
    last_submission_at: datetime | None = None
    submissions: int = 0


class DuplicateSubmission(Exception):
    """An acta with this submission id is stored already; ``body_sha256`` is what was stored."""

    def __init__(self, acta_id: str, body_sha256: str) -> None:
        super().__init__(acta_id)
        self.acta_id = acta_id
        self.body_sha256 = body_sha256


class ActaRepository(Protocol):
    """Persistence. Writes store the given events in the same atomic write (outbox)."""

    def add(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None: ...
    def update(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None: ...
    def get(self, acta_id: str) -> Acta | None: ...
    def images(self, acta_id: str) -> dict[str, bytes]: ...

    def seal(self, acta: Acta, sealing: Sealing) -> ChainEntry:
        """Seal the acta with the next folio of ``sealing.counter``, store it with the
        events ``sealing.seal`` returns and append it to the chain, in one transaction."""
        ...

    def ingest(self, acta: Acta, sealing: Sealing, images: dict[str, bytes], body_sha256: str) -> ChainEntry:
        """Seal (as ``seal``), insert and chain a kiosk acta atomically;
        DuplicateSubmission if its submission id is stored already."""
        ...

    def find_submission(self, submission_id: str) -> DuplicateSubmission | None: ...
    def query(self, query: ActaFilter) -> list[Acta]: ...
    def count(self, what: CountFilter) -> dict[str, int]: ...
    def amended_by(self, acta_id: str) -> list[str]: ...

    def chain_in_order(self) -> Iterator[ChainEntry]: ...
    def chain_entry(self, acta_id: str) -> ChainEntry | None: ...
    def sealed_actas(self) -> Iterator[Acta]: ...

    def add_device(self, device: RegisteredDevice) -> None: ...
    def get_device(self, device_id: str) -> RegisteredDevice | None: ...
    def revoke_device(self, device_id: str, when: datetime) -> RegisteredDevice | None: ...
    def list_devices(self) -> list[RegisteredDevice]: ...

    def put_staff(self, profile: StaffProfile) -> None: ...
    def staff(self, username: str) -> StaffProfile | None: ...
    def add_pairing_code(self, code: IssuedCode) -> None: ...
    def consume_pairing_code(
        self, code_sha256: str, device_id: str, public_key: str, when: datetime
    ) -> IssuedCode | None:
        """Mark an unused, unexpired code used by this device, atomically; None if
        there is no such code (wrong, expired or used)."""
        ...

    def pairing_code(self, code_sha256: str) -> IssuedCode | None: ...
    def release_pairing_code(self, code_sha256: str) -> None:
        """Make a consumed code usable again (the device could not be registered)."""
        ...

    def add_rejection(self, rejection: Rejection, events: Sequence[Event]) -> None: ...
    def list_rejections(self, include_resolved: bool, limit: int) -> list[Rejection]: ...
    def resolve_rejection(self, rejection_id: str, by: str, note: str) -> Rejection | None: ...


class Directory(Protocol):
    """Who the participants are: the beneficiaries service."""

    def people(self, beneficiary_ids: Sequence[str], fresh: bool = True) -> dict[str, Person]:
        """The known people among the ids; unknown ids are absent from the result.
        ``fresh=False`` allows answers cached for a few seconds."""
        ...

    def family_name(self, family_id: str) -> str | None:
        """The household's name ("" when it has none); None when there is no such household."""
        ...

    def community_name(self, community_id: str) -> str:
        """The community's name; "" when unknown."""
        ...


class EventRelay(Protocol):
    def flush(self, collection: str, aggregate_id: str) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
