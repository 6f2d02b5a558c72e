"""The income service's stages on the workflow engine, on the real SecantusDB:
a transition whose guards read the plan's facts, actions executed once after a
"restart" (a process that died between the commit and the actions), the
overdue announcement under its contract, and two replicas publishing the seeded
definition at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_platform import contracts
from crm_platform.workflow.actions import ActionRunner
from crm_platform.workflow.engine import WorkflowEngine
from crm_platform.workflow.examples import example
from crm_platform.workflow.mongo_store import MongoWorkflowStore
from crm_platform.workflow.sweeper import WorkflowSweeper
from devstack.infra import Stack
from services.income.adapters.repository import MongoIncomeStore
from services.income.adapters.workflow import income_registry, publish_seeded
from services.income.bootstrap import workflow
from services.income.domain.stages import GuardFailed
from services.income.domain.viability import ViabilityRule
from services.income.service_layer.handlers import IncomeHandlers
from services.income.service_layer.stage_flow import StageFlow
from tests.unit.fakes import FakeClock
from tests.unit.income_builders import content
from tests.unit.income_fakes import FakeActas, FakeDirectory, NoRelay
from tests.unit.workflow_fakes import T0

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SecantusDB of this module's own (nothing else of the stack is needed)."""
    stack = Stack(var_dir=Path(tmp_path_factory.mktemp("income-workflow-secantus")))
    try:
        stack.start_mongo()
        yield stack.env["MONGO_URI"]
    finally:
        stack.stop()


@pytest.fixture
def store(mongo_uri: str) -> Iterator[MongoIncomeStore]:
    made = MongoIncomeStore(mongo_uri, f"income_wf_{uuid.uuid4().hex[:8]}")
    yield made
    made.client.drop_database(made.units.database.name)
    made.close()


def process(store: MongoIncomeStore, clock: FakeClock) -> tuple[IncomeHandlers, WorkflowEngine, ActionRunner]:
    """One crm-income process, wired as ``bootstrap`` wires it."""
    relay = NoRelay()
    engine, runner, _ = workflow(store, relay, clock)
    flow = StageFlow(engine, store, relay, clock)
    handlers = IncomeHandlers(store, FakeDirectory({"ana": "fam-1"}), flow, relay, clock, ViabilityRule(), FakeActas())
    return handlers, engine, runner


def register(h: IncomeHandlers) -> str:
    doc = h.register(
        name="Panadería", family_id="fam-1", owner_ids=["ana"], community_id="com-1",
        sector="agroindustria", kind="emprendimiento", by="gestor1",
    )  # fmt: skip
    return str(doc["_id"])


def test_guards_read_the_plan_facts_and_the_document_follows_the_instance(store: MongoIncomeStore) -> None:
    h, engine, _ = process(store, FakeClock(T0))
    unit_id = register(h)
    h.record_diagnosis(unit_id, True, "Horno propio, sin registro sanitario", "gestor1")
    h.change_stage(unit_id, "formular_plan", 1, "gestor1")
    with pytest.raises(GuardFailed) as no_plan:
        h.change_stage(unit_id, "enviar_aprobacion", 2, "gestor1")
    assert (no_plan.value.guard, no_plan.value.seen) == ("plan_formulado", {"plan.version": 0})
    plan = h.save_plan(unit_id, _content(), 0, "gestor1")
    h.change_stage(unit_id, "enviar_aprobacion", 2, "gestor1")
    with pytest.raises(GuardFailed) as not_approved:
        h.change_stage(unit_id, "iniciar_implementacion", 3, "coord1")
    assert not_approved.value.guard == "plan_aprobado_y_viable"
    assert not_approved.value.seen == {"plan.aprobado": False, "plan.viable": False}
    plan = h.decide_plan(unit_id, "submit", plan.revision, "gestor1")
    h.decide_plan(unit_id, "approve", plan.revision, "coord1", role="coordinator")  # also co-signs
    moved = h.change_stage(unit_id, "iniciar_implementacion", 3, "coord1")
    stored = engine.get(unit_id)
    assert (moved["stage"], moved["version"]) == (stored.state, stored.version) == ("implementacion", 4)
    assert stored.history[-1].guard_values == {"plan.aprobado": True, "plan.viable": True}
    raw = store.units.find_one({"_id": unit_id})
    assert raw is not None and raw["workflow_pending"] == []
    changes = [e for e in raw["outbox"] if e["type"] == "stage_changed"]
    assert [e["payload"]["to_stage"] for e in changes] == ["formulacion_plan", "aprobacion", "implementacion"]
    for event in changes:
        contracts.check("income", "stage_changed", event["payload"])
    # The co-signature the definition asks for on "enviar_aprobacion" is there, once.
    tasks = MongoWorkflowStore(store.units.database).tasks(unit_id)
    assert [(t.kind, t.assignee_role, t.requested_by, t.done_by) for t in tasks] == [
        ("cosignature", "coordinator", "gestor1", "coord1")
    ]


