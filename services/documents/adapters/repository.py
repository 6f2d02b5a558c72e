"""MongoDB records of the documents, with their outbox: one per sealed acta
(collection ``documents``) and one per approved action plan version (collection
``plan_documents``, the same records through the same class).

A producer holds a pending record under a lease (``lease_owner``, ``leased_until``)
taken by one conditional update; storing the document and recording a failure are
conditional on still holding it. While a record is leased its ``next_attempt_at``
is the lease's end, so the retry loop finds it again only if its holder died."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import mongoengine
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from crm_platform.mongo import DURABLE_WRITES
from services.documents.service_layer.ports import DocumentRecord, Lease

DB_ALIAS = "documents"
DEFAULT_DB = "crm_documents"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_OUTBOX = {"outbox": 0}


class DocumentDoc(mongoengine.Document):
    meta: dict[str, Any] = {
        "collection": "documents",
        "db_alias": DB_ALIAS,
        "indexes": [("status", "next_attempt_at"), "outbox.created_at"],
    }
    id = mongoengine.StringField(primary_key=True)  # the acta id: one document per acta
    status = mongoengine.StringField(required=True)
    attempts = mongoengine.IntField(default=0)
    last_error = mongoengine.StringField()
    next_attempt_at = mongoengine.DateTimeField()
    object_key = mongoengine.StringField()
    sha256 = mongoengine.StringField()
    size_bytes = mongoengine.IntField()
    pades_signed = mongoengine.BooleanField()
    stored_at = mongoengine.DateTimeField()
    acta_content_hash = mongoengine.StringField()
    template_key = mongoengine.StringField()
    lease_owner = mongoengine.StringField()
    leased_until = mongoengine.DateTimeField()
    outbox = mongoengine.ListField(mongoengine.DictField())


PLAN_DOCUMENTS = "plan_documents"


def connect(mongo_uri: str, db_name: str = DEFAULT_DB) -> None:
    mongoengine.disconnect(alias=DB_ALIAS)
    mongoengine.connect(db=db_name, host=mongo_uri, alias=DB_ALIAS, tz_aware=True, **DURABLE_WRITES)
    DocumentDoc.ensure_indexes()
    plans = mongoengine.get_db(DB_ALIAS)[PLAN_DOCUMENTS]
    plans.create_index([("status", 1), ("next_attempt_at", 1)])
    plans.create_index([("outbox.created_at", 1)])


def disconnect() -> None:
    mongoengine.disconnect(alias=DB_ALIAS)


class MongoDocumentRepository:
    """The records of one collection: the actas' (default) or ``collection``'s,
    e.g. ``PLAN_DOCUMENTS``; ``documents`` is the collection (and its outbox)."""

    def __init__(self, collection: str = "") -> None:
        self.documents: Collection = (
            mongoengine.get_db(DB_ALIAS)[collection] if collection else DocumentDoc._get_collection()
        )

    def ensure_pending(self, acta_id: str, now: datetime, lease: Lease | None = None) -> DocumentRecord:
        held = {"lease_owner": lease.owner, "leased_until": lease.until} if lease else {}
        due_at = lease.until if lease else now
        with contextlib.suppress(DuplicateKeyError):  # known already: a redelivered event
            self.documents.insert_one(
                {"_id": acta_id, "status": "pending", "attempts": 0, "next_attempt_at": due_at, **held, "outbox": []}
            )
        found = self.get(acta_id)
        assert found is not None
        return found

    def get(self, acta_id: str) -> DocumentRecord | None:
        raw = self.documents.find_one({"_id": acta_id}, NO_OUTBOX)
        return _record(raw) if raw else None

    def claim(self, acta_id: str, lease: Lease, now: datetime) -> DocumentRecord | None:
        # One conditional write: pending, and nobody holds it or the holder's lease
        # ended. (update_one, not find_one_and_update: several times cheaper on SecantusDB.)
        selector = {
            "_id": acta_id,
            "status": "pending",
            "$or": [{"leased_until": None}, {"leased_until": {"$lte": now}}],
        }
        held = {"lease_owner": lease.owner, "leased_until": lease.until, "next_attempt_at": lease.until}
        if self.documents.update_one(selector, {"$set": held}).modified_count != 1:
            return None
        found = self.get(acta_id)
        return found if found is not None and found.lease_owner == lease.owner else None

    def renew(self, acta_id: str, lease: Lease) -> bool:
        result = self.documents.update_one(
            _held_by(acta_id, lease.owner), {"$set": {"leased_until": lease.until, "next_attempt_at": lease.until}}
        )
        return result.matched_count == 1  # matched: an unchanged end time is still held

    def mark_stored(self, record: DocumentRecord, owner: str, event: Mapping[str, object]) -> bool:
        now = datetime.now(UTC)
        result = self.documents.update_one(
            _held_by(record.acta_id, owner),
            {
                "$set": {
                    "status": "stored",
                    "attempts": record.attempts,
                    "last_error": "",
                    "next_attempt_at": None,
                    "object_key": record.object_key,
                    "sha256": record.sha256,
                    "size_bytes": record.size_bytes,
                    "pades_signed": record.pades_signed,
                    "stored_at": record.stored_at,
                    "acta_content_hash": record.acta_content_hash,
                    "template_key": record.template_key,
                    "lease_owner": None,
                    "leased_until": None,
                },
                "$push": {"outbox": {**event, "created_at": now}},
            },
        )
        return result.modified_count == 1

    def mark_failed(self, acta_id: str, owner: str, error: str, attempts: int, next_attempt_at: datetime) -> None:
        self.documents.update_one(
            _held_by(acta_id, owner),
            {
                "$set": {
                    "attempts": attempts,
                    "last_error": error,
                    "next_attempt_at": next_attempt_at,
                    "lease_owner": None,
                    "leased_until": None,
                }
            },
        )

    def due(self, now: datetime, limit: int) -> list[str]:
        # A bounded range, so the store walks only the due records of the index.
        selector = {"status": "pending", "next_attempt_at": {"$gte": _EPOCH, "$lte": now}}
        return [raw["_id"] for raw in self.documents.find(selector, {"_id": 1}).limit(limit)]


def _held_by(acta_id: str, owner: str) -> dict[str, Any]:
    return {"_id": acta_id, "status": "pending", "lease_owner": owner}


def _record(raw: dict[str, Any]) -> DocumentRecord:
    return DocumentRecord(
        acta_id=raw["_id"],
        status=raw["status"],
        attempts=raw.get("attempts") or 0,
        last_error=raw.get("last_error") or "",
        next_attempt_at=raw.get("next_attempt_at"),
        object_key=raw.get("object_key") or "",
        sha256=raw.get("sha256") or "",
        size_bytes=raw.get("size_bytes") or 0,
        pades_signed=bool(raw.get("pades_signed")),
        stored_at=raw.get("stored_at"),
        acta_content_hash=raw.get("acta_content_hash") or "",
        template_key=raw.get("template_key") or "",
        lease_owner=raw.get("lease_owner") or "",
        leased_until=raw.get("leased_until"),
    )
