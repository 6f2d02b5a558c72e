"""The projection's records, built from events (pure: no I/O).

- ``Person``: the current state of a person as the beneficiaries service holds it
  (read from it when one of its events names the person), with the ``version`` that
  orders updates: an older state never overwrites a newer one.
- ``Visit``: a sealed original acta (not a correction) and its participants, each
  with the sex and age band they had on the day of the acta. The content of an acta
  never enters the projection (not even its title: a restricted template's title may
  say what was recorded): only who, where, when and which template.

Days are Colombian calendar days (``America/Bogota``): an acta captured at 20:00 on
the 31st in La Guajira counts on the 31st.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from crm_platform.access import template_code
from services.reports.domain import ages

COLOMBIA = ZoneInfo("America/Bogota")
HEAD = "head"
UNKNOWN = "sin_dato"


def local_day(iso: str) -> str:
    """The Colombian calendar day (ISO) of an ISO instant."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.tzinfo is None:
        return when.date().isoformat()
    return when.astimezone(COLOMBIA).date().isoformat()


@dataclass(frozen=True)
class Person:
    id: str
    community_id: str
    family_id: str
    relationship: str
    sex: str
    birth_date: str
    consents: dict[str, bool]
    name: str
    registered_on: str
    version: int

    @property
    def is_head(self) -> bool:
        return self.relationship == HEAD


@dataclass(frozen=True)
class Participation:
    id: str  # "<acta_id>/<beneficiary_id>": one per person per acta
    acta_id: str
    beneficiary_id: str
    family_id: str
    community_id: str
    gestor_id: str
    template: str
    day: str
    sex: str = UNKNOWN
    age_band: str = ages.UNKNOWN


@dataclass(frozen=True)
class Visit:
    acta_id: str
    day: str
    community_id: str
    gestor_id: str
    template: str
    family_ids: tuple[str, ...]
    participations: tuple[Participation, ...] = field(default=())


def is_original(payload: dict[str, Any]) -> bool:
    """A correction (``amends`` set) re-records an acta: it is no new visit."""
    return not payload.get("amends")


def visit_of(payload: dict[str, Any], people: dict[str, Person]) -> Visit:
    """The visit an ``acta_sealed`` event records; ``people`` are the participants the
    projection knows (the others get UNKNOWN sex and age until their profile arrives)."""
    day = local_day(str(payload["captured_at"]))
    template = template_code(str(payload["template_key"]))
    seen: dict[str, Participation] = {}
    for ref in payload.get("participants") or []:
        person_id = str(ref["beneficiary_id"])
        if not person_id or person_id in seen:
            continue
        person = people.get(person_id)
        seen[person_id] = Participation(
            id=f"{payload['acta_id']}/{person_id}",
            acta_id=str(payload["acta_id"]),
            beneficiary_id=person_id,
            family_id=str(ref.get("family_id") or ""),
            community_id=str(payload.get("community_id") or ""),
            gestor_id=str(payload.get("gestor_id") or ""),
            template=template,
            day=day,
            **profile(person, day),
        )
    return Visit(
        acta_id=str(payload["acta_id"]),
        day=day,
        community_id=str(payload.get("community_id") or ""),
        gestor_id=str(payload.get("gestor_id") or ""),
        template=template,
        family_ids=tuple(sorted({str(f) for f in payload.get("family_ids") or [] if f})),
        participations=tuple(seen.values()),
    )


def profile(person: Person | None, day: str) -> dict[str, str]:
    """The sex and age band a participation records for ``person`` on ``day``."""
    if person is None:
        return {"sex": UNKNOWN, "age_band": ages.UNKNOWN}
    return {"sex": person.sex or UNKNOWN, "age_band": ages.band_of(person.birth_date, date.fromisoformat(day))}
