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
- **Week roll-ups** (``weeks``, keyed by the ISO week's Monday): kept by the same
  ``add``, so a dashboard's twelve weeks read about a seventh of the documents. A
  range is answered from whole weeks plus the days at either end. Stores whose day
  counts predate the roll-ups rebuild them from the day counts, one week per
  transaction with absolute values (a seal racing the rebuild of its week is a
  write conflict, and the transaction retries), then set their own marker; until
  then ``count`` reads days only.
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
WEEKS_COMPLETE = "_complete_weeks"
BATCH = 200
ORIGINAL = {"$in": ["", None]}  # ``amends`` of an original (not a correction)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # naive: stored UTC


def day_of(moment: datetime) -> str:
    return _utc(moment).date().isoformat()


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def split_weeks(
    first: str | None, last: str | None
) -> tuple[list[tuple[str | None, str | None]], tuple[str | None, str | None] | None]:
    """[first, last] (ISO days, either open) as day ranges at the ends plus one
    range of whole weeks, given by the Mondays of its first and last week."""
    start = date.fromisoformat(first) if first else None
    end = date.fromisoformat(last) if last else None
    week_from = start + timedelta(days=(7 - start.weekday()) % 7) if start else None  # first Monday >= start
    week_to = monday_of(end - timedelta(days=(end.weekday() + 1) % 7)) if end else None  # last whole week's Monday
    if week_from and week_to and week_from > week_to:
        return [(first, last)], None  # no whole week inside
    days: list[tuple[str | None, str | None]] = []
    if start and week_from and week_from > start:
        days.append((first, (week_from - timedelta(days=1)).isoformat()))
    if end and week_to and week_to + timedelta(days=6) < end:
        days.append(((week_to + timedelta(days=7)).isoformat(), last))
    return days, (week_from.isoformat() if week_from else None, week_to.isoformat() if week_to else None)


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
    def __init__(self, counters: Collection, actas: Collection, weeks: Collection) -> None:
        self.counters, self.actas, self.weeks = counters, actas, weeks

    def ensure_indexes(self) -> None:
        self.counters.create_index([("dim", 1), ("day", 1)])
        self.weeks.create_index([("dim", 1), ("week", 1)])

    # -- writing ---------------------------------------------------------------------
    def add(self, session: ClientSession, doc: Mapping[str, Any]) -> None:
        """Count a sealed original (its stored document) in the seal's transaction."""
        day = day_of(doc["captured_at"])
        week = monday_of(date.fromisoformat(day)).isoformat()
        for dim, value in self.keys(doc).items():
            self.counters.update_one(
                {"_id": f"{day}|{dim}|{value}"},
                {"$inc": {"n": 1}, "$setOnInsert": {"day": day, "dim": dim, "key": value}},
                upsert=True,
                session=session,
            )
            self.weeks.update_one(
                {"_id": f"{week}|{dim}|{value}"},
                {"$inc": {"n": 1}, "$setOnInsert": {"week": week, "dim": dim, "key": value}},
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
        if not self.weeks_complete():
            self.rebuild_weeks(transaction)

    def weeks_complete(self) -> bool:
        return self.weeks.find_one({"_id": WEEKS_COMPLETE}) is not None

    def rebuild_weeks(self, transaction: Any) -> int:
        """The week roll-ups from the day counts (complete by then), one week per
        transaction; returns how many weeks were written."""
        mondays = sorted({monday_of(date.fromisoformat(d)) for d in self.counters.distinct("day", {"dim": "template"})})
        for monday in mondays:
            transaction(lambda s, m=monday: self._rebuild_week(s, m))
        self.weeks.update_one({"_id": WEEKS_COMPLETE}, {"$set": {"at": datetime.now(UTC)}}, upsert=True)
        return len(mondays)

    def _rebuild_week(self, session: ClientSession, monday: date) -> None:
        span = {"$gte": monday.isoformat(), "$lte": (monday + timedelta(days=6)).isoformat()}
        totals: Counter[tuple[str, str]] = Counter()
        for row in self.counters.find({"day": span}, {"dim": 1, "key": 1, "n": 1}, session=session):
            totals[(row["dim"], str(row["key"]))] += int(row["n"])
        week = monday.isoformat()
        for (dim, key), n in totals.items():
            self.weeks.update_one(
                {"_id": f"{week}|{dim}|{key}"},
                {"$set": {"week": week, "dim": dim, "key": key, "n": n}},
                upsert=True,
                session=session,
            )

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
        dim = "template" if group_by == "week" else group_by
        ranges: list[tuple[Collection, str, str | None, str | None]]
        if self.weeks_complete():
            day_ranges, weeks = split_weeks(first, last)
            ranges = [(self.counters, "day", a, b) for a, b in day_ranges]
            if weeks is not None:
                ranges.append((self.weeks, "week", *weeks))
        else:
            ranges = [(self.counters, "day", first, last)]
        totals: Counter[str] = Counter()
        for collection, field, low, high in ranges:
            selector: dict[str, Any] = {"dim": dim}
            span = {op: bound for op, bound in (("$gte", low), ("$lte", high)) if bound}
            if span:
                selector[field] = span
            for row in collection.find(selector, {field: 1, "key": 1, "n": 1}):
                if group_by == "week":
                    year, week, _ = date.fromisoformat(row[field]).isocalendar()
                    totals[f"{year}-W{week:02d}"] += int(row["n"])
                else:
                    totals[str(row["key"])] += int(row["n"])
        return {k: n for k, n in sorted(totals.items()) if n}
