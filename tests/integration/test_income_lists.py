"""The UP list and counts on the real SecantusDB: ``CountUnits``' counts per stage
are exact past 500 and for every filter (community, sector, kind, stage), they
move with a stage change in the same write, and UPs stored before the counts are
counted once by the backfill (the UPs themselves are counted until then); the
list pages newest first from a cursor, with the service's sector and kind
filters, every UP exactly once, and a page does not move when a UP is registered
meanwhile."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_platform import errors as vocabulary
from devstack.infra import Stack
from services.income.adapters.repository import MongoIncomeStore
from services.income.bootstrap import workflow
from services.income.domain.stages import STAGE_LABELS
from services.income.domain.viability import ViabilityRule
from services.income.service_layer import listing
from services.income.service_layer.handlers import IncomeHandlers
from services.income.service_layer.ports import UnitFilter
from services.income.service_layer.stage_flow import StageFlow
from tests.unit.income_fakes import FakeActas, FakeDirectory, NoRelay, StepClock

pytestmark = pytest.mark.integration

COUNT = 620  # past the 500 a list call returns at most
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
COMMUNITIES = ("com-a", "com-b", "com-c")
SECTORS = ("agroindustria", "comercio", "servicios")
KINDS = ("emprendimiento", "fortalecimiento")


@pytest.fixture(scope="module")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SecantusDB of this module's own (nothing else of the stack is needed)."""
    stack = Stack(var_dir=Path(tmp_path_factory.mktemp("income-lists-secantus")))
    try:
        stack.start_mongo()
        yield stack.env["MONGO_URI"]
    finally:
        stack.stop()


def fresh(mongo_uri: str) -> MongoIncomeStore:
    return MongoIncomeStore(mongo_uri, f"income_lists_{uuid.uuid4().hex[:8]}")


def unit(n: int, rng: random.Random) -> dict[str, Any]:
    """A UP document in the service's stored shape, 29 hours apart (about two years
    for 620), except that every tenth one shares its predecessor's instant (ties
    are broken by id)."""
    return {
        "_id": f"up-{n:04d}-{uuid.uuid4().hex[:6]}",
        "name": f"Unidad {n:04d}",
        "family_id": f"fam-{n}",
        "owner_ids": [f"b-{n}"],
        "community_id": rng.choice(COMMUNITIES),
        "sector": rng.choice(SECTORS),
        "kind": rng.choice(KINDS),
        "stage": rng.choice(list(STAGE_LABELS)),
        "version": 1,
        "history": [],
        "followups": [],
        "plans": [],
        "created_at": NOW - timedelta(hours=29 * (n - (n % 10 == 1))),
        "created_by": "gestor1",
        "rev": 1,
    }


@pytest.fixture(scope="module")
def seeded(mongo_uri: str) -> Iterator[tuple[MongoIncomeStore, list[dict[str, Any]]]]:
    """``COUNT`` UPs registered through the store's own insert (each counted in its transaction)."""
    store = fresh(mongo_uri)
    store.backfill_counts()  # an empty store: the counts are complete from the start
    rng = random.Random(14)
    docs = [unit(n, rng) for n in range(COUNT)]
    for doc in docs:
        store.insert(doc, [])
    yield store, docs
    store.client.drop_database(store.units.database.name)
    store.close()


def expected_counts(docs: list[dict[str, Any]], what: UnitFilter) -> dict[str, int]:
    wanted = {f: v for f, v in vars(what).items() if v}
    return dict(Counter(d["stage"] for d in docs if all(d[f] == v for f, v in wanted.items())))


def newest_first(docs: list[dict[str, Any]], what: UnitFilter) -> list[str]:
    wanted = {f: v for f, v in vars(what).items() if v}
    found = [d for d in docs if all(d[f] == v for f, v in wanted.items())]
    return [d["_id"] for d in sorted(found, key=lambda d: (d["created_at"], d["_id"]), reverse=True)]


FILTERS = (
    UnitFilter(),
    UnitFilter(community_id="com-b"),
    UnitFilter(stage="seguimiento"),
    UnitFilter(sector="comercio"),
    UnitFilter(kind="fortalecimiento"),
    UnitFilter(sector="servicios", kind="emprendimiento"),
    UnitFilter(community_id="com-a", stage="diagnostico"),
    UnitFilter(community_id="com-c", sector="agroindustria", kind="fortalecimiento", stage="cerrada"),
)


@pytest.mark.parametrize("what", FILTERS, ids=lambda w: "-".join(v for v in vars(w).values() if v) or "all")
def test_counts_are_exact_past_500_for_every_filter(
    seeded: tuple[MongoIncomeStore, list[dict[str, Any]]], what: UnitFilter
) -> None:
    store, docs = seeded
    expected = expected_counts(docs, what)
    if what.stage:
        expected = {what.stage: expected.get(what.stage, 0)}
    assert store.count(what) == expected
    if what == UnitFilter():
        assert sum(expected.values()) == COUNT


