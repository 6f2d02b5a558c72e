"""Counts of productive units per stage, by community, sector and kind: the
projection ``CountUnits`` (the board's column counts and the list's total) reads,
so a count does not read every UP (SecantusDB's ``count`` walks the whole
collection, and a ``find`` decodes every document its index range matches).

- **Shape**: one document per combination of community, sector and kind, each
  either a value or ``*`` (any): ``{_id: "<community>|<sector>|<kind>", stages:
  {<stage>: n}}``. A UP is in the eight combinations its three values make, so
  any filter on those three (and the stage) is answered by reading one document.
  ``first_at`` (the oldest registration of the combination) and the counts also
  plan how a list reads its index range (``size``, an estimate, never an answer).
- **Kept in the UP's own write**: registering a UP (``add``) and a write that
  moves it to another stage (``move``) change its eight counters in the same
  transaction as the UP document, which is marked ``counted``; an aborted write
  rolls both back, so the counts are exact.
- **Backfill** of UPs stored before the counters existed (``backfill``): one pass
  over the UPs not ``counted``, each batch in a transaction whose update is
  conditional on the UP's revision (and bumps it, so a concurrent command starts
  over on the marked document and moves the counters with it). When a pass finds
  nothing left, a marker says the counters are complete; until then ``count``
  answers None and the caller counts the UPs themselves.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.collection import Collection

ANY = "*"
COMPLETE = "_complete"
BATCH = 200
SIZE_SECONDS = 5.0
DIMENSIONS = ("community_id", "sector", "kind")
Transaction = Callable[[Callable[[ClientSession], Any]], Any]


def key(community_id: str = "", sector: str = "", kind: str = "") -> str:
    """The counter document of a filter (an empty value is any)."""
    return "|".join(value or ANY for value in (community_id, sector, kind))


def keys(doc: Mapping[str, Any]) -> list[str]:
    """The eight counters a UP is in: every subset of its community, sector and kind."""
    values = [str(doc.get(field) or "") for field in DIMENSIONS]
    return [
        key(*(v if keep else "" for v, keep in zip(values, mask, strict=True)))
        for mask in itertools.product((True, False), repeat=len(DIMENSIONS))
    ]


def increments(docs: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """The counter documents of ``docs`` (each at its stage), as ``{_id: {stage: n}}``:
    what ``add`` makes of them one by one, for a backfill or a seed."""
    out: dict[str, dict[str, int]] = {}
    for doc in docs:
        for k in keys(doc):
            stages = out.setdefault(k, {})
            stages[doc["stage"]] = stages.get(doc["stage"], 0) + 1
    return out


def seed(docs: Iterable[Mapping[str, Any]]) -> list[UpdateOne]:
    """The counter updates that count ``docs`` (each at its stage), with the
    oldest registration time of each combination (``first_at``: how wide a list's
    first window should be; ``UnitCounts.size``)."""
    docs = list(docs)
    firsts: dict[str, datetime] = {}
    for doc in docs:
        at = doc.get("created_at")
        if not isinstance(at, datetime):
            continue
        for k in keys(doc):
            if k not in firsts or at < firsts[k]:
                firsts[k] = at
    updates = []
    for k, stages in increments(docs).items():
        change: dict[str, Any] = {"$inc": {f"stages.{s}": n for s, n in stages.items()}}
        if k in firsts:
            change["$min"] = {"first_at": firsts[k]}
        updates.append(UpdateOne({"_id": k}, change, upsert=True))
    return updates


class UnitCounts:
    def __init__(self, counters: Collection[dict[str, Any]], units: Collection[dict[str, Any]]) -> None:
        self.counters, self.units = counters, units
        self._complete = False  # once complete, always complete
        self._sizes: dict[str, tuple[float, dict[str, Any]]] = {}

    # -- writing (inside the UP's transaction) -------------------------------------------
    def add(self, session: ClientSession, doc: Mapping[str, Any], stage: str, delta: int) -> None:
        self.counters.bulk_write(seed([doc]) if delta == 1 else [
            UpdateOne({"_id": k}, {"$inc": {f"stages.{stage}": delta}}, upsert=True) for k in keys(doc)
        ], ordered=False, session=session)  # fmt: skip

    def move(self, session: ClientSession, doc: Mapping[str, Any], from_stage: str, to_stage: str) -> None:
        self.counters.bulk_write(
            [
                UpdateOne({"_id": k}, {"$inc": {f"stages.{from_stage}": -1, f"stages.{to_stage}": 1}}, upsert=True)
                for k in keys(doc)
            ],
            ordered=False,
            session=session,
        )

    # -- backfill ----------------------------------------------------------------------------
    def complete(self) -> bool:
        if not self._complete:
            self._complete = self.counters.find_one({"_id": COMPLETE}) is not None
        return self._complete

    def backfill(self, transaction: Transaction) -> int:
        """Count every UP not yet counted; returns how many this call counted.
        ``transaction(write)`` runs ``write(session)`` in a transaction."""
        counted = 0
        pending = self.units.find({"counted": {"$ne": True}}, {"rev": 1, "stage": 1, **{f: 1 for f in DIMENSIONS}})
        batch: list[dict[str, Any]] = []
        for raw in [*pending, None]:
            if raw is not None:
                batch.append(raw)
            if batch and (raw is None or len(batch) == BATCH):
                counted += transaction(functools.partial(self._count_batch, batch=batch))
                batch = []
        if not self.units.find_one({"counted": {"$ne": True}}, {"_id": 1}):
            self.counters.update_one({"_id": COMPLETE}, {"$set": {"at": datetime.now(UTC)}}, upsert=True)
        return counted

    def backfill_if_needed(self, transaction: Transaction) -> int:
        return 0 if self.complete() else self.backfill(transaction)

    def _count_batch(self, session: ClientSession, *, batch: Iterable[dict[str, Any]]) -> int:
        counted = 0
        for raw in batch:
            marked = self.units.update_one(
                {"_id": raw["_id"], "rev": raw["rev"], "counted": {"$ne": True}},
                {"$set": {"counted": True}, "$inc": {"rev": 1}},
                session=session,
            )
            if marked.modified_count == 1:
                self.add(session, raw, raw["stage"], 1)
                counted += 1
        return counted

    # -- reading -------------------------------------------------------------------------------
    def count(self, community_id: str, sector: str, kind: str) -> dict[str, int] | None:
        """UPs per stage (stages with none left out); None until the backfill has finished."""
        if not self.complete():
            return None
        found = self.counters.find_one({"_id": key(community_id, sector, kind)}) or {}
        return {stage: int(n) for stage, n in (found.get("stages") or {}).items() if n}

    def size(self, community_id: str, sector: str, stage: str) -> tuple[int, datetime | None] | None:
        """An estimate for planning a list's reads, never for answers: how many UPs the
        combination holds (in ``stage``, or all) and the oldest registration time,
        reused for ``SIZE_SECONDS``; None until the backfill has finished."""
        if not self.complete():
            return None
        k, now = key(community_id, sector, ""), time.monotonic()
        cached = self._sizes.get(k)
        if cached is None or now - cached[0] > SIZE_SECONDS:
            cached = (now, self.counters.find_one({"_id": k}) or {})
            self._sizes[k] = cached
        stages = cached[1].get("stages") or {}
        n = int(stages.get(stage, 0)) if stage else sum(int(v) for v in stages.values())
        return n, cached[1].get("first_at")
