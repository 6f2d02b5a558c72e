"""The income service's store on the real document store: one conditional write
per command, events appended to the outbox without losing those not yet
published, and concurrent stage changes on the same version: one wins, the
others are refused, nothing is half-written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from crm_platform import errors as vocabulary
from devstack.infra import Stack
from services.income.adapters.repository import MongoIncomeStore
from services.income.bootstrap import workflow
from services.income.domain.viability import ViabilityRule
from services.income.service_layer.handlers import IncomeHandlers
from services.income.service_layer.stage_flow import StageFlow
from tests.unit.income_fakes import FakeActas, FakeDirectory, NoRelay, StepClock


@pytest.fixture
def store(stack: Stack) -> Iterator[MongoIncomeStore]:
    made = MongoIncomeStore(stack.env["MONGO_URI"], f"income_test_{uuid.uuid4().hex[:8]}")
    yield made
    made.client.drop_database(made.units.database.name)
    made.close()


def test_a_write_on_a_stale_revision_changes_nothing_and_the_outbox_keeps_its_events(
    store: MongoIncomeStore,
) -> None:
    doc = {"_id": "up-1", "name": "Panadería", "stage": "diagnostico", "rev": 1}
    store.insert(doc, [{"id": "e1", "type": "productive_unit_registered", "payload": {}}])
    assert "outbox" not in (store.get("up-1") or {})
    assert store.replace({**doc, "stage": "formulacion_plan", "rev": 2}, 1, [{"id": "e2", "type": "stage_changed"}])
    assert not store.replace({**doc, "stage": "cerrada", "rev": 2}, 1, [{"id": "e3", "type": "stage_changed"}])
    raw = store.units.find_one({"_id": "up-1"})
    assert raw is not None
    assert (raw["stage"], raw["rev"]) == ("formulacion_plan", 2)
    assert [e["id"] for e in raw["outbox"]] == ["e1", "e2"]
    with pytest.raises(vocabulary.AlreadyExists):
        store.insert(doc, [])


def test_concurrent_stage_changes_on_one_version_let_exactly_one_through(store: MongoIncomeStore) -> None:
    clock, relay = StepClock(), NoRelay()
    flow = StageFlow(workflow(store, relay, clock)[0], store, relay, clock)
    handlers = IncomeHandlers(store, FakeDirectory({"ana": "fam-1"}), flow, relay, clock, ViabilityRule(), FakeActas())
    unit = handlers.register(
        name="Panadería",
        family_id="fam-1",
        owner_ids=["ana"],
        community_id="com-1",
        sector="agroindustria",
        kind="emprendimiento",
        by="gestor1",
    )

    def close(n: int) -> str:
        try:
            handlers.change_stage(unit["_id"], "cerrar", 1, f"gestor{n}", reason=f"motivo {n}")
            return "ok"
        except vocabulary.Aborted:
            return "stale"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(close, range(6)))
    assert sorted(outcomes) == ["ok"] + ["stale"] * 5
    final = handlers.unit(unit["_id"])
    assert (final["stage"], final["version"], len(final["history"])) == ("cerrada", 2, 1)
    raw = store.units.find_one({"_id": unit["_id"]})
    assert raw is not None
    assert [e["type"] for e in raw["outbox"]] == ["productive_unit_registered", "stage_changed"]
