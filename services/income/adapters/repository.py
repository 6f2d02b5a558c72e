"""MongoDB collections of the income service: ``units`` (one document per UP, with
its stage history, plan versions, follow-ups and outbox), ``unit_counts`` (UPs per
stage by community, sector and kind: ``unit_counts.py``) and ``trainings``.

Lists read newest first (``created_at``, then ``_id``, both descending) from a
cursor. SecantusDB reads every document an index range matches before it applies
``limit`` (the 25 newest of 10,000 UPs would cost all 10,000), so a page is read
in registration-time windows (each twice as wide as the one before) until it is
full, each window a narrow range of one index: ``(community_id, stage,
created_at)``, ``(community_id, created_at)``, ``(stage, created_at)``,
``(sector, created_at)`` or ``created_at``, whichever the filter fills first; a
filter value no index holds is checked on the documents the window read. The
windows partition the range, so the answer is the one query's. The counts per
stage size the first window (a page and a half at the range's mean density since
its oldest UP: one query for most pages), and an index range they say holds at
most ``WHOLE_RANGE`` UPs is read in one query: windows would cost more round
trips than documents. Estimates only plan the reads; the answer is the same."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from crm_platform import errors as vocabulary
from crm_platform.mongo import DURABLE_WRITES
from services.income.adapters.unit_counts import UnitCounts
from services.income.service_layer.ports import UnitCursor, UnitFilter

DEFAULT_DB = "crm_income"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OLDEST = datetime(1900, 1, 1, tzinfo=UTC)  # windows never reach below it
NO_OUTBOX = {"outbox": 0}
LIST_PROJECTION = {"outbox": 0, "plans": 0, "history": 0, "followups": 0}
FIRST_WINDOW = timedelta(days=1)
GROWTH = 2  # each window this many times as wide as the one before
MAX_WINDOWS = 12  # 1 + 2 + ... + 2048 days; whatever is older, in one last query
WHOLE_RANGE = 60  # an index range the counts say is this small (three boards' cards) is read in one query
# The filter fields an index range can carry, in the order they are preferred:
# each entry is the equality fields of one index whose last field is created_at.
INDEXED = (("community_id", "stage"), ("community_id",), ("stage",), ("sector",), ())


class MongoIncomeStore:
    def __init__(self, mongo_uri: str, db_name: str = DEFAULT_DB) -> None:
        self.client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True, **DURABLE_WRITES)
        db = self.client[db_name]
        self.units: Collection[dict[str, Any]] = db["units"]
        self.trainings: Collection[dict[str, Any]] = db["trainings"]
        self.unit_counts = UnitCounts(db["unit_counts"], self.units)
        self.units.create_index([("community_id", ASCENDING), ("created_at", DESCENDING)])
        self.units.create_index([("community_id", ASCENDING), ("stage", ASCENDING), ("created_at", DESCENDING)])
        self.units.create_index([("stage", ASCENDING), ("created_at", DESCENDING)])
        self.units.create_index([("sector", ASCENDING), ("created_at", DESCENDING)])
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
        """The new UP, counted at its stage, in one transaction."""
        stored = {**doc, "counted": True, "outbox": list(events)}

        def write(session: ClientSession) -> None:
            self.units.insert_one(stored, session=session)
            self.unit_counts.add(session, stored, stored["stage"], 1)

        try:
            self._transaction(write)
        except DuplicateKeyError:
            raise vocabulary.AlreadyExists(f"La unidad productiva {doc['_id']} ya existe") from None

    def replace(
        self, doc: Mapping[str, Any], expected_rev: int, events: Sequence[Mapping[str, Any]], moved_from: str = ""
    ) -> bool:
        fields = {k: v for k, v in doc.items() if k not in ("_id", "outbox")}
        update: dict[str, Any] = {"$set": fields}
        if events:
            update["$push"] = {"outbox": {"$each": list(events)}}
        selector = {"_id": doc["_id"], "rev": expected_rev}
        if not (moved_from and moved_from != doc["stage"] and doc.get("counted")):
            return self.units.update_one(selector, update).modified_count == 1

        def write(session: ClientSession) -> bool:  # the stage moves: its counts move in the same transaction
            if self.units.update_one(selector, update, session=session).modified_count != 1:
                return False
            self.unit_counts.move(session, doc, moved_from, doc["stage"])
            return True

        return bool(self._transaction(write))

    def _transaction(self, write: Callable[[ClientSession], Any]) -> Any:
        with self.client.start_session() as session:
            return session.with_transaction(
                write, read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority", j=True)
            )

    def backfill_counts(self) -> int:
        """Count the UPs stored before the counts per stage existed (``unit_counts``)."""
        return self.unit_counts.backfill_if_needed(self._transaction)

    def interrupted(self, before: datetime, limit: int = 100) -> list[str]:
        """UPs with a stage-change marker older than ``before`` (see ``stage_flow``)."""
        selector = {"workflow_pending.at": {"$gte": _EPOCH, "$lt": before}}  # bounded: see crm_platform.outbox
        return [d["_id"] for d in self.units.find(selector, {"_id": 1}).limit(limit)]

    def count(self, what: UnitFilter) -> dict[str, int]:
        counted = self.unit_counts.count(what.community_id, what.sector, what.kind)
        if counted is None:  # the backfill has not finished: count the UPs themselves
            selector = _selector(what, ("community_id", "sector", "kind"))
            rows = self.units.aggregate([{"$match": selector}, {"$group": {"_id": "$stage", "n": {"$sum": 1}}}])
            counted = {str(r["_id"]): int(r["n"]) for r in rows}
        if what.stage:
            return {what.stage: counted.get(what.stage, 0)}
        return counted

    def find(self, what: UnitFilter, limit: int, after: UnitCursor | None = None) -> list[dict[str, Any]]:
        """Newest first, in registration-time windows (see the module's docstring)."""
        wanted = {f: v for f, v in vars(what).items() if v}
        fields = next(f for f in INDEXED if set(f) <= set(wanted))
        ranged = {f: wanted[f] for f in fields}
        rest = {f: v for f, v in wanted.items() if f not in fields}
        found: list[dict[str, Any]] = []
        upper = after.created_at if after else None
        width = self._first_window(ranged, limit)
        if width is None:  # the whole index range is small: one query reads it all
            rows = [d for d in self.units.find(ranged, LIST_PROJECTION) if _fits(d, rest, after)]
            rows.sort(key=lambda d: (d["created_at"], d["_id"]), reverse=True)
            return rows[:limit]
        start: datetime | None = (upper or datetime.now(UTC)) - width
        for step in range(MAX_WINDOWS + 1):
            if step == MAX_WINDOWS:
                start = None  # the last query: everything older
            bounds: dict[str, Any] = {}
            if start is not None:
                bounds["$gte"] = start
            if upper is not None:
                bounds["$lte" if step == 0 else "$lt"] = upper  # the first window keeps the cursor's instant
            window = self.units.find({**ranged, "created_at": bounds} if bounds else ranged, LIST_PROJECTION)
            rows = [d for d in window if _fits(d, rest, after)]
            rows.sort(key=lambda d: (d["created_at"], d["_id"]), reverse=True)
            found += rows
            if len(found) >= limit or start is None:
                break
            upper, width = start, width * GROWTH
            start = upper - width if width < upper - _OLDEST else None  # None: everything older, in one query
        return found[:limit]

    def _first_window(self, ranged: Mapping[str, str], limit: int) -> timedelta | None:
        """How wide the first window should be, from the counts' estimate of the index
        range (its size and oldest registration, assumed spread evenly): wide enough
        for about one and a half pages; None when the range holds at most
        ``WHOLE_RANGE`` UPs (read it in one query); ``FIRST_WINDOW`` without an estimate."""
        size = self.unit_counts.size(ranged.get("community_id", ""), ranged.get("sector", ""), ranged.get("stage", ""))
        if size is None:
            return FIRST_WINDOW
        n, first_at = size
        if n <= WHOLE_RANGE:
            return None
        span = datetime.now(UTC) - first_at if first_at else timedelta(0)
        if span <= timedelta(0):
            return FIRST_WINDOW
        return max(span * min(1.0, 1.5 * limit / n), timedelta(minutes=1))  # 1.5 pages at the mean density


def _selector(what: UnitFilter, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(what, f) for f in fields if getattr(what, f)}


def _fits(doc: Mapping[str, Any], rest: Mapping[str, str], after: UnitCursor | None) -> bool:
    """Whether ``doc`` has the filter's values no index range carried and comes after the cursor."""
    if any(doc.get(f) != v for f, v in rest.items()):
        return False
    if after is None:
        return True
    at = doc["created_at"]
    return bool(at < after.created_at or (at == after.created_at and doc["_id"] < after.unit_id))


class MongoTrainingStore:
    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.trainings = collection

    def insert(self, doc: Mapping[str, Any]) -> None:
        with contextlib.suppress(DuplicateKeyError):
            self.trainings.insert_one(dict(doc))

    def find(self, unit_id: str, community_id: str) -> list[dict[str, Any]]:
        selector = {"unit_id": unit_id} if unit_id else {"community_id": community_id}
        return list(self.trainings.find(selector).sort("held_at", ASCENDING).limit(1000))
