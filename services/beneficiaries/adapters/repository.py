"""MongoDB repository (mongoengine documents, raw collection calls on hot paths)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from bson.binary import Binary
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from crm_platform import mongo
from services.beneficiaries.adapters.documents import (
    ALL_DOCUMENTS,
    DB_ALIAS,
    BeneficiaryDoc,
    CommunityDoc,
    FamilyDoc,
    NamePostingDoc,
    NameTokenDoc,
    TimelineDoc,
)
from services.beneficiaries.domain.errors import AlreadyExists, Conflict
from services.beneficiaries.domain.model import (
    Beneficiary,
    BiometricEnrolment,
    Community,
    Consent,
    Event,
    Family,
)
from services.beneficiaries.domain.name_index import ALL_SCOPE, NameIndexEntry
from services.beneficiaries.domain.normalise import ID_TYPE_NAMES
from services.beneficiaries.domain.timeline import TimelineEntry

DEFAULT_DB = "crm_beneficiaries"
SEQ_WIDTH = 9


def connect(mongo_uri: str, db_name: str = DEFAULT_DB) -> None:
    """Open the service's connection (``crm_platform.mongo``: durable writes) and
    make sure the indexes exist."""
    mongo.connect(DB_ALIAS, mongo_uri, db_name, ALL_DOCUMENTS)


def disconnect() -> None:
    mongo.disconnect(DB_ALIAS)


def outbox_entries(events: Sequence[Event], now: datetime) -> list[dict[str, Any]]:
    return [{"id": e.id, "type": e.type, "payload": e.payload, "created_at": now} for e in events]


class MongoRepository:
    def __init__(self) -> None:
        self.communities: Collection = CommunityDoc._get_collection()
        self.families: Collection = FamilyDoc._get_collection()
        self.beneficiaries: Collection = BeneficiaryDoc._get_collection()
        self.timeline_entries: Collection = TimelineDoc._get_collection()
        self.name_tokens: Collection = NameTokenDoc._get_collection()
        self.name_postings: Collection = NamePostingDoc._get_collection()

    # -- communities -----------------------------------------------------------
    def add_community(self, community: Community, events: Sequence[Event]) -> None:
        CommunityDoc(
            id=community.id,
            name=community.name,
            municipality=community.municipality,
            department=community.department,
            created_at=community.created_at,
            outbox=outbox_entries(events, community.created_at),
        ).save(force_insert=True)

    def get_community(self, community_id: str) -> Community | None:
        raw = self.communities.find_one({"_id": community_id}, {"outbox": 0})
        return _community(raw) if raw else None

    def list_communities(self) -> list[Community]:
        return [_community(r) for r in self.communities.find({}, {"outbox": 0}).sort("name", 1)]

    # -- families --------------------------------------------------------------
    def add_family(self, family: Family, events: Sequence[Event]) -> None:
        FamilyDoc(
            id=family.id,
            community_id=family.community_id,
            name=family.name,
            address=family.address,
            created_at=family.created_at,
            outbox=outbox_entries(events, family.created_at),
        ).save(force_insert=True)

    def get_family(self, family_id: str) -> Family | None:
        raw = self.families.find_one({"_id": family_id}, {"outbox": 0})
        return _family(raw) if raw else None

    def family_members(self, family_id: str) -> list[Beneficiary]:
        cursor = self.beneficiaries.find({"family_id": family_id}, {"outbox": 0})
        return sorted((_beneficiary(r) for r in cursor), key=lambda b: (b.relationship != "head", b.birth_date))

    def family_head(self, family_id: str) -> Beneficiary | None:
        raw = self.beneficiaries.find_one({"family_id": family_id, "relationship": "head"}, {"outbox": 0})
        return _beneficiary(raw) if raw else None

    def count_members(self, family_id: str) -> int:
        return self.beneficiaries.count_documents({"family_id": family_id})

    # -- beneficiaries ---------------------------------------------------------
    def add_beneficiary(self, person: Beneficiary, events: Sequence[Event]) -> None:
        doc = _beneficiary_doc(person)
        doc["outbox"] = outbox_entries(events, person.updated_at)
        BeneficiaryDoc._from_son(doc).validate()
        try:
            self.beneficiaries.insert_one(doc)
        except DuplicateKeyError as exc:
            raise _duplicate(exc, person) from None

    def index_names(self, entries: Sequence[NameIndexEntry]) -> None:
        """Add name postings: each entry's words, in each of its scopes."""
        wanted: dict[str, list[str]] = {}
        for entry in entries:
            for scope in entry.scopes:
                for word in entry.words:
                    wanted.setdefault(f"{scope}|{word}", []).append(entry.beneficiary_id)
        postings = []
        for key, ids in wanted.items():
            counter = self.name_tokens.find_one_and_update(
                {"_id": key},
                {"$inc": {"n": len(ids)}, "$setOnInsert": {"k": key}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            assert counter is not None  # upsert always returns the document
            first = counter["n"] - len(ids) + 1
            postings += [{"_id": (k := _posting_id(key, first + i)), "k": k, "b": pid} for i, pid in enumerate(ids)]
        if postings:
            self.name_postings.insert_many(postings, ordered=False)

    def update_beneficiary(self, person: Beneficiary, events: Sequence[Event]) -> None:
        doc = _beneficiary_doc(person)
        del doc["_id"]
        try:
            found = self.beneficiaries.find_one_and_update(
                {"_id": person.id, "version": person.version - 1},
                {"$set": doc, "$push": {"outbox": {"$each": outbox_entries(events, person.updated_at)}}},
                projection={"_id": 1},
            )
        except DuplicateKeyError as exc:
            raise _duplicate(exc, person) from None
        if found is None:
            raise Conflict("El registro cambió mientras se editaba; vuelva a intentarlo", field="version")

    def get_beneficiary(self, beneficiary_id: str) -> Beneficiary | None:
        raw = self.beneficiaries.find_one({"_id": beneficiary_id}, {"outbox": 0})
        return _beneficiary(raw) if raw else None

    def names(self, beneficiary_ids: Sequence[str], family_ids: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        people = {
            raw["_id"]: f"{raw['first_names']} {raw['last_names']}".strip()
            for raw in self.beneficiaries.find(
                {"_id": {"$in": list(beneficiary_ids)}}, {"first_names": 1, "last_names": 1}
            )
        } if beneficiary_ids else {}  # fmt: skip
        families = (
            {raw["_id"]: raw["name"] for raw in self.families.find({"_id": {"$in": list(family_ids)}}, {"name": 1})}
            if family_ids
            else {}
        )
        return people, families

    def get_by_national_id(self, key: str) -> Beneficiary | None:
        raw = self.beneficiaries.find_one({"national_id_key": key}, {"outbox": 0})
        return _beneficiary(raw) if raw else None

    def community_members(self, community_id: str, after_id: str, limit: int) -> list[Beneficiary]:
        selector: dict[str, Any] = {"community_id": community_id}
        if after_id:
            selector["_id"] = {"$gt": after_id}
        cursor = self.beneficiaries.find(selector, {"outbox": 0}).sort("_id", 1).limit(limit)
        return [_beneficiary(r) for r in cursor]

    def search(self, tokens: list[str], community_id: str | None, limit: int) -> list[Beneficiary]:
        """People whose names hold a word starting with each of ``tokens``.

        Walks the postings of the words that start with the longest token, in
        pages of a bounded size, and checks every candidate against the stored
        record (which drops duplicate postings and those left by a move)."""
        scope = community_id or ALL_SCOPE
        first = max(tokens, key=len)
        words = self.name_tokens.find({"k": {"$gte": f"{scope}|{first}", "$lt": f"{scope}|{first}\uffff"}})
        found: dict[str, Beneficiary] = {}
        page = max(2 * limit, 20)
        for word in words.sort("k", 1):
            start = 1
            while start <= word["n"] and len(found) < limit:
                end = min(word["n"], start + page - 1)
                ids = [
                    p["b"]
                    for p in self.name_postings.find(
                        {"k": {"$gte": _posting_id(word["k"], start), "$lte": _posting_id(word["k"], end)}}
                    )
                ]
                candidates = {r["_id"]: r for r in self.beneficiaries.find({"_id": {"$in": ids}}, {"outbox": 0})}
                for pid in ids:
                    raw = candidates.get(pid)
                    if raw is None or pid in found or (community_id and raw["community_id"] != community_id):
                        continue
                    if all(any(t.startswith(q) for t in raw["search_tokens"]) for q in tokens):
                        found[pid] = _beneficiary(raw)
                        if len(found) == limit:
                            break
                start = end + 1
            if len(found) >= limit:
                break
        return sorted(found.values(), key=lambda b: (b.last_names, b.first_names))

    # -- timeline --------------------------------------------------------------
    def append_timeline(self, entries: Sequence[TimelineEntry]) -> int:
        if not entries:
            return 0
        docs = [
            {
                "_id": e.id,
                "subject_type": e.subject_type,
                "subject_id": e.subject_id,
                "occurred_at": e.occurred_at,
                "kind": e.kind,
                "summary": e.summary,
                "source_service": e.source_service,
                "source_id": e.source_id,
                "source_event_id": e.source_event_id,
            }
            for e in entries
        ]
        try:
            return len(self.timeline_entries.insert_many(docs, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            # Entries already present come from a redelivered event: not an error.
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise
            return int(exc.details.get("nInserted", 0))

    def timeline(self, subject_type: str, subject_id: str, limit: int) -> list[TimelineEntry]:
        cursor = (
            self.timeline_entries.find({"subject_type": subject_type, "subject_id": subject_id})
            .sort("occurred_at", -1)
            .limit(limit)
        )
        return [
            TimelineEntry(
                r["subject_type"],
                r["subject_id"],
                _utc(r["occurred_at"]),
                r["kind"],
                r["summary"],
                r["source_service"],
                r["source_id"],
                r["source_event_id"],
            )
            for r in cursor
        ]


def _posting_id(key: str, seq: int) -> str:
    return f"{key}|{seq:0{SEQ_WIDTH}d}"


def _duplicate(exc: DuplicateKeyError, person: Beneficiary) -> Exception:
    pattern = (exc.details or {}).get("keyPattern", {})
    if "national_id_key" in pattern:
        return AlreadyExists(
            "national_id",
            f"Ya existe un beneficiario con {ID_TYPE_NAMES[person.id_type]} {person.id_number}",
        )
    if "family_id" in pattern:
        return Conflict("El hogar ya tiene jefe de hogar", field="relationship")
    return AlreadyExists("id", "El registro ya existe")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _community(raw: dict[str, Any]) -> Community:
    return Community(raw["_id"], raw["name"], raw["municipality"], raw["department"], _utc(raw["created_at"]))


def _family(raw: dict[str, Any]) -> Family:
    return Family(raw["_id"], raw["community_id"], raw["name"], raw.get("address", ""), _utc(raw["created_at"]))


def _beneficiary_doc(p: Beneficiary) -> dict[str, Any]:
    return {
        "_id": p.id,
        "national_id_key": p.national_id_key,
        "id_type": p.id_type,
        "id_number": p.id_number,
        "first_names": p.first_names,
        "last_names": p.last_names,
        "search_tokens": p.search_tokens,
        "birth_date": p.birth_date.isoformat(),
        "sex": p.sex,
        "community_id": p.community_id,
        "family_id": p.family_id,
        "relationship": p.relationship,
        "whatsapp_phone": p.whatsapp_phone,
        "email": p.email,
        "contact_channels": list(p.contact_channels),
        "education_level": p.education_level,
        "can_sign": p.can_sign,
        "consents": {
            k: {"granted": c.granted, "recorded_by": c.recorded_by, "recorded_at": c.recorded_at}
            for k, c in p.consents.items()
        },
        "biometrics": {
            f: {
                "template_sha256": b.template_sha256,
                "enrolled_by": b.enrolled_by,
                "enrolled_at": b.enrolled_at,
                "key_id": b.key_id,
                "sealed_template": Binary(b.sealed_template),
            }
            for f, b in p.biometrics.items()
        },
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "version": p.version,
    }


def _beneficiary(raw: dict[str, Any]) -> Beneficiary:
    return Beneficiary(
        id=raw["_id"],
        id_type=raw["id_type"],
        id_number=raw["id_number"],
        first_names=raw["first_names"],
        last_names=raw["last_names"],
        birth_date=date.fromisoformat(raw["birth_date"]),
        sex=raw["sex"],
        community_id=raw["community_id"],
        family_id=raw.get("family_id"),
        relationship=raw.get("relationship"),
        whatsapp_phone=raw.get("whatsapp_phone"),
        email=raw.get("email"),
        contact_channels=list(raw.get("contact_channels") or []),
        education_level=raw.get("education_level") or "none",
        can_sign=raw.get("can_sign", True),
        created_at=_utc(raw["created_at"]),
        updated_at=_utc(raw["updated_at"]),
        consents={
            k: Consent(k, c["granted"], c["recorded_by"], _utc(c["recorded_at"]))
            for k, c in (raw.get("consents") or {}).items()
        },
        biometrics={
            f: BiometricEnrolment(
                f,
                b["template_sha256"],
                b["enrolled_by"],
                _utc(b["enrolled_at"]),
                b["key_id"],
                bytes(b["sealed_template"]),
            )
            for f, b in (raw.get("biometrics") or {}).items()
        },
        version=raw["version"],
    )
