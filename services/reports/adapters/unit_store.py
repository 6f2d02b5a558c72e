"""Productive units in the projection (MongoDB).

- ``productive_units``: one document per UP (``_id`` the income service's id): the
  merged ``domain.units.Unit`` (``stages``, ``owner_sexes`` and ``followups`` as
  lists) plus what queries read: ``stage``, ``implemented_on`` (absent until the UP
  reaches implementation), ``sex``, and per follow-up ``day`` and ``positive``.
  Every change is a read, a pure merge and a write conditional on ``rev``
  (another consumer's write in between makes it start over on the fresh copy).
- ``followup_actas``: ``_id`` acta id, ``day``, ``at``: the sealed follow-up actas,
  so a follow-up recorded after its seal was seen finds its day.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from crm_platform import errors
from services.reports.domain.units import Followup, Unit

ATTEMPTS = 20
UNIT_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "productive_units": [
        [("implemented_on", ASCENDING)],
        [("followups.acta_id", ASCENDING)],
        [("owner_ids", ASCENDING)],
        [("community_id", ASCENDING), ("_id", ASCENDING)],
        [("sector", ASCENDING), ("_id", ASCENDING)],
        [("kind", ASCENDING), ("_id", ASCENDING)],
        [("sex", ASCENDING), ("_id", ASCENDING)],
    ],
}


def unit_doc(unit: Unit) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": unit.id,
        "name": unit.name,
        "family_id": unit.family_id,
        "owner_ids": list(unit.owner_ids),
        "community_id": unit.community_id,
        "sector": unit.sector,
        "kind": unit.kind,
        "registered_on": unit.registered_on,
        "stages": [[v, s, d] for v, (s, d) in sorted(unit.stages.items())],
        "owner_sexes": sorted([k, v] for k, v in unit.owner_sexes.items()),
        "followups": [
            {
                "acta_id": f.acta_id,
                "operating": f.operating,
                "monthly_sales": f.monthly_sales,
                "day": f.day,
                "at": f.at,
                "positive": f.positive,
            }
            for f in sorted(unit.followups.values(), key=lambda f: f.acta_id)
        ],
        "stage": unit.stage,
        "sex": unit.sex,
    }
    if unit.implemented_on is not None:
        doc["implemented_on"] = unit.implemented_on
    return doc


def followups_of(doc: dict[str, Any]) -> dict[str, Followup]:
    return {
        f["acta_id"]: Followup(
            f["acta_id"], bool(f.get("operating")), str(f.get("monthly_sales") or "0"), f.get("day"), f.get("at") or ""
        )
        for f in doc.get("followups") or []
    }


def unit_of(doc: dict[str, Any]) -> Unit:
    return Unit(
        id=doc["_id"],
        name=doc.get("name", ""),
        family_id=doc.get("family_id", ""),
        owner_ids=tuple(doc.get("owner_ids") or ()),
        community_id=doc.get("community_id", ""),
        sector=doc.get("sector", ""),
        kind=doc.get("kind", ""),
        registered_on=doc.get("registered_on", ""),
        stages={int(v): (s, d) for v, s, d in doc.get("stages") or []},
        owner_sexes={k: v for k, v in doc.get("owner_sexes") or []},
        followups=followups_of(doc),
    )


class MongoUnits:
    db: Database[Any]

    def unit(self, unit_id: str) -> Unit | None:
        doc = self.db.productive_units.find_one({"_id": unit_id})
        return unit_of(doc) if doc else None

    def change_unit(self, unit_id: str, change: Callable[[Unit], Unit]) -> Unit:
        units = self.db.productive_units
        for _ in range(ATTEMPTS):
            doc = units.find_one({"_id": unit_id})
            current = unit_of(doc) if doc else Unit(unit_id)
            changed = change(current)
            if doc is not None and changed == current:
                return current
            fresh = unit_doc(changed)
            if doc is None:
                try:
                    units.insert_one({**fresh, "rev": 1})
                    return changed
                except DuplicateKeyError:
                    continue  # another consumer created it: merge into theirs
            if units.replace_one({"_id": unit_id, "rev": doc["rev"]}, {**fresh, "rev": doc["rev"] + 1}).matched_count:
                return changed
        raise errors.Unavailable(f"productive unit {unit_id} changes too fast")  # the consumer requeues it

    def units_owned_by(self, person_id: str) -> list[str]:
        return [d["_id"] for d in self.db.productive_units.find({"owner_ids": person_id}, {"_id": 1})]

    def units_with_followup(self, acta_id: str) -> list[str]:
        return [d["_id"] for d in self.db.productive_units.find({"followups.acta_id": acta_id}, {"_id": 1})]

    def save_followup_acta(self, acta_id: str, day: str, at: str) -> None:
        self.db.followup_actas.update_one({"_id": acta_id}, {"$set": {"day": day, "at": at}}, upsert=True)

    def followup_acta(self, acta_id: str) -> tuple[str, str] | None:
        doc = self.db.followup_actas.find_one({"_id": acta_id})
        return (doc["day"], doc.get("at") or "") if doc else None
