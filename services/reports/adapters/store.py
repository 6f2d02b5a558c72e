"""The projection in MongoDB (its own database, ``crm_reports``), written only by
the consumers and read by the evaluator.

Collections (ids are the other services' ids, so every write is an idempotent
upsert):

- ``communities``: ``_id``, ``name``.
- ``households``: ``_id`` (family id), ``community_id``, ``name``, ``registered_on``,
  ``head_id`` (None: no head), ``visit_days`` (the distinct Colombian days of its
  sealed original actas, ``$addToSet``), ``first_visit`` and ``last_visit``
  (``$min``/``$max``).
- ``people``: the person's current state (``facts.Person``), ``version``-guarded.
- ``participations``: ``_id`` ``<acta>/<person>``, inserted once.
- ``productive_units`` and ``followup_actas``: see ``adapters.unit_store``.
- ``snapshots``: computed KPI values (``service_layer.kpis``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, MongoClient, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from crm_platform.mongo import DURABLE_WRITES
from services.reports.adapters.unit_store import UNIT_INDEXES, MongoUnits
from services.reports.domain.facts import HEAD, Person, Visit

DEFAULT_DB = "crm_reports"
# (group field, _id): a drill-down page of one group reads that group only, in id order.
INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "households": [
        [("community_id", ASCENDING), ("_id", ASCENDING)],
        [("visit_days", ASCENDING)],
        [("first_visit", ASCENDING)],
        [("head_id", ASCENDING)],
        # No index on registered_on: "registered by the cut-off date" matches nearly
        # every record, and a planner that chose it would read them all.
    ],
    "people": [
        [("family_id", ASCENDING), ("relationship", ASCENDING)],
        [("community_id", ASCENDING), ("_id", ASCENDING)],
        [("sex", ASCENDING), ("_id", ASCENDING)],
        [("birth_date", ASCENDING)],
    ],
    "participations": [
        [("beneficiary_id", ASCENDING)],
        [("day", ASCENDING)],
        [("community_id", ASCENDING), ("_id", ASCENDING)],
        [("gestor_id", ASCENDING), ("_id", ASCENDING)],
        [("sex", ASCENDING), ("_id", ASCENDING)],
        [("age_band", ASCENDING), ("_id", ASCENDING)],
    ],
    **UNIT_INDEXES,
}


def open_database(mongo_uri: str, db_name: str = DEFAULT_DB) -> tuple[MongoClient[dict[str, Any]], Database[Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True, **DURABLE_WRITES)
    db = client[db_name]
    for collection, indexes in INDEXES.items():
        for keys in indexes:
            db[collection].create_index(keys)
    return client, db


def _person(doc: dict[str, Any]) -> Person:
    return Person(
        id=doc["_id"],
        community_id=doc.get("community_id", ""),
        family_id=doc.get("family_id", ""),
        relationship=doc.get("relationship", ""),
        sex=doc.get("sex", ""),
        birth_date=doc.get("birth_date", ""),
        consents=dict(doc.get("consents") or {}),
        name=doc.get("name", ""),
        registered_on=doc.get("registered_on", ""),
        version=int(doc.get("version", 0)),
    )


class MongoProjection(MongoUnits):
    def __init__(self, db: Database[Any]) -> None:
        self.db = db

    def save_community(self, community_id: str, name: str) -> None:
        self.db.communities.update_one({"_id": community_id}, {"$set": {"name": name}}, upsert=True)

    def save_household(self, family_id: str, community_id: str, name: str, registered_on: str) -> None:
        self.db.households.update_one(
            {"_id": family_id},
            {
                "$set": {"community_id": community_id, "name": name, "registered_on": registered_on},
                "$setOnInsert": {"head_id": None},
            },
            upsert=True,
        )

    def person(self, person_id: str) -> Person | None:
        doc = self.db.people.find_one({"_id": person_id})
        return _person(doc) if doc else None

    def people(self, ids: Sequence[str]) -> dict[str, Person]:
        return {d["_id"]: _person(d) for d in self.db.people.find({"_id": {"$in": list(ids)}})}

    def save_person(self, person: Person) -> bool:
        fields = asdict(person)
        fields.pop("id")
        try:
            result = self.db.people.update_one(
                {"_id": person.id, "version": {"$lte": person.version}}, {"$set": fields}, upsert=True
            )
        except DuplicateKeyError:
            return False  # a newer version is stored: the filter missed, the insert collided
        return result.upserted_id is not None or result.matched_count == 1

    def refresh_head(self, family_id: str) -> None:
        head = self.db.people.find_one({"family_id": family_id, "relationship": HEAD}, {"_id": 1})
        # The household may not be projected yet (its event is on its way): keep the
        # head anyway; ``save_household`` fills in the rest.
        self.db.households.update_one(
            {"_id": family_id}, {"$set": {"head_id": head["_id"] if head else None}}, upsert=True
        )

    def participations_of(self, person_id: str) -> list[tuple[str, str]]:
        found = self.db.participations.find({"beneficiary_id": person_id}, {"day": 1})
        return [(d["_id"], d["day"]) for d in found]

    def set_participation_profile(self, participation_id: str, sex: str, age_band: str) -> None:
        self.db.participations.update_one({"_id": participation_id}, {"$set": {"sex": sex, "age_band": age_band}})

    def record_visit(self, visit: Visit) -> None:
        for p in visit.participations:
            doc = asdict(p)
            doc["_id"] = doc.pop("id")
            self.db.participations.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
        if visit.family_ids:
            self.db.households.bulk_write(
                [
                    UpdateOne(
                        {"_id": family_id},
                        {
                            "$addToSet": {"visit_days": visit.day},
                            "$min": {"first_visit": visit.day},
                            "$max": {"last_visit": visit.day},
                        },
                        upsert=True,
                    )
                    for family_id in visit.family_ids
                ]
            )


class MongoSnapshots:
    def __init__(self, db: Database[Any]) -> None:
        self.collection = db.snapshots

    def get(self, key: str) -> tuple[dict[str, Any], datetime] | None:
        doc = self.collection.find_one({"_id": key})
        return (doc["value"], doc["computed_at"]) if doc else None

    def put(self, key: str, value: dict[str, Any], computed_at: datetime) -> None:
        self.collection.replace_one({"_id": key}, {"value": value, "computed_at": computed_at}, upsert=True)
