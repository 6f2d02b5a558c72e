"""In-memory stand-ins of the reports service's ports, with the adapters' rules:
version-guarded people, participations inserted once, visit days as a set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.reports.domain.facts import HEAD, Participation, Person, Visit
from services.reports.domain.units import Unit


@dataclass
class FakeProjection:
    communities: dict[str, str] = field(default_factory=dict)
    households: dict[str, dict[str, Any]] = field(default_factory=dict)
    people_by_id: dict[str, Person] = field(default_factory=dict)
    participations: dict[str, Participation] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    acta_days: dict[str, tuple[str, str]] = field(default_factory=dict)

    def save_community(self, community_id: str, name: str) -> None:
        self.communities[community_id] = name

    def _household(self, family_id: str) -> dict[str, Any]:
        return self.households.setdefault(family_id, {"head_id": None, "visit_days": set()})

    def save_household(self, family_id: str, community_id: str, name: str, registered_on: str) -> None:
        self._household(family_id).update(community_id=community_id, name=name, registered_on=registered_on)

    def person(self, person_id: str) -> Person | None:
        return self.people_by_id.get(person_id)

    def people(self, ids: Sequence[str]) -> dict[str, Person]:
        return {i: self.people_by_id[i] for i in ids if i in self.people_by_id}

    def save_person(self, person: Person) -> bool:
        stored = self.people_by_id.get(person.id)
        if stored is not None and stored.version > person.version:
            return False
        self.people_by_id[person.id] = person
        return True

    def refresh_head(self, family_id: str) -> None:
        heads = sorted(p.id for p in self.people_by_id.values() if p.family_id == family_id and p.relationship == HEAD)
        self._household(family_id)["head_id"] = heads[0] if heads else None

    def participations_of(self, person_id: str) -> list[tuple[str, str]]:
        return [(p.id, p.day) for p in self.participations.values() if p.beneficiary_id == person_id]

    def set_participation_profile(self, participation_id: str, sex: str, age_band: str) -> None:
        found = self.participations[participation_id]
        self.participations[participation_id] = replace(found, sex=sex, age_band=age_band)

    def record_visit(self, visit: Visit) -> None:
        for p in visit.participations:
            self.participations.setdefault(p.id, p)
        for family_id in visit.family_ids:
            self._household(family_id)["visit_days"].add(visit.day)

    def unit(self, unit_id: str) -> Unit | None:
        return self.units.get(unit_id)

    def change_unit(self, unit_id: str, change: Callable[[Unit], Unit]) -> Unit:
        self.units[unit_id] = change(self.units.get(unit_id) or Unit(unit_id))
        return self.units[unit_id]

    def units_owned_by(self, person_id: str) -> list[str]:
        return sorted(u.id for u in self.units.values() if person_id in u.owner_ids)

    def units_with_followup(self, acta_id: str) -> list[str]:
        return sorted(u.id for u in self.units.values() if acta_id in u.followups)

    def save_followup_acta(self, acta_id: str, day: str, at: str) -> None:
        self.acta_days[acta_id] = (day, at)

    def followup_acta(self, acta_id: str) -> tuple[str, str] | None:
        return self.acta_days.get(acta_id)


@dataclass
class FakeDirectory:
    people: dict[str, Person] = field(default_factory=dict)
    calls: int = 0

    def person(self, person_id: str) -> Person | None:
        self.calls += 1
        return self.people.get(person_id)


@dataclass
class FakeSnapshots:
    stored: dict[str, tuple[dict[str, Any], datetime]] = field(default_factory=dict)

    def get(self, key: str) -> tuple[dict[str, Any], datetime] | None:
        return self.stored.get(key)

    def put(self, key: str, value: dict[str, Any], computed_at: datetime) -> None:
        self.stored[key] = (value, computed_at)
