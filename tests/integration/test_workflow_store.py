"""The workflow engine on the real SecantusDB (the pymongo adapter): concurrent
transitions on one instance, actions that survive a crash between the commit and
their execution, overdue announcements, definition versions."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from crm_platform.workflow import (
    OVERDUE_EVENT,
    ActionPorts,
    ActionRunner,
    VersionConflict,
    WorkflowEngine,
    default_registry,
)
from crm_platform.workflow.examples import example
from crm_platform.workflow.mongo_store import MongoWorkflowStore
from devstack.infra import Stack
from tests.unit.fakes import FakeClock
from tests.unit.workflow_fakes import GI, T0, RecordingNotifier, RecordingSink

pytestmark = pytest.mark.integration
APPROVED = {"plan": {"version": 1, "aprobado": True, "viable": True}}


@pytest.fixture(scope="module")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SecantusDB of this module's own (nothing else of the stack is needed)."""
    store = Stack(var_dir=Path(tmp_path_factory.mktemp("workflow-secantus")))
    try:
        store.start_mongo()
        yield store.env["MONGO_URI"]
    finally:
        store.stop()


@pytest.fixture
def db(mongo_uri: str) -> Iterator[Database]:
    client: MongoClient = MongoClient(mongo_uri)
    name = f"test_workflow_{uuid.uuid4().hex[:8]}"
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


class Rig:
    def __init__(self, db: Database) -> None:
        self.clock = FakeClock(T0)
        self.store = MongoWorkflowStore(db)
        self.store.ensure_indexes()
        self.events, self.notifier = RecordingSink(), RecordingNotifier()
        registry = default_registry()
        self.runner = ActionRunner(ActionPorts(self.store, self.events, self.notifier), registry)
        self.engine = WorkflowEngine(self.store, registry, self.clock)
        self.engine.publish(example("gi_unidad_productiva"), "coordinadora")

    def in_aprobacion(self, up: str) -> int:
        self.engine.start(GI, up, {"diagnostico": {"completo": True}}, "gestor-1")
        self.engine.transition(up, "formular_plan", "gestor-1", None, 1)
        return self.engine.transition(up, "enviar_aprobacion", "gestor-1", {"plan": {"version": 1}}, 2).version

    def cosigned(self, up: str, version: int) -> int:
        """Run the co-signature action Aprobación asked for and sign it (a coordinator)."""
        self.runner.run(up)
        (request,) = self.engine.open_cosignatures(up)
        signed = self.engine.cosign(up, request.id, "coord", "coordinator")
        assert self.store.task(request.id) == signed and signed.done_by == "coord"
        return version


def test_two_concurrent_transitions_on_one_instance_one_wins_one_conflicts(db: Database) -> None:
    rig = Rig(db)
    version = rig.cosigned("up-1", rig.in_aprobacion("up-1"))
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def attempt(name: str, **kwargs: Any) -> None:
        barrier.wait()
        try:
            outcomes[name] = rig.engine.transition("up-1", name, "coord", kwargs.get("data"), version, kwargs.get("r"))
        except VersionConflict as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=attempt, args=("iniciar_implementacion",), kwargs={"data": APPROVED}),
        threading.Thread(target=attempt, args=("cerrar",), kwargs={"r": "La familia desistió"}),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conflicts = [n for n, o in outcomes.items() if isinstance(o, VersionConflict)]
    winners = [n for n, o in outcomes.items() if not isinstance(o, VersionConflict)]
    assert len(conflicts) == 1 and len(winners) == 1
    stored = rig.engine.get("up-1")
    assert stored.version == version + 1
    assert stored.state == outcomes[winners[0]].state
    assert [h.transition for h in stored.history].count(conflicts[0]) == 0  # nothing half-written


def test_a_stale_write_is_refused_by_the_store_itself(db: Database) -> None:
    rig = Rig(db)
    version = rig.in_aprobacion("up-1")
    before = rig.engine.get("up-1")
    rig.engine.transition("up-1", "devolver_plan", "coord", None, version, reason="Ajustar costos")
    # Past the engine's own check: the conditional write refuses it.
    with pytest.raises(VersionConflict):
        rig.store.commit(before, version, before.history[-1], [])
    after = rig.engine.get("up-1")
    assert (after.state, after.version, len(after.history)) == ("formulacion_plan", version + 1, 4)


