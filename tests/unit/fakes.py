"""In-memory fakes of the beneficiaries service's ports (service_layer/ports.py).

They keep the rules the real adapters enforce, so a use case tested here fails the
same way it would against MongoDB: a unique national ID key, one head per family
and optimistic versioning, raising the domain errors ``MongoRepository`` raises.
Aggregates are stored and returned as copies, as a database would, so a use case
that mutates an entity and then fails leaves the store untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.beneficiaries.adapters.crypto import AesGcmTemplateCipher
from services.beneficiaries.domain.errors import AlreadyExists, Conflict
from services.beneficiaries.domain.model import Beneficiary, Community, Event, Family
from services.beneficiaries.domain.name_index import NameIndexEntry
from services.beneficiaries.domain.normalise import ID_TYPE_NAMES
from services.beneficiaries.domain.timeline import TimelineEntry
from services.beneficiaries.service_layer.handlers import (
    BENEFICIARIES,
    COMMUNITIES,
    FAMILIES,
    BeneficiaryHandlers,
)

TEST_KEY_ID = "test1"
TEST_KEY = bytes(range(32))


class FakeRepository:
    def __init__(self) -> None:
        self.communities: dict[str, Community] = {}
        self.families: dict[str, Family] = {}
        self.beneficiaries: dict[str, Beneficiary] = {}
        self.timeline_entries: dict[str, TimelineEntry] = {}
        # Events written with each aggregate and not yet published, by (collection, id).
        self.outbox: dict[tuple[str, str], list[Event]] = {}
        self.searches: list[tuple[list[str], str | None, int]] = []
        self.name_index: list[NameIndexEntry] = []

    # -- communities -----------------------------------------------------------
    def add_community(self, community: Community, events: Sequence[Event]) -> None:
        if community.id in self.communities:
            raise AlreadyExists("id", "El registro ya existe")
        self.communities[community.id] = copy.deepcopy(community)
        self._append_outbox(COMMUNITIES, community.id, events)

    def get_community(self, community_id: str) -> Community | None:
        return copy.deepcopy(self.communities.get(community_id))

    def list_communities(self) -> list[Community]:
        return [copy.deepcopy(c) for c in sorted(self.communities.values(), key=lambda c: c.name)]

    # -- families --------------------------------------------------------------
    def add_family(self, family: Family, events: Sequence[Event]) -> None:
        if family.id in self.families:
            raise AlreadyExists("id", "El registro ya existe")
        self.families[family.id] = copy.deepcopy(family)
        self._append_outbox(FAMILIES, family.id, events)

    def get_family(self, family_id: str) -> Family | None:
        return copy.deepcopy(self.families.get(family_id))

    def family_members(self, family_id: str) -> list[Beneficiary]:
        members = [b for b in self.beneficiaries.values() if b.family_id == family_id]
        members.sort(key=lambda b: (b.relationship != "head", b.birth_date))
        return copy.deepcopy(members)

    def family_head(self, family_id: str) -> Beneficiary | None:
        for person in self.beneficiaries.values():
            if person.family_id == family_id and person.relationship == "head":
                return copy.deepcopy(person)
        return None

    # -- beneficiaries ---------------------------------------------------------
    def add_beneficiary(self, person: Beneficiary, events: Sequence[Event]) -> None:
        if person.id in self.beneficiaries:
            raise AlreadyExists("id", "El registro ya existe")
        self._check_unique(person)
        self.beneficiaries[person.id] = copy.deepcopy(person)
        self._append_outbox(BENEFICIARIES, person.id, events)

    def update_beneficiary(self, person: Beneficiary, events: Sequence[Event]) -> None:
        stored = self.beneficiaries.get(person.id)
        if stored is None or stored.version != person.version - 1:
            raise Conflict("El registro cambió mientras se editaba; vuelva a intentarlo", field="version")
        self._check_unique(person)
        self.beneficiaries[person.id] = copy.deepcopy(person)
        self._append_outbox(BENEFICIARIES, person.id, events)

    def names(self, beneficiary_ids: Sequence[str], family_ids: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        people = {
            i: f"{b.first_names} {b.last_names}".strip()
            for i in beneficiary_ids
            if (b := self.beneficiaries.get(i)) is not None
        }
        return people, {i: f.name for i in family_ids if (f := self.families.get(i)) is not None}

    def get_beneficiary(self, beneficiary_id: str) -> Beneficiary | None:
        return copy.deepcopy(self.beneficiaries.get(beneficiary_id))

    def get_by_national_id(self, key: str) -> Beneficiary | None:
        for person in self.beneficiaries.values():
            if person.national_id_key == key:
                return copy.deepcopy(person)
        return None

    def community_members(self, community_id: str, after_id: str, limit: int) -> list[Beneficiary]:
        members = sorted(
            (b for b in self.beneficiaries.values() if b.community_id == community_id and b.id > after_id),
            key=lambda b: b.id,
        )
        return members[:limit]

    def search(self, tokens: list[str], community_id: str | None, limit: int) -> list[Beneficiary]:
        """Every query token must prefix one of the person's search tokens."""
        self.searches.append((list(tokens), community_id, limit))
        found = [
            b
            for b in self.beneficiaries.values()
            if all(any(t.startswith(q) for t in b.search_tokens) for q in tokens)
            and (community_id is None or b.community_id == community_id)
        ]
        found.sort(key=lambda b: (b.last_names, b.first_names))
        return copy.deepcopy(found[:limit])

    # -- timeline --------------------------------------------------------------
    def index_names(self, entries: Sequence[NameIndexEntry]) -> None:
        self.name_index.extend(entries)

    def append_timeline(self, entries: Sequence[TimelineEntry]) -> int:
        added = 0
        for entry in entries:
            # Entry ids derive from the source event: a redelivery inserts nothing.
            if entry.id not in self.timeline_entries:
                self.timeline_entries[entry.id] = entry
                added += 1
        return added

    def timeline(self, subject_type: str, subject_id: str, limit: int) -> list[TimelineEntry]:
        entries = [
            e for e in self.timeline_entries.values() if e.subject_type == subject_type and e.subject_id == subject_id
        ]
        entries.sort(key=lambda e: e.occurred_at, reverse=True)
        return entries[:limit]

    # -- helpers ---------------------------------------------------------------
    def events_of(self, collection: str, aggregate_id: str) -> list[Event]:
        return list(self.outbox.get((collection, aggregate_id), []))

    def _append_outbox(self, collection: str, aggregate_id: str, events: Sequence[Event]) -> None:
        self.outbox.setdefault((collection, aggregate_id), []).extend(copy.deepcopy(list(events)))

    def _check_unique(self, person: Beneficiary) -> None:
        for other in self.beneficiaries.values():
            if other.id == person.id:
                continue
            if other.national_id_key == person.national_id_key:
                raise AlreadyExists(
                    "national_id",
                    f"Ya existe un beneficiario con {ID_TYPE_NAMES[person.id_type]} {person.id_number}",
                )
            if (
                person.relationship == "head"
                and other.relationship == "head"
                and person.family_id is not None
                and other.family_id == person.family_id
            ):
                raise Conflict("El hogar ya tiene jefe de hogar", field="relationship")


