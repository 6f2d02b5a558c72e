"""MongoDB collections of the income service: ``units`` (one document per UP, with
its stage history, plan versions, follow-ups and outbox) and ``trainings``."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from crm_platform import errors as vocabulary
from crm_platform.mongo import DURABLE_WRITES

DEFAULT_DB = "crm_income"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_OUTBOX = {"outbox": 0}


class MongoIncomeStore:
    def __init__(self, mongo_uri: str, db_name: str = DEFAULT_DB) -> None:
        self.client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True, **DURABLE_WRITES)
        db = self.client[db_name]
        self.units: Collection[dict[str, Any]] = db["units"]
        self.trainings: Collection[dict[str, Any]] = db["trainings"]
        self.units.create_index([("community_id", ASCENDING), ("created_at", DESCENDING)])
        self.units.create_index([("stage", ASCENDING), ("created_at", DESCENDING)])
        self.units.create_index("created_at")
        self.units.create_index("outbox.created_at")
        self.units.create_index("workflow_pending.at")
        self.trainings.create_index([("unit_id", ASCENDING), ("held_at", ASCENDING)])
        self.trainings.create_index([("community_id", ASCENDING), ("held_at", ASCENDING)])

    def close(self) -> None:
        self.client.close()

    # -- units (the UnitStore port) --------------------------------------------------------
    def get(self, unit_id: str) -> dict[str, Any] | None:
        return self.units.find_one({"_id": unit_id}, NO_OUTBOX)

    def insert(self, doc: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> None:
        try:
            self.units.insert_one({**doc, "outbox": list(events)})
        except DuplicateKeyError:
            raise vocabulary.AlreadyExists(f"La unidad productiva {doc['_id']} ya existe") from None

    def replace(self, doc: Mapping[str, Any], expected_rev: int, events: Sequence[Mapping[str, Any]]) -> bool:
        fields = {k: v for k, v in doc.items() if k not in ("_id", "outbox")}
        update: dict[str, Any] = {"$set": fields}
        if events:
            update["$push"] = {"outbox": {"$each": list(events)}}
        return self.units.update_one({"_id": doc["_id"], "rev": expected_rev}, update).modified_count == 1

    def interrupted(self, before: datetime, limit: int = 100) -> list[str]:
        """UPs with a stage-change marker older than ``before`` (see ``stage_flow``)."""
        selector = {"workflow_pending.at": {"$gte": _EPOCH, "$lt": before}}  # bounded: see crm_platform.outbox
        return [d["_id"] for d in self.units.find(selector, {"_id": 1}).limit(limit)]

    def find(self, community_id: str, stage: str, limit: int) -> list[dict[str, Any]]:
        selector = {k: v for k, v in (("community_id", community_id), ("stage", stage)) if v}
        projection = {"outbox": 0, "plans": 0, "history": 0, "followups": 0}
        return list(self.units.find(selector, projection).sort("created_at", DESCENDING).limit(limit))


class MongoTrainingStore:
    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.trainings = collection

    def insert(self, doc: Mapping[str, Any]) -> None:
        with contextlib.suppress(DuplicateKeyError):
            self.trainings.insert_one(dict(doc))

    def find(self, unit_id: str, community_id: str) -> list[dict[str, Any]]:
        selector = {"unit_id": unit_id} if unit_id else {"community_id": community_id}
        return list(self.trainings.find(selector).sort("held_at", ASCENDING).limit(1000))
