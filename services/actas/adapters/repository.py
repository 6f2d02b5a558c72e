"""MongoDB repository of the actas service.

Sealing writes the acta, its chain entry and the chain head in one multi-document
transaction: either the sealed acta is in the chain or nothing changed. The head
document is where concurrent sealers meet; a conflicting transaction is retried
by the driver (``with_transaction``), so sequence numbers stay gapless. The head
is written last (see ``_link``). Commits are acknowledged only once durable:
``w: majority`` here, and a store that fsyncs its journal before it replies
(``--sync-on-commit`` in devstack, ``j: true`` with mongod).

Sealing also draws the acta's folio from its counter in that same transaction
(``_draw_folio``), so an aborted seal consumes no number.

Records become documents and back in ``services.actas.adapters.mapping``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
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
from services.actas.adapters import mapping
from services.actas.adapters.day_counts import DayCounts
from services.actas.adapters.documents import (
    ALL_DOCUMENTS,
    DB_ALIAS,
    ActaDoc,
    ChainEntryDoc,
    ChainHeadDoc,
    DeviceDoc,
    FolioCounterDoc,
    PairingCodeDoc,
    RejectionDoc,
    StaffProfileDoc,
)
from services.actas.adapters.fleet_records import FleetRecords
from services.actas.domain import chain
from services.actas.domain.errors import ConcurrentUpdate
from services.actas.domain.model import Acta, Event, Status
from services.actas.domain.sealing import Sealing
from services.actas.service_layer.ports import (
    ActaFilter,
    CountFilter,
    DuplicateSubmission,
)

DEFAULT_DB = "crm_actas"
HEAD = "head"
NO_IMAGES = {"images": 0, "outbox": 0, "body_sha256": 0}
# Lists read newest first in widening time windows (see ``query``) when their
# filter is one of these: each has an index ending in captured_at
# (``services.actas.adapters.documents``), so a window is an index range.
WINDOWED = frozenset(
    frozenset(fields) for fields in ((), ("gestor_id",), ("template_code",), ("status",), ("status", "template_code"))
)
FIRST_WINDOW = timedelta(days=1)
MAX_WINDOWS = 12  # 1 + 2 + ... + 2048 days; whatever is older, in one last query
# benchmarks/bench_actas.py builds stored actas with it.
_acta_doc = mapping.acta_doc


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


class MongoRepository(FleetRecords):
    def __init__(self) -> None:
        self.actas: Collection = ActaDoc._get_collection()
        self.chain_entries: Collection = ChainEntryDoc._get_collection()
        self.head: Collection = ChainHeadDoc._get_collection()
        self.devices: Collection = DeviceDoc._get_collection()
        self.pairing_codes: Collection = PairingCodeDoc._get_collection()
        self.rejections: Collection = RejectionDoc._get_collection()
        self.folio_counters: Collection = FolioCounterDoc._get_collection()
        self.staff_profiles: Collection = StaffProfileDoc._get_collection()
        self._client = self.actas.database.client
        database = self.actas.database
        self.day_counts = DayCounts(database["acta_day_counts"], self.actas, database["acta_week_counts"])
        self.day_counts.ensure_indexes()

    # -- actas ---------------------------------------------------------------------
    def add(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None:
        acta.version = 1
        self.actas.insert_one(mapping.acta_doc(acta, events, images))

    def update(self, acta: Acta, events: Sequence[Event], images: dict[str, bytes]) -> None:
        """Optimistic: fails with ConcurrentUpdate if someone else wrote since the read."""
        doc = mapping.acta_doc(acta, [], {})
        doc["version"] = acta.version + 1
        for key in ("_id", "images", "outbox"):
            doc.pop(key, None)
        change: dict[str, Any] = {"$set": doc}
        for digest, png in images.items():
            change["$set"][f"images.{digest}"] = Binary(png)
        if events:
            change["$push"] = {"outbox": {"$each": mapping.outbox_entries(events, acta.created_at)}}
        result = self.actas.update_one({"_id": acta.id, "version": acta.version}, change)
        if result.matched_count != 1:
            raise ConcurrentUpdate(acta.id)
        acta.version += 1

    def get(self, acta_id: str) -> Acta | None:
        raw = self.actas.find_one({"_id": acta_id}, NO_IMAGES)
        return mapping.acta_from_doc(raw) if raw else None

    def images(self, acta_id: str) -> dict[str, bytes]:
        raw = self.actas.find_one({"_id": acta_id}, {"images": 1}) or {}
        return {k: bytes(v) for k, v in (raw.get("images") or {}).items()}

    def seal(self, acta: Acta, sealing: Sealing) -> chain.ChainEntry:
        expected = acta.version

        def write(session: ClientSession) -> chain.ChainEntry:
            events = sealing.seal(self._draw_folio(session, sealing.counter))
            doc = mapping.acta_doc(acta, [], {})
            for key in ("_id", "images", "outbox"):
                doc.pop(key, None)
            entry = self._next_entry(session, acta.id, acta.content_hash)
            doc.update(chain_seq=entry.seq, version=expected + 1)
            doc["counted"] = DayCounts.counts(doc)  # a sealed original: in the day counts
            result = self.actas.update_one(
                {"_id": acta.id, "version": expected, "status": {"$ne": str(Status.SEALED)}},
                {
                    "$set": doc,
                    "$push": {"outbox": {"$each": mapping.outbox_entries(events, acta.sealed_at or acta.created_at)}},
                },
                session=session,
            )
            if result.matched_count != 1:
                raise ConcurrentUpdate(acta.id)
            if doc["counted"]:
                self.day_counts.add(session, doc)
            self._link(session, entry)
            return entry

        entry = self._transaction(write)
        acta.version, acta.chain_seq = expected + 1, entry.seq
        return entry

    def ingest(self, acta: Acta, sealing: Sealing, images: dict[str, bytes], body_sha256: str) -> chain.ChainEntry:
        acta.version = 1

        def write(session: ClientSession) -> chain.ChainEntry:
            events = sealing.seal(self._draw_folio(session, sealing.counter))
            entry = self._next_entry(session, acta.id, acta.content_hash)
            acta.chain_seq = entry.seq
            doc = mapping.acta_doc(acta, events, images)
            doc["body_sha256"] = body_sha256
            doc["counted"] = DayCounts.counts(doc)  # a sealed original: in the day counts
            self.actas.insert_one(doc, session=session)
            if doc["counted"]:
                self.day_counts.add(session, doc)
            if acta.device_id:  # the kiosk's last sync, for the fleet page
                self.devices.update_one(
                    {"_id": acta.device_id},
                    {"$max": {"last_submission_at": acta.sealed_at}, "$inc": {"submissions": 1}},
                    session=session,
                )
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
        if frozenset(selector) not in WINDOWED:
            return self._newest(selector, query.captured_from, query.captured_to, query.limit)
        # SecantusDB reads every document an index range matches before it applies
        # ``limit``: the 26 newest of 50,000 actas cost all 50,000. So the newest are
        # read in time windows, each twice as wide as the one before, until
        # ``limit`` are found; the windows partition the range, so the answer is
        # the same. Only for filters an index serves with a captured_at range
        # (WINDOWED): for others every window would be a collection scan.
        found: list[Acta] = []
        upper, width = query.captured_to, FIRST_WINDOW
        start = (upper or datetime.now(UTC)) - width
        for _ in range(MAX_WINDOWS):
            if query.captured_from and start <= query.captured_from:
                break
            found += self._newest(selector, start, upper, query.limit - len(found))
            if len(found) >= query.limit:
                return found
            upper, width = start, width * 2
            start = upper - width
        return found + self._newest(selector, query.captured_from, upper, query.limit - len(found))

    def _newest(self, selector: dict[str, Any], start: datetime | None, end: datetime | None, limit: int) -> list[Acta]:
        """The ``limit`` newest actas matching ``selector`` captured in [start, end)."""
        found = {**selector, **_captured_range(start, end)}
        cursor = self.actas.find(found, NO_IMAGES).sort("captured_at", -1).limit(limit)
        return [mapping.acta_from_doc(raw) for raw in cursor]

    def count(self, what: CountFilter) -> dict[str, int]:
        if what.status == "sealed" and not what.include_corrections:
            projected = self.day_counts.count(what.group_by, what.captured_from, what.captured_to)
            if projected is not None:
                return projected
        selector = _captured_range(what.captured_from, what.captured_to)
        if what.status:
            selector["status"] = what.status
        if not what.include_corrections:
            selector["amends"] = {"$in": ["", None]}
        group_by = what.group_by
        if group_by == "week":
            counts: Counter[str] = Counter()
            for raw in self.actas.find(selector, {"captured_at": 1}):
                year, week, _ = raw["captured_at"].isocalendar()
                counts[f"{year}-W{week:02d}"] += 1
            return dict(sorted(counts.items()))
        field = {"template": "$template_key", "gestor": "$gestor_id", "community": "$community_id"}[group_by]
        rows = self.actas.aggregate([{"$match": selector}, {"$group": {"_id": field, "n": {"$sum": 1}}}])
        return dict(sorted((str(r["_id"]), int(r["n"])) for r in rows))

    def amended_by(self, acta_id: str) -> list[str]:
        return [raw["_id"] for raw in self.actas.find({"amends": acta_id}, {"_id": 1}).sort("created_at", 1)]

    # -- chain ---------------------------------------------------------------------
    def _draw_folio(self, session: ClientSession, counter: str) -> int:
        """The next number of a folio counter (``services.actas.domain.folio``), in the
        seal's transaction: an aborted seal rolls it back, so numbers have no gaps."""
        raw = self.folio_counters.find_one_and_update(
            {"_id": counter}, {"$inc": {"last": 1}}, upsert=True, return_document=ReturnDocument.AFTER, session=session
        )
        if raw is None:  # an upsert returning the document after always finds one
            raise ConcurrentUpdate(counter)
        return int(raw["last"])

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

    def backfill_day_counts(self) -> None:
        """Count what was sealed before the day counts existed (``day_counts``)."""
        self.day_counts.backfill_if_needed(self._transaction)

    def _transaction(self, write: Any) -> Any:
        with self._client.start_session() as session:
            return session.with_transaction(
                write, read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority", j=True)
            )

    def chain_in_order(self) -> Iterator[chain.ChainEntry]:
        for raw in self.chain_entries.find({}).sort("_id", 1):
            yield mapping.chain_entry_from_doc(raw)

    def chain_entry(self, acta_id: str) -> chain.ChainEntry | None:
        raw = self.chain_entries.find_one({"acta_id": acta_id})
        return mapping.chain_entry_from_doc(raw) if raw else None

    def sealed_actas(self) -> Iterator[Acta]:
        for raw in self.actas.find({"status": str(Status.SEALED)}, NO_IMAGES):
            yield mapping.acta_from_doc(raw)


def _captured_range(start: datetime | None, end: datetime | None) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    if start:
        bounds["$gte"] = start
    if end:
        bounds["$lt"] = end
    return {"captured_at": bounds} if bounds else {}