@dataclass(frozen=True)
class Flush:
    collection: str
    aggregate_id: str
    # What the outbox held when the relay ran: empty if it ran before the write.
    published: tuple[Event, ...]


class FakeRelay:
    """Publishes (records) and clears an aggregate's outbox, like ``OutboxRelay``."""

    def __init__(self, repo: FakeRepository) -> None:
        self._repo = repo
        self.flushes: list[Flush] = []

    def flush(self, collection: str, aggregate_id: str) -> None:
        events = self._repo.outbox.pop((collection, aggregate_id), [])
        self.flushes.append(Flush(collection, aggregate_id, tuple(events)))

    @property
    def published(self) -> list[Event]:
        return [event for f in self.flushes for event in f.published]


class FakeClock:
    def __init__(self, now: datetime = datetime(2024, 5, 6, 15, 30, tzinfo=UTC)) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@dataclass
class Harness:
    handlers: BeneficiaryHandlers
    repo: FakeRepository
    relay: FakeRelay
    clock: FakeClock
    cipher: AesGcmTemplateCipher = field(repr=False)


def make_handlers(clock: FakeClock | None = None) -> Harness:
    repo = FakeRepository()
    relay = FakeRelay(repo)
    clock = clock or FakeClock()
    cipher = AesGcmTemplateCipher({TEST_KEY_ID: TEST_KEY})
    handlers = BeneficiaryHandlers(repo=repo, relay=relay, cipher=cipher, clock=clock)
    return Harness(handlers, repo, relay, clock, cipher)
