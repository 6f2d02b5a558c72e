"""Keeping the projection from events (at-least-once, in any order).

- ``community_registered`` and ``family_registered``: the community's name, the
  household and its community.
- ``beneficiary_registered``, ``beneficiary_updated``, ``consent_changed``: the
  person's current state is read from the beneficiaries service (the events carry
  neither birth date nor sex nor consents on purpose) and stored unless a newer
  version is; then the heads of the household they left and joined are
  recomputed, and their participations get their sex and age band.
- ``acta_sealed`` of an original acta: its participations and its households'
  visit days. Corrections are not visits. A follow-up acta's seal also dates the
  follow-up of a productive unit it evidences.
- the income service's ``productive_unit_registered``, ``stage_changed`` and
  ``followup_recorded``: the productive units (``service_layer.unit_projection``).

Each step is idempotent, so a redelivered event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.reports.domain import facts
from services.reports.service_layer.ports import Directory, Projection
from services.reports.service_layer.unit_projection import INCOME_EVENTS, UnitHandlers

PERSON_EVENTS = ("beneficiary_registered", "beneficiary_updated", "consent_changed")


@dataclass
class ProjectionHandlers:
    store: Projection
    directory: Directory

    @property
    def units(self) -> UnitHandlers:
        return UnitHandlers(self.store, self.directory)

    def handle(self, source: str, event_type: str, payload: dict[str, Any]) -> dict[str, str | int | bool]:
        """Apply one event; returns attributes for the consumer's span."""
        if (source, event_type) == ("beneficiaries", "community_registered"):
            self.store.save_community(payload["community_id"], payload["name"])
        elif (source, event_type) == ("beneficiaries", "family_registered"):
            self.store.save_household(
                payload["family_id"], payload["community_id"], payload["name"], facts.local_day(payload["occurred_at"])
            )
        elif source == "beneficiaries" and event_type in PERSON_EVENTS:
            previous = payload.get("previous_family_id") or ""
            return {"crm.reports.stored": self.on_person(payload["beneficiary_id"], previous)}
        elif source == "income" and event_type in INCOME_EVENTS:
            return self.units.handle(event_type, payload)
        elif (source, event_type) == ("actas", "acta_sealed"):
            self.units.on_followup_acta(payload)
            if not facts.is_original(payload):
                return {"crm.reports.visit": False}
            ids = [str(p["beneficiary_id"]) for p in payload.get("participants") or []]
            self.store.record_visit(facts.visit_of(payload, self.store.people(ids)))
            return {"crm.reports.visit": True}
        return {}

    def on_person(self, person_id: str, previous_family_id: str = "") -> bool:
        stored = self.store.person(person_id)
        person = self.directory.person(person_id)
        if person is None:
            return False
        written = self.store.save_person(person)
        families = {person.family_id, previous_family_id, stored.family_id if stored else ""} - {""}
        for family_id in sorted(families):
            self.store.refresh_head(family_id)
        for participation_id, day in self.store.participations_of(person_id):
            profile = facts.profile(person, day)
            self.store.set_participation_profile(participation_id, profile["sex"], profile["age_band"])
        self.units.on_owner(person)
        return written


def today_in_colombia() -> date:
    return datetime.now(facts.COLOMBIA).date()