@pytest.mark.parametrize("what", FILTERS, ids=lambda w: "-".join(v for v in vars(w).values() if v) or "all")
def test_pages_follow_the_cursor_newest_first_with_every_unit_once(
    seeded: tuple[MongoIncomeStore, list[dict[str, Any]]], what: UnitFilter
) -> None:
    store, docs = seeded
    handlers = IncomeHandlers(store, FakeDirectory({}), None, NoRelay(), StepClock(), ViabilityRule())  # type: ignore[arg-type]
    seen: list[str] = []
    token = ""
    for _ in range(COUNT):
        page, token = handlers.units(what, 25 if what == UnitFilter() else 7, token)
        seen += [d["_id"] for d in page]
        assert all("history" not in d and "outbox" not in d for d in page)
        if not token:
            break
    assert seen == newest_first(docs, what)


def test_a_page_does_not_move_when_a_unit_is_registered_meanwhile_and_a_bad_token_is_a_field_error(
    mongo_uri: str,
) -> None:
    store = fresh(mongo_uri)
    try:
        rng = random.Random(7)
        docs = [unit(n, rng) for n in range(40)]
        for doc in docs:
            store.insert(doc, [])
        handlers = IncomeHandlers(store, FakeDirectory({}), None, NoRelay(), StepClock(), ViabilityRule())  # type: ignore[arg-type]
        first, token = handlers.units(UnitFilter(), 10)
        newer = {**unit(1000, rng), "created_at": NOW + timedelta(minutes=1)}
        store.insert(newer, [])
        second, _ = handlers.units(UnitFilter(), 10, token)
        order = newest_first(docs, UnitFilter())
        assert [d["_id"] for d in first] == order[:10]
        assert [d["_id"] for d in second] == order[10:20]  # the new UP is on the first page only
        assert handlers.units(UnitFilter(), 1)[0][0]["_id"] == newer["_id"]
        forged = listing.token({"created_at": datetime(1, 1, 1, tzinfo=UTC), "_id": "up-1"})
        for bad in ("no-es-un-cursor", listing.token({"created_at": NOW, "_id": ""}), "%%%", forged):
            with pytest.raises(vocabulary.InvalidArgument) as refused:
                handlers.units(UnitFilter(), 10, bad)
            assert "page_token" in refused.value.fields
    finally:
        store.client.drop_database(store.units.database.name)
        store.close()


def test_a_stage_change_moves_its_counts_in_the_same_write_and_a_refused_one_moves_nothing(mongo_uri: str) -> None:
    store = fresh(mongo_uri)
    try:
        store.backfill_counts()
        clock, relay = StepClock(), NoRelay()
        flow = StageFlow(workflow(store, relay, clock)[0], store, relay, clock)
        h = IncomeHandlers(store, FakeDirectory({"ana": "fam-1"}), flow, relay, clock, ViabilityRule(), FakeActas())
        place = {"community_id": "com-1", "sector": "agroindustria", "kind": "emprendimiento"}
        made = [
            h.register(name=f"Panadería {n}", family_id="fam-1", owner_ids=["ana"], by="gestor1", **place)
            for n in range(3)
        ]
        in_community = UnitFilter(community_id="com-1")
        assert store.count(in_community) == {"diagnostico": 3}
        unit_id = made[0]["_id"]
        with pytest.raises(vocabulary.FailedPrecondition):  # the diagnosis is not complete yet
            h.change_stage(unit_id, "formular_plan", 1, "gestor1")
        assert store.count(in_community) == {"diagnostico": 3}
        h.record_diagnosis(unit_id, True, "Horno propio", "gestor1")
        h.change_stage(unit_id, "formular_plan", 1, "gestor1")
        h.change_stage(made[1]["_id"], "cerrar", 1, "gestor1", reason="Se mudaron")
        expected = {"diagnostico": 1, "formulacion_plan": 1, "cerrada": 1}
        for what in (in_community, UnitFilter(), UnitFilter(sector="agroindustria", kind="emprendimiento")):
            assert store.count(what) == expected
        assert store.count(UnitFilter(community_id="com-2")) == {}
        assert [d["_id"] for d in h.units(UnitFilter(stage="cerrada"))[0]] == [made[1]["_id"]]
    finally:
        store.client.drop_database(store.units.database.name)
        store.close()


def test_units_stored_before_the_counts_are_counted_once_by_the_backfill(mongo_uri: str) -> None:
    store = fresh(mongo_uri)
    try:
        rng = random.Random(3)
        docs = [unit(n, rng) for n in range(450)]
        store.units.insert_many([{**d, "outbox": []} for d in docs])  # as an older crm-income stored them
        everything, one_sector = UnitFilter(), UnitFilter(sector="comercio", stage="aprobacion")
        # Until the backfill has finished, the UPs themselves are counted: exact, only slower.
        assert store.count(everything) == expected_counts(docs, everything)
        assert store.count(one_sector) == {"aprobacion": expected_counts(docs, one_sector).get("aprobacion", 0)}
        assert store.backfill_counts() == 450
        assert store.backfill_counts() == 0  # complete: a second pass counts nothing twice
        assert store.units.count_documents({"counted": True}) == 450
        assert store.count(everything) == expected_counts(docs, everything)
        assert store.count(one_sector) == {"aprobacion": expected_counts(docs, one_sector).get("aprobacion", 0)}
        raw = store.units.find_one({"_id": docs[0]["_id"]})
        assert raw is not None and raw["rev"] == 2  # marked under its revision: a concurrent command starts over
    finally:
        store.client.drop_database(store.units.database.name)
        store.close()
