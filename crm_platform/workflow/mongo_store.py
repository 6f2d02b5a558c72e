"""The engine's storage over pymongo: ``<prefix>definitions``, ``<prefix>instances``
and ``<prefix>tasks`` in the service's database, with durable writes
(``crm_platform.mongo.DURABLE_WRITES``) and timezone-aware datetimes.

Every write that matters is one single-document write: a transition (state,
data, history entry, actions into the outbox) is one ``update_one`` conditional
on the version; announcing an overdue state entry is one ``update_one``
conditional on the entry and on it not being announced yet. So no transaction
is needed and nothing is ever half-written.

Range queries have both bounds (``$gte`` the epoch): on SecantusDB an open
``$lt`` walks the whole collection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from pymongo.write_concern import WriteConcern

from crm_platform.mongo import DURABLE_WRITES
from crm_platform.workflow.codec import (
    action_doc,
    action_from,
    history_doc,
    instance_doc,
    instance_from,
    state_fields,
    task_doc,
    task_from,
)
from crm_platform.workflow.errors import VersionConflict
from crm_platform.workflow.model import HistoryEntry, Instance, PendingAction, Task
from crm_platform.workflow.store import InstanceExists

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LIGHT = {"history": 0}  # lists and overdue scans do not need the whole history


class MongoWorkflowStore:
    def __init__(self, db: Database, prefix: str = "workflow_") -> None:
        db = db.with_options(
            codec_options=CodecOptions(tz_aware=True, tzinfo=UTC),
            write_concern=WriteConcern(w=DURABLE_WRITES["w"], j=DURABLE_WRITES["journal"]),
        )
        self.definitions = db[f"{prefix}definitions"]
        self.instances = db[f"{prefix}instances"]
        self.task_docs = db[f"{prefix}tasks"]

    def ensure_indexes(self) -> None:
        self.definitions.create_indexes([IndexModel([("component", ASCENDING), ("version", DESCENDING)], unique=True)])
        self.instances.create_indexes(
            [
                IndexModel([("due_at", ASCENDING)]),
                IndexModel([("component", ASCENDING), ("due_at", ASCENDING)]),
                IndexModel([("overdue_pending_at", ASCENDING)]),
                IndexModel([("outbox.created_at", ASCENDING)]),
                IndexModel([("component", ASCENDING), ("state", ASCENDING)]),
            ]
        )
        self.task_docs.create_indexes([IndexModel([("instance_id", ASCENDING)]), IndexModel([("due_at", ASCENDING)])])

    def publish_definition(self, component: str, document: dict[str, Any], at: datetime, actor: str) -> int:
        while True:  # two publishers at once: the unique index picks one, the other takes the next number
            latest = self.definitions.find_one({"component": component}, {"version": 1}, sort=[("version", -1)])
            version = (latest["version"] if latest else 0) + 1
            try:
                self.definitions.insert_one(
                    {
                        "_id": f"{component}@{version}",
                        "component": component,
                        "version": version,
                        "document": document,
                        "published_at": at,
                        "published_by": actor,
                    }
                )
            except DuplicateKeyError:
                continue
            return version

    def definition_document(self, component: str, version: int | None = None) -> tuple[int, dict[str, Any]] | None:
        selector: dict[str, Any] = {"component": component}
        if version is not None:
            selector["version"] = version
        doc = self.definitions.find_one(selector, sort=[("version", -1)])
        return (doc["version"], doc["document"]) if doc else None

    def insert_instance(self, instance: Instance) -> None:
        try:
            self.instances.insert_one(instance_doc(instance))
        except DuplicateKeyError:
            raise InstanceExists(instance.id) from None

    def get_instance(self, instance_id: str) -> Instance | None:
        doc = self.instances.find_one({"_id": instance_id})
        return instance_from(doc) if doc else None

    def commit(
        self, instance: Instance, expected_version: int, entry: HistoryEntry, actions: list[PendingAction]
    ) -> None:
        result = self.instances.update_one(
            {"_id": instance.id, "version": expected_version},
            {
                "$set": state_fields(instance),
                "$push": {"history": history_doc(entry), "outbox": {"$each": [action_doc(a) for a in actions]}},
            },
        )
        if result.matched_count == 0:
            raise VersionConflict("El registro cambió mientras lo editaba: vuelva a cargarlo e intente de nuevo")

    def pending_actions(self, instance_id: str) -> list[PendingAction]:
        doc = self.instances.find_one({"_id": instance_id}, {"outbox": 1})
        return [action_from(a) for a in (doc or {}).get("outbox") or []]

    def remove_actions(self, instance_id: str, action_ids: list[str]) -> None:
        self.instances.update_one({"_id": instance_id}, {"$pull": {"outbox": {"id": {"$in": action_ids}}}})

    def with_pending_actions(self, created_before: datetime, limit: int) -> list[str]:
        pending = {"outbox.created_at": {"$gte": _EPOCH, "$lt": created_before}}
        return [d["_id"] for d in self.instances.find(pending, {"_id": 1}).limit(limit)]

    def overdue(self, now: datetime, component: str | None, limit: int) -> list[Instance]:
        selector: dict[str, Any] = {"due_at": {"$gte": _EPOCH, "$lt": now}}
        if component is not None:
            selector["component"] = component
        cursor = self.instances.find(selector, _LIGHT).sort("due_at", ASCENDING).limit(limit)
        return [instance_from(d) for d in cursor]

    def unannounced_overdue(self, now: datetime, limit: int) -> list[Instance]:
        selector = {"overdue_pending_at": {"$gte": _EPOCH, "$lt": now}}
        cursor = self.instances.find(selector, _LIGHT).sort("overdue_pending_at", ASCENDING).limit(limit)
        return [instance_from(d) for d in cursor]

    def announce_overdue(self, instance_id: str, seq: int, action: PendingAction) -> bool:
        result = self.instances.update_one(
            {"_id": instance_id, "seq": seq, "overdue_pending_at": {"$ne": None}},
            {"$set": {"overdue_pending_at": None}, "$push": {"outbox": action_doc(action)}},
        )
        return result.modified_count == 1

    def add_task(self, task: Task) -> None:
        # Insert only if absent: a re-run action finds its task there and changes nothing.
        fields = {k: v for k, v in task_doc(task).items() if k != "_id"}
        self.task_docs.update_one({"_id": task.id}, {"$setOnInsert": fields}, upsert=True)

    def tasks(self, instance_id: str) -> list[Task]:
        return [task_from(d) for d in self.task_docs.find({"instance_id": instance_id}).sort("created_at", 1)]

    def task(self, task_id: str) -> Task | None:
        doc = self.task_docs.find_one({"_id": task_id})
        return task_from(doc) if doc else None

    def complete_task(self, task_id: str, by: str, at: datetime) -> bool:
        result = self.task_docs.update_one({"_id": task_id, "done_at": None}, {"$set": {"done_by": by, "done_at": at}})
        return result.modified_count == 1
