"""MongoDB repository of the actas service.

Sealing writes the acta, its chain entry and the chain head in one multi-document
transaction: either the sealed acta is in the chain or nothing changed. The head
document is where concurrent sealers meet; a conflicting transaction is retried
by the driver (``with_transaction``), so sequence numbers stay gapless. The head
is written last (see ``_link``). Commits are acknowledged only once durable:
``w: majority`` here, and a store that fsyncs its journal before it replies
(``--sync-on-commit`` in devstack, ``j: true`` with mongod).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import mongoengine
from bson.binary import Binary
from pymongo import ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from crm_platform.mongo import DURABLE_WRITES
from services.actas.adapters.documents import (
    ALL_DOCUMENTS,
    DB_ALIAS,
    ActaDoc,
    ChainEntryDoc,
    ChainHeadDoc,
    DeviceDoc,
    RejectionDoc,
)
from services.actas.domain import chain
from services.actas.domain.errors import AlreadyExists, ConcurrentUpdate
from services.actas.domain.model import (
    Acta,
    Event,
    FingerprintEvidence,
    GeoPoint,
    Method,
    Participant,
    Role,
    Signature,
    Source,
    Status,
)
from services.actas.domain.submission import Device
from services.actas.service_layer.ports import ActaFilter, DuplicateSubmission, RegisteredDevice, Rejection

DEFAULT_DB = "crm_actas"
HEAD = "head"
NO_IMAGES = {"images": 0, "outbox": 0, "body_sha256": 0}


def connect(mongo_uri: str, db_name: str = DEFAULT_DB) -> None:
    """Open the service's connection (from a process's start-up, never at import)."""
    mongoengine.disconnect(alias=DB_ALIAS)
    mongoengine.connect(
        db=db_name, host=mongo_uri, alias=DB_ALIAS, tz_aware=True, uuidRepresentation="standard", **DURABLE_WRITES
    )
    for doc in ALL_DOCUMENTS:
        doc.ensure_indexes()


def disconnect() -> None:
    mongoengine.disconnect(alias=DB_ALIAS)


def _outbox(events: Sequence[Event], now: datetime) -> list[dict[str, Any]]:
    return [{"id": e.id, "type": e.type, "payload": e.payload, "created_at": now} for e in events]


class MongoRepository:
    def __init__(self) -> None:
        self.actas: Collection = ActaDoc._get_collection()
        self.chain_entries: Collection = ChainEntryDoc._get_collection()
        self.head: Collection = ChainHeadDoc._get_collection()
        self.devices: Collection = DeviceDoc._get_collection()
        self.rejections: Collection = RejectionDoc._get_collection()
        self._client = self.actas.database.client

    # -- actas ---------------------------------------------------------------------
    def add(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None:
        acta.version = 1
        self.actas.insert_one(_acta_doc(acta, events, images))

    def update(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None:
        """Optimistic: fails with ConcurrentUpdate if someone else wrote since the read."""
        doc = _acta_doc(acta, [], {})
        doc["version"] = acta.version + 1
        for key in ("_id", "images", "outbox"):
            doc.pop(key, None)
        change: dict[str, Any] = {"$set": doc}
        for digest, png in images.items():
            change["$set"][f"images.{digest}"] = Binary(png)
        if events:
            change["$push"] = {"outbox": {"$each": _outbox(events, acta.created_at)}}
        result = self.actas.update_one({"_id": acta.id, "version": acta.version}, change)
        if result.matched_count != 1:
            raise ConcurrentUpdate(acta.id)
        acta.version += 1

    def get(self, acta_id: str) -> Acta | None:
        raw = self.actas.find_one({"_id": acta_id}, NO_IMAGES)
        return _acta(raw) if raw else None

    def images(self, acta_id: str) -> dict[str, bytes]:
        raw = self.actas.find_one({"_id": acta_id}, {"images": 1}) or {}
        return {k: bytes(v) for k, v in (raw.get("images") or {}).items()}

    def seal(self, acta: Acta, events: Sequence[Event]) -> chain.ChainEntry:
        doc = _acta_doc(acta, [], {})
        for key in ("_id", "images", "outbox"):
            doc.pop(key, None)
        expected = acta.version

        def write(session: ClientSession) -> chain.ChainEntry:
            entry = self._next_entry(session, acta.id, acta.content_hash)
            doc.update(chain_seq=entry.seq, version=expected + 1)
            result = self.actas.update_one(
                {"_id": acta.id, "version": expected, "status": {"$ne": str(Status.SEALED)}},
                {"$set": doc, "$push": {"outbox": {"$each": _outbox(events, acta.sealed_at or acta.created_at)}}},
                session=session,
            )
            if result.matched_count != 1:
                raise ConcurrentUpdate(acta.id)
            self._link(session, entry)
            return entry

        entry = self._transaction(write)
        acta.version, acta.chain_seq = expected + 1, entry.seq
        return entry

    def ingest(
        self, acta: Acta, events: Sequence[Event], images: dict[str, bytes], body_sha256: str
    ) -> chain.ChainEntry:
        acta.version = 1

        def write(session: ClientSession) -> chain.ChainEntry:
            entry = self._next_entry(session, acta.id, acta.content_hash)
            acta.chain_seq = entry.seq
            doc = _acta_doc(acta, events, images)
            doc["body_sha256"] = body_sha256
            self.actas.insert_one(doc, session=session)
            self._link(session, entry)
            return entry

        try:
            return self._transaction(write)
        except DuplicateKeyError:
            stored = self.find_submission(acta.submission_id)
            if stored is None:  # the duplicate key was something else
                raise
            raise stored from None

    def find_submission(self, submission_id: str) -> DuplicateSubmission | None:
        raw = self.actas.find_one({"submission_id": submission_id}, {"_id": 1, "body_sha256": 1})
        return DuplicateSubmission(raw["_id"], raw.get("body_sha256", "")) if raw else None

    def query(self, query: ActaFilter) -> list[Acta]:
        selector: dict[str, Any] = {}
        if query.beneficiary_id:
            selector["participant_ids"] = query.beneficiary_id
        if query.family_id:
            selector["family_ids"] = query.family_id
        if query.gestor_id:
            selector["gestor_id"] = query.gestor_id
        if query.template_code:
            selector["template_code"] = query.template_code
        if query.status:
            selector["status"] = query.status
        selector.update(_captured_range(query.captured_from, query.captured_to))
        cursor = self.actas.find(selector, NO_IMAGES).sort("captured_at", -1).limit(query.limit)
        return [_acta(raw) for raw in cursor]

    def count(self, group_by: str, captured_from: datetime | None, captured_to: datetime | None) -> dict[str, int]:
        selector = _captured_range(captured_from, captured_to)
        if group_by == "week":
            counts: Counter[str] = Counter()
            for raw in self.actas.find(selector, {"captured_at": 1}):
                year, week, _ = raw["captured_at"].isocalendar()
                counts[f"{year}-W{week:02d}"] += 1
            return dict(sorted(counts.items()))
        field = {"template": "$template_key", "gestor": "$gestor_id"}[group_by]
        rows = self.actas.aggregate([{"$match": selector}, {"$group": {"_id": field, "n": {"$sum": 1}}}])
        return dict(sorted((str(r["_id"]), int(r["n"])) for r in rows))

    def amended_by(self, acta_id: str) -> list[str]:
        return [raw["_id"] for raw in self.actas.find({"amends": acta_id}, {"_id": 1}).sort("created_at", 1)]

    # -- chain ---------------------------------------------------------------------
    def _next_entry(self, session: ClientSession, acta_id: str, acta_hash: str) -> chain.ChainEntry:
        """The entry that would follow the head in this transaction's snapshot (a
        read: it holds nothing that other sealers need)."""
        head = self.head.find_one({"_id": HEAD}, session=session)
        last = None
        if head is not None:
            last = chain.ChainEntry(head["seq"], "", "", "", head["entry_hash"])
        return chain.append(last, acta_id, acta_hash)

    def _link(self, session: ClientSession, entry: chain.ChainEntry) -> None:
        """Write the chain entry and move the head: the transaction's last writes.

        The head is the one document every sealer writes. A sealer killed while its
        transaction holds the head stalls every other sealer (their writes conflict
        and are retried) until the server reaps the abandoned transaction, so the
        head is taken last, right before the commit, which keeps that window to one
        round trip; the store's transaction lifetime bounds what remains
        (``devstack.mongo_server``; ``transactionLifetimeLimitSeconds`` on mongod)."""
        self.chain_entries.insert_one(
            {
                "_id": entry.seq,
                "acta_id": entry.acta_id,
                "acta_hash": entry.acta_hash,
                "prev_hash": entry.prev_hash,
                "entry_hash": entry.entry_hash,
                "appended_at": datetime.now(UTC),
            },
            session=session,
        )
        self.head.update_one(
            {"_id": HEAD}, {"$set": {"seq": entry.seq, "entry_hash": entry.entry_hash}}, upsert=True, session=session
        )

    def _transaction(self, write: Any) -> Any:
        with self._client.start_session() as session:
            return session.with_transaction(
                write, read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority", j=True)
            )

    def chain_in_order(self) -> Iterator[chain.ChainEntry]:
        for raw in self.chain_entries.find({}).sort("_id", 1):
            yield _entry(raw)

    def chain_entry(self, acta_id: str) -> chain.ChainEntry | None:
        raw = self.chain_entries.find_one({"acta_id": acta_id})
        return _entry(raw) if raw else None

    def sealed_actas(self) -> Iterator[Acta]:
        for raw in self.actas.find({"status": str(Status.SEALED)}, NO_IMAGES):
            yield _acta(raw)

    # -- devices -------------------------------------------------------------------
    def add_device(self, device: RegisteredDevice) -> None:
        try:
            self.devices.insert_one(
                {
                    "_id": device.device.device_id,
                    "public_key": device.device.public_key_b64,
                    "community_id": device.community_id,
                    "description": device.description,
                    "revoked": False,
                    "registered_by": device.registered_by,
                    "registered_at": device.registered_at,
                }
            )
        except DuplicateKeyError:
            raise AlreadyExists(f"El quiosco {device.device.device_id} ya está registrado") from None

    def get_device(self, device_id: str) -> RegisteredDevice | None:
        raw = self.devices.find_one({"_id": device_id})
        return _device(raw) if raw else None

    def revoke_device(self, device_id: str, when: datetime) -> RegisteredDevice | None:
        # Revoking twice keeps the first revocation time.
        self.devices.update_one({"_id": device_id, "revoked": False}, {"$set": {"revoked": True, "revoked_at": when}})
        return self.get_device(device_id)

    def list_devices(self) -> list[RegisteredDevice]:
        return [_device(raw) for raw in self.devices.find({}).sort("_id", 1)]

    # -- rejected submissions ------------------------------------------------------
    def add_rejection(self, rejection: Rejection, events: Sequence[Event]) -> None:
        with contextlib.suppress(DuplicateKeyError):  # recorded already: a redelivery
            self.rejections.insert_one(
                {
                    "_id": rejection.id,
                    "reason": rejection.reason,
                    "detail": rejection.detail,
                    "device_id": rejection.device_id,
                    "submission_id": rejection.submission_id,
                    "received_at": rejection.received_at,
                    "field_errors": rejection.field_errors,
                    "resolved": False,
                    "outbox": _outbox(events, rejection.received_at),
                }
            )

    def list_rejections(self, include_resolved: bool, limit: int) -> list[Rejection]:
        selector = {} if include_resolved else {"resolved": False}
        cursor = self.rejections.find(selector, {"outbox": 0}).sort("received_at", -1).limit(limit)
        return [_rejection(raw) for raw in cursor]

    def resolve_rejection(self, rejection_id: str, by: str, note: str) -> Rejection | None:
        raw = self.rejections.find_one_and_update(
            {"_id": rejection_id},
            {"$set": {"resolved": True, "resolved_by": by, "resolution_note": note}},
            projection={"outbox": 0},
            return_document=ReturnDocument.AFTER,
        )
        return _rejection(raw) if raw else None


# -- mapping -------------------------------------------------------------------------
def _captured_range(start: datetime | None, end: datetime | None) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    if start:
        bounds["$gte"] = start
    if end:
        bounds["$lt"] = end
    return {"captured_at": bounds} if bounds else {}


def _acta_doc(acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": acta.id,
        "template_key": acta.template_key,
        "template_code": acta.template_code,
        "title": acta.title,
        "status": str(acta.status),
        "values": acta.values,
        "participants": [p.__dict__ for p in acta.participants],
        "participant_ids": [p.beneficiary_id for p in acta.participants],
        "family_ids": sorted({p.family_id for p in acta.participants if p.family_id}),
        "signatures": [_signature_doc(s) for s in acta.signatures],
        "gestor_id": acta.gestor_id,
        "community_id": acta.community_id,
        "captured_at": acta.captured_at,
        "created_at": acta.created_at,
        "sealed_at": acta.sealed_at,
        "content_hash": acta.content_hash,
        "chain_seq": acta.chain_seq,
        "source": str(acta.source),
        "device_id": acta.device_id,
        "amends": acta.amends,
        "amendment_reason": acta.amendment_reason,
        "location": acta.location.__dict__ if acta.location else None,
        "images": {k: Binary(v) for k, v in images.items()},
        "version": acta.version,
        "outbox": _outbox(events, acta.created_at),
    }
    if acta.submission_id:  # absent for desk actas, so the partial unique index skips them
        doc["submission_id"] = acta.submission_id
    return doc


def _signature_doc(signature: Signature) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "signer_id": signature.signer_id,
        "role": str(signature.role),
        "method": str(signature.method),
        "signed_at": signature.signed_at,
        "handwritten_sha256": signature.handwritten_sha256,
        "refusal_reason": signature.refusal_reason,
    }
    if signature.fingerprint is not None:
        doc["fingerprint"] = signature.fingerprint.__dict__
    return doc


def _acta(raw: dict[str, Any]) -> Acta:
    location = raw.get("location")
    return Acta(
        id=raw["_id"],
        template_key=raw["template_key"],
        title=raw["title"],
        values=raw.get("values") or {},
        participants=[Participant(**p) for p in raw.get("participants") or []],
        gestor_id=raw["gestor_id"],
        community_id=raw.get("community_id") or "",
        captured_at=raw["captured_at"],
        created_at=raw["created_at"],
        status=Status(raw["status"]),
        signatures=[_signature(s) for s in raw.get("signatures") or []],
        source=Source(raw["source"]),
        device_id=raw.get("device_id") or "",
        submission_id=raw.get("submission_id") or "",
        amends=raw.get("amends") or "",
        amendment_reason=raw.get("amendment_reason") or "",
        location=GeoPoint(**location) if location else None,
        sealed_at=raw.get("sealed_at"),
        content_hash=raw.get("content_hash") or "",
        chain_seq=raw.get("chain_seq") or 0,
        version=raw["version"],
    )


def _signature(raw: dict[str, Any]) -> Signature:
    fingerprint = raw.get("fingerprint")
    return Signature(
        signer_id=raw["signer_id"],
        role=Role(raw["role"]),
        method=Method(raw["method"]),
        signed_at=raw["signed_at"],
        fingerprint=FingerprintEvidence(**fingerprint) if fingerprint else None,
        handwritten_sha256=raw.get("handwritten_sha256") or "",
        refusal_reason=raw.get("refusal_reason") or "",
    )


def _entry(raw: dict[str, Any]) -> chain.ChainEntry:
    return chain.ChainEntry(raw["_id"], raw["acta_id"], raw["acta_hash"], raw["prev_hash"], raw["entry_hash"])


def _device(raw: dict[str, Any]) -> RegisteredDevice:
    return RegisteredDevice(
        Device(raw["_id"], raw["public_key"], bool(raw.get("revoked"))),
        raw.get("community_id") or "",
        raw.get("description") or "",
        raw["registered_by"],
        raw["registered_at"],
        raw.get("revoked_at"),
    )


def _rejection(raw: dict[str, Any]) -> Rejection:
    return Rejection(
        id=raw["_id"],
        reason=raw["reason"],
        detail=raw.get("detail") or "",
        device_id=raw.get("device_id") or "",
        submission_id=raw.get("submission_id") or "",
        received_at=raw["received_at"],
        field_errors=raw.get("field_errors") or {},
        resolved=bool(raw.get("resolved")),
        resolved_by=raw.get("resolved_by") or "",
        resolution_note=raw.get("resolution_note") or "",
    )