def test_a_crash_between_commit_and_actions_still_runs_each_action_once(db: Database) -> None:
    rig = Rig(db)
    version = rig.cosigned("up-1", rig.in_aprobacion("up-1"))
    # Each later transition stores its actions; nothing runs them (the "crash").
    v = rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, version).version
    v = rig.engine.transition("up-1", "fortalecer", "gestor-1", None, v, acta_id="acta-1").version
    moved = rig.engine.transition("up-1", "iniciar_seguimiento", "gestor-1", None, v)
    assert len(rig.store.pending_actions("up-1")) == 5
    rig.clock.advance(timedelta(minutes=1))
    # The relay runs twice: the first "dies" after executing and before clearing.
    clear = rig.store.remove_actions
    rig.store.remove_actions = lambda *_: None  # type: ignore[method-assign]
    assert rig.runner.sweep(T0 + timedelta(minutes=1)) == 5
    rig.store.remove_actions = clear  # type: ignore[method-assign]
    assert rig.runner.sweep(T0 + timedelta(minutes=1)) == 5
    assert rig.runner.sweep(T0 + timedelta(minutes=1)) == 0
    tasks = rig.store.tasks("up-1")
    assert sorted(t.kind for t in tasks) == ["cosignature", "follow_up"]
    follow_up = next(t for t in tasks if t.kind == "follow_up")
    assert follow_up.id == f"up-1:{moved.seq}:0" and follow_up.due_at == T0 + timedelta(days=30)
    assert db["workflow_tasks"].count_documents({}) == 2
    assert len(rig.events.distinct()) == 3 and len(rig.notifier.sent) == 1
    assert rig.store.pending_actions("up-1") == []


def test_overdue_is_listed_and_announced_once_per_entry_even_by_two_sweepers(db: Database) -> None:
    rig = Rig(db)
    for n in range(5):
        rig.engine.start(GI, f"up-{n}", {}, "gestor-1")
        rig.clock.advance(timedelta(days=2))
    now = T0 + timedelta(days=35)  # diagnóstico is due in 30 days: up-0, up-1 and up-2 are late
    assert [i.id for i in rig.engine.overdue(now)] == ["up-0", "up-1", "up-2"]
    assert [i.id for i in rig.engine.overdue(now, component="otro.flujo")] == []
    counts: list[list[str]] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        counts.append(rig.engine.sweep_overdue(now))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts[0] + counts[1]) == ["up-0", "up-1", "up-2"]
    rig.runner.sweep(now + timedelta(minutes=1))
    announced = sorted(p["instance_id"] for kind, p in rig.events.distinct().values() if kind == OVERDUE_EVENT)
    assert announced == ["up-0", "up-1", "up-2"]
    assert rig.engine.sweep_overdue(now + timedelta(days=1)) == []


def test_definition_versions_are_numbered_once_each(db: Database) -> None:
    rig = Rig(db)
    versions: list[int] = []
    barrier = threading.Barrier(3)

    def publish() -> None:
        barrier.wait()
        versions.append(rig.engine.publish(example("gi_unidad_productiva"), "coordinadora").version)

    threads = [threading.Thread(target=publish) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions) == [2, 3, 4]
    assert rig.engine.definition(GI, 1).version == 1
    stored = db["workflow_definitions"].find_one({"component": GI, "version": 3})
    assert stored is not None and stored["document"]["initial"] == "diagnostico"


def _index_of(plan: dict[str, Any]) -> str | None:
    while plan:
        if plan.get("stage") == "IXSCAN":
            return str(plan["indexName"])
        plan = plan.get("inputStage") or {}
    return None


def test_overdue_queries_are_index_ranges(db: Database) -> None:
    rig = Rig(db)
    rig.engine.start(GI, "up-1", {}, "gestor-1")
    now = T0 + timedelta(days=40)
    epoch = {"$gte": T0 - timedelta(days=3650), "$lt": now}
    plans = {
        "due_at_1": rig.store.instances.find({"due_at": epoch}).sort("due_at", 1).limit(5),
        "overdue_pending_at_1": rig.store.instances.find({"overdue_pending_at": epoch}).limit(5),
        "component_1_due_at_1": rig.store.instances.find({"component": GI, "due_at": epoch}).limit(5),
    }
    for index, cursor in plans.items():
        assert _index_of(cursor.explain()["queryPlanner"]["winningPlan"]) == index
