"""MongoDB records of the documents: one per sealed acta, with its outbox."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import mongoengine
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from services.documents.service_layer.ports import DocumentRecord

DB_ALIAS = "documents"
DEFAULT_DB = "crm_documents"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    outbox = mongoengine.ListField(mongoengine.DictField())


def connect(mongo_uri: str, db_name: str = DEFAULT_DB) -> None:
    mongoengine.disconnect(alias=DB_ALIAS)
    mongoengine.connect(db=db_name, host=mongo_uri, alias=DB_ALIAS, tz_aware=True, w="majority")
    DocumentDoc.ensure_indexes()


def disconnect() -> None:
    mongoengine.disconnect(alias=DB_ALIAS)


class MongoDocumentRepository:
    def __init__(self) -> None:
        self.documents: Collection = DocumentDoc._get_collection()

    def ensure_pending(self, acta_id: str, now: datetime) -> DocumentRecord:
        with contextlib.suppress(DuplicateKeyError):  # known already: a redelivered event
            self.documents.insert_one(
                {"_id": acta_id, "status": "pending", "attempts": 0, "next_attempt_at": now, "outbox": []}
            )
        found = self.get(acta_id)
        assert found is not None
        return found

    def get(self, acta_id: str) -> DocumentRecord | None:
        raw = self.documents.find_one({"_id": acta_id}, {"outbox": 0})
        return _record(raw) if raw else None

    def mark_stored(self, record: DocumentRecord, event: Mapping[str, object]) -> None:
        now = datetime.now(UTC)
        self.documents.find_one_and_update(
            {"_id": record.acta_id},
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
                },
                "$push": {"outbox": {**event, "created_at": now}},
            },
            return_document=ReturnDocument.AFTER,
        )

    def mark_failed(self, acta_id: str, error: str, attempts: int, next_attempt_at: datetime) -> None:
        self.documents.update_one(
            {"_id": acta_id, "status": "pending"},
            {"$set": {"attempts": attempts, "last_error": error, "next_attempt_at": next_attempt_at}},
        )

    def due(self, now: datetime, limit: int) -> list[str]:
        # A bounded range, so the store walks only the due records of the index.
        selector = {"status": "pending", "next_attempt_at": {"$gte": _EPOCH, "$lte": now}}
        return [raw["_id"] for raw in self.documents.find(selector, {"_id": 1}).limit(limit)]


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
    )