def _content() -> dict[str, Any]:
    from services.income.domain.plan_io import content_to_mapping

    return content_to_mapping(content())


def test_actions_left_by_a_dead_process_run_once_after_a_restart(
    store: MongoIncomeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(T0)
    h, engine, _ = process(store, clock)
    unit_id = register(h)
    engine.migrate(unit_id, 1, {"diagnostico": "fortalecimiento"}, "coord1", 1)
    h.flow.project(unit_id)
    # The first process "dies" right after the engine's write: nothing runs its actions.
    flow_store = MongoWorkflowStore(store.units.database)
    dead = WorkflowEngine(flow_store, income_registry(), clock, after_commit=None)
    h.flow.engine = dead
    h.change_stage(unit_id, "iniciar_seguimiento", 2, "gestor1")
    assert [a.name for a in flow_store.pending_actions(unit_id)] == ["create_task", "notify", "emit_event"]
    # The restarted process: its sweeper finds them.
    clock.advance(timedelta(minutes=1))
    _, engine2, runner2 = process(store, clock)
    sweeper = WorkflowSweeper(engine2, runner2, clock, interval=3600)
    # It too dies once, after running them and before clearing them: they run again, adding nothing.
    with monkeypatch.context() as patched:
        patched.setattr(MongoWorkflowStore, "remove_actions", lambda *_: None)
        assert sweeper.sweep_once() == 3
    assert sweeper.sweep_once() == 3
    assert sweeper.sweep_once() == 0
    tasks = flow_store.tasks(unit_id)
    assert sorted(t.kind for t in tasks) == ["follow_up", "notice"]
    assert store.units.database["workflow_tasks"].count_documents({"instance_id": unit_id}) == 2
    # Thirty-one days later the follow-up state is overdue: announced once, under its contract.
    clock.advance(timedelta(days=31))
    sweeper.sweep_once()  # the engine runs the announcement right after storing it (after_commit)
    sweeper.sweep_once()
    assert engine2.overdue(clock.now())[0].id == unit_id  # still overdue, announced once
    raw = store.units.find_one({"_id": unit_id})
    assert raw is not None
    overdue = [e for e in raw["outbox"] if e["type"] == "workflow_overdue"]
    assert len(overdue) == 1
    contracts.check("income", "workflow_overdue", overdue[0]["payload"])
    assert (overdue[0]["payload"]["unit_id"], overdue[0]["payload"]["state"]) == (unit_id, "seguimiento")
    assert [e["type"] for e in raw["outbox"]].count("stage_changed") == 2  # migration and transition, once each


def test_two_replicas_starting_together_publish_the_seeded_definition_once(store: MongoIncomeStore) -> None:
    clock = FakeClock(T0)
    db = store.units.database
    versions: list[int] = []
    barrier = threading.Barrier(4)

    def replica() -> None:
        flow_store = MongoWorkflowStore(db)
        engine = WorkflowEngine(flow_store, income_registry(), clock)
        barrier.wait()
        versions.append(publish_seeded(engine, flow_store, example("gi_unidad_productiva"), clock.now()))

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert versions == [1, 1, 1, 1]
    assert db["workflow_definitions"].count_documents({}) == 1
    # An instance stays on its version when a changed definition is published at the next start.
    h, engine, _ = process(store, clock)
    unit_id = register(h)
    changed = example("gi_unidad_productiva").replace("due_days: 30}", "due_days: 20}", 1)
    flow_store = MongoWorkflowStore(db)
    assert publish_seeded(engine, flow_store, changed, clock.now()) == 2
    assert publish_seeded(engine, flow_store, changed, clock.now()) == 2
    assert engine.get(unit_id).definition_version == 1
    assert h.unit(unit_id)["workflow"]["definition_version"] == 1
