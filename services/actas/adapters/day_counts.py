"""Counts of sealed original actas per UTC day of capture, by template, gestor and
community: the projection that ``CountActas`` reads for whole-day ranges, so a
dashboard does not scan every acta (SecantusDB reads every document a query
matches: 50,000 actas cost seconds per count).

- **Kept in the seal's transaction**: ``add`` increments the day's three counters
  and marks the acta ``counted``; an aborted seal rolls both back.
- **Backfill** of actas sealed before the counters existed (``backfill``): one
  pass over the uncounted sealed originals, each batch in a transaction whose
  update is conditional on ``counted`` being unset, so two replicas backfilling at
  once, or a backfill racing a seal, never count an acta twice. When a pass finds
  nothing left, a marker says the counters are complete; until then ``count``
  answers None and the caller aggregates the actas instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pymongo.client_session import ClientSession
from pymongo.collection import Collection

DIMENSIONS = {"template": "template_key", "gestor": "gestor_id", "community": "community_id"}
COMPLETE = "_complete"
BATCH = 200
ORIGINAL = {"$in": ["", None]}  # ``amends`` of an original (not a correction)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # naive: stored UTC


def day_of(moment: datetime) -> str:
    return _utc(moment).date().isoformat()


def whole_days(start: datetime | None, end: datetime | None) -> tuple[str | None, str | None] | None:
    """The [first, last] UTC days of a range whose bounds fall on UTC midnights
    (either may be open); None if a bound cuts a day (the counters cannot tell)."""
    for bound in (start, end):
        if bound is not None and _utc(bound).time() != time(0):
            return None
    first = day_of(start) if start else None
    last = (_utc(end).date() - timedelta(days=1)).isoformat() if end else None
    return first, last


class DayCounts:
    def __init__(self, counters: Collection, actas: Collection) -> None:
        self.counters, self.actas = counters, actas

    def ensure_indexes(self) -> None:
        self.counters.create_index([("dim", 1), ("day", 1)])

    # -- writing ---------------------------------------------------------------------
    def add(self, session: ClientSession, doc: Mapping[str, Any]) -> None:
        """Count a sealed original (its stored document) in the seal's transaction."""
        for dim, value in self.keys(doc).items():
            day = day_of(doc["captured_at"])
            self.counters.update_one(
                {"_id": f"{day}|{dim}|{value}"},
                {"$inc": {"n": 1}, "$setOnInsert": {"day": day, "dim": dim, "key": value}},
                upsert=True,
                session=session,
            )

    @staticmethod
    def keys(doc: Mapping[str, Any]) -> dict[str, str]:
        return {dim: str(doc.get(field) or "") for dim, field in DIMENSIONS.items()}

    @staticmethod
    def counts(doc: Mapping[str, Any]) -> bool:
        return doc.get("status") == "sealed" and not doc.get("amends")

    def complete(self) -> bool:
        return self.counters.find_one({"_id": COMPLETE}) is not None

    def backfill(self, transaction: Any) -> int:
        """Count every sealed original not yet counted; returns how many this call
        counted. ``transaction(write)`` runs ``write(session)`` in a transaction."""
        counted = 0
        pending = self.actas.find(
            {"status": "sealed", "amends": ORIGINAL, "counted": {"$ne": True}},
            {"captured_at": 1, "template_key": 1, "gestor_id": 1, "community_id": 1, "status": 1},
        )
        batch: list[dict[str, Any]] = []
        for raw in pending:
            batch.append(raw)
            if len(batch) == BATCH:
                counted += transaction(lambda s, b=batch: self._count_batch(s, b))
                batch = []
        if batch:
            counted += transaction(lambda s, b=batch: self._count_batch(s, b))
        self.counters.update_one({"_id": COMPLETE}, {"$set": {"at": datetime.now(UTC)}}, upsert=True)
        return counted

    def backfill_if_needed(self, transaction: Any) -> None:
        if not self.complete():
            self.backfill(transaction)

    def _count_batch(self, session: ClientSession, batch: Iterable[dict[str, Any]]) -> int:
        counted = 0
        for raw in batch:
            marked = self.actas.update_one(
                {"_id": raw["_id"], "counted": {"$ne": True}}, {"$set": {"counted": True}}, session=session
            )
            if marked.modified_count == 1:
                self.add(session, raw)
                counted += 1
        return counted

    # -- reading ---------------------------------------------------------------------
    def count(self, group_by: str, start: datetime | None, end: datetime | None) -> dict[str, int] | None:
        """Sealed originals captured in [start, end), grouped; None when the counters
        cannot answer (a bound inside a day, or the backfill not finished)."""
        days = whole_days(start, end)
        if days is None or not self.complete():
            return None
        first, last = days
        selector: dict[str, Any] = {"dim": "template" if group_by == "week" else group_by}
        span: dict[str, str] = {}
        if first:
            span["$gte"] = first
        if last:
            span["$lte"] = last
        if span:
            selector["day"] = span
        totals: Counter[str] = Counter()
        for row in self.counters.find(selector, {"day": 1, "key": 1, "n": 1}):
            if group_by == "week":
                year, week, _ = date.fromisoformat(row["day"]).isocalendar()
                totals[f"{year}-W{week:02d}"] += int(row["n"])
            else:
                totals[str(row["key"])] += int(row["n"])
        return {k: n for k, n in sorted(totals.items()) if n}
