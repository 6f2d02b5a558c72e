"""Workflow transitions per second through the engine, and stage changes through
the income service's use case, beside a raw single-document update, on the real
SecantusDB (started on loopback, nothing else), one call at a time:

- engine, commit only: each of ``count`` instances (started beforehand, not
  timed) takes one transition ``avanzar`` with a CEL guard (``caso.listo &&
  caso.monto > 0``) and two actions (``create_task`` due in 30 days, ``emit_event``
  to a counting sink): ``WorkflowEngine.transition`` (read, guard, one
  conditional write with the history entry and the two actions in its outbox);
- engine, commit + actions: the same, then ``ActionRunner.run`` (the task
  upsert, the event, the outbox cleared), as a service does right after the commit;
- income ``ChangeStage``: ``IncomeHandlers.change_stage`` (what the gRPC method
  calls) of ``count`` UPs registered beforehand with a complete diagnosis, wired
  as crm-income wires it (the seeded G.I. definition, transition
  ``formular_plan`` with its CEL guard): the UP read, the pending marker (write
  1), the engine's transition (write 2), the projection onto the UP with its
  ``stage_changed`` event in the outbox and the counts per stage moved in the
  same transaction (write 3). Publishing the outbox to RabbitMQ afterwards is
  left out (a no-op relay).

Store commands per call are counted with a PyMongo command listener (writes:
insert, update, findAndModify, transaction commits; reads: the rest).

Baseline, same run, same server, same durable write concern: ``update_one``
conditional on the version, setting the state and bumping the version, on
documents of the same shape in a scratch collection (what a hand-written stage
change without the engine would cost).

    python -m benchmarks.bench_workflow [--count 2000] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import MongoClient, monitoring
from pymongo.write_concern import WriteConcern

from benchmarks._common import Measurement, Row, drive, print_rows, sigterm_unwinds
from crm_platform.clock import SystemClock
from crm_platform.mongo import DURABLE_WRITES
from crm_platform.workflow import ActionPorts, ActionRunner, WorkflowEngine, default_registry
from crm_platform.workflow.mongo_store import MongoWorkflowStore
from devstack.infra import Stack
from services.income.adapters.repository import MongoIncomeStore
from services.income.bootstrap import workflow
from services.income.domain.viability import ViabilityRule
from services.income.service_layer.handlers import IncomeHandlers
from services.income.service_layer.ports import Person, UnitFilter
from services.income.service_layer.stage_flow import StageFlow

NAME = "workflow"
DEFINITION: dict[str, Any] = {
    "component": "bench.caso",
    "initial": "abierto",
    "states": {"abierto": {"label": "Abierto", "due_days": 30}, "avanzado": {"label": "Avanzado", "due_days": 30}},
    "transitions": [
        {
            "name": "avanzar",
            "label": "Avanzar",
            "from": "abierto",
            "to": "avanzado",
            "guards": [{"name": "listo", "expr": "caso.listo && caso.monto > 0", "message": "No está listo."}],
            "actions": [
                {"name": "create_task", "params": {"title": "Visita", "role": "gestor", "due_days": 30}},
                {"name": "emit_event", "params": {"event": "stage_changed"}},
            ],
        }
    ],
}


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    def publish(self, event_type: str, payload: Mapping[str, Any], *, event_id: str) -> None:
        self.count += 1

    def notify(self, key: str, role: str, message: str, context: Mapping[str, Any]) -> None:
        self.count += 1


class Commands(monitoring.CommandListener):
    """Counts the commands the clients of this process send (reads and writes)."""

    WRITES = frozenset({"insert", "update", "delete", "findAndModify"})
    SESSION = frozenset({"commitTransaction", "abortTransaction", "endSessions"})

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.seen[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def split(self) -> tuple[int, int]:
        """(writes, reads) since the last call; transaction commits count as writes."""
        writes = sum(n for name, n in self.seen.items() if name in self.WRITES or name == "commitTransaction")
        reads = sum(n for name, n in self.seen.items() if name not in self.WRITES and name not in self.SESSION)
        self.seen.clear()
        return writes, reads


class Owners:
    """The income service's directory: every owner belongs to the household ``fam``."""

    def people(self, beneficiary_ids: Sequence[str]) -> dict[str, Person]:
        return {b: Person(b, "fam", "com") for b in beneficiary_ids}


class NoRelay:
    """Publishing the outbox after the write is left out (RabbitMQ is not started)."""

    def flush(self, collection: str, aggregate_id: str) -> None:
        pass


@dataclass
class Phase:
    measured: Measurement
    writes: float  # store writes per call
    reads: float


def _phase(label: str, count: int, step: Callable[[int], Any], commands: Commands) -> Phase:
    commands.split()
    measured = drive(label, step, max_calls=count)
    writes, reads = commands.split()
    print(measured.line(), f" {writes / count:.1f} writes, {reads / count:.1f} reads per call", flush=True)
    return Phase(measured, writes / count, reads / count)


def measure(mongo_uri: str, count: int) -> dict[str, Phase]:
    commands = Commands()
    monitoring.register(commands)  # every client created from here on
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True)
    income = MongoIncomeStore(mongo_uri, "bench_workflow_income")
    try:
        db = client["bench_workflow"]
        store = MongoWorkflowStore(db)
        store.ensure_indexes()
        sink = CountingSink()
        registry = default_registry()
        runner = ActionRunner(ActionPorts(store, sink, sink), registry)
        engine = WorkflowEngine(store, registry, SystemClock())
        engine.publish(DEFINITION, "bench")
        data = {"caso": {"listo": True, "monto": 1_500_000, "nombre": "Unidad productiva de prueba"}}
        for phase in ("commit", "full"):
            for i in range(count):
                engine.start("bench.caso", f"{phase}-{i}", data, "bench")
        raw = db.get_collection("raw", write_concern=WriteConcern(w=DURABLE_WRITES["w"], j=DURABLE_WRITES["journal"]))
        now = datetime.now(UTC)
        raw.insert_many([
            {"_id": f"raw-{i}", "state": "abierto", "version": 1, "data": data, "due_at": now, "history": [],
             "outbox": []}
            for i in range(count)
        ])  # fmt: skip
        handlers, unit_ids = _income(income, count)

        def raw_step(i: int) -> None:
            result = raw.update_one(
                {"_id": f"raw-{i}", "version": 1}, {"$set": {"state": "avanzado"}, "$inc": {"version": 1}}
            )
            assert result.modified_count == 1

        def commit_step(i: int) -> None:
            engine.transition(f"commit-{i}", "avanzar", "bench", None, 1)

        def full_step(i: int) -> None:
            engine.transition(f"full-{i}", "avanzar", "bench", None, 1)
            runner.run(f"full-{i}")

        def income_step(i: int) -> None:
            moved = handlers.change_stage(unit_ids[i], "formular_plan", 1, "gestor.bench")
            assert moved["stage"] == "formulacion_plan"

        phases = {
            "raw": _phase("raw update_one", count, raw_step, commands),
            "commit": _phase("engine transition (actions stored)", count, commit_step, commands),
            "full": _phase("engine transition + actions run", count, full_step, commands),
            "income": _phase("income ChangeStage (handler)", count, income_step, commands),
        }
        tasks = db["workflow_tasks"].count_documents({})
        if tasks != count or sink.count != count:
            raise RuntimeError(f"expected {count} tasks and events, got {tasks} and {sink.count}")
        moved = income.count(UnitFilter())
        if moved.get("formulacion_plan") != count:
            raise RuntimeError(f"expected {count} UPs in formulacion_plan, counted {moved}")
        return phases
    finally:
        client.drop_database("bench_workflow")
        client.drop_database("bench_workflow_income")
        income.close()
        client.close()


def _income(store: MongoIncomeStore, count: int) -> tuple[IncomeHandlers, list[str]]:
    """The income use cases as crm-income wires them (``bootstrap.workflow``: the seeded
    G.I. definition, the income action runner), and ``count`` UPs registered through
    them with a complete diagnosis (not timed)."""
    clock, relay = SystemClock(), NoRelay()
    store.backfill_counts()
    engine = workflow(store, relay, clock)[0]
    handlers = IncomeHandlers(store, Owners(), StageFlow(engine, store, relay, clock), relay, clock, ViabilityRule())
    unit_ids = []
    for i in range(count):
        doc = handlers.register(
            name=f"Unidad {i}", family_id="fam", owner_ids=["b"], community_id="com", sector="comercio",
            kind="emprendimiento", by="gestor.bench",
        )  # fmt: skip
        handlers.record_diagnosis(doc["_id"], True, "", "gestor.bench")
        unit_ids.append(doc["_id"])
    return handlers, unit_ids


def run(count: int = 2000) -> list[Row]:
    with sigterm_unwinds(), tempfile.TemporaryDirectory(prefix="crm-bench-workflow-") as tmp:
        stack = Stack(var_dir=Path(tmp))
        try:
            stack.start_mongo()
            phases = measure(stack.env["MONGO_URI"], count)
        finally:
            stack.stop()
    raw = phases["raw"]
    baseline = f"raw update_one, {raw.writes:.0f} write"
    rows = []
    for key, figure in (
        ("commit", f"engine transitions/s, CEL guard + 2 actions stored in the outbox ({count})"),
        ("full", f"engine transitions/s, the same + actions executed ({count})"),
        ("income", f"income ChangeStage/s through the handler: marker, engine, projection ({count})"),
    ):
        p = phases[key]
        rows += [
            Row(NAME, f"{figure}; {p.writes:.1f} writes, {p.reads:.1f} reads each", "tr/s", p.measured.rps,
                raw.measured.rps, baseline),
            Row(NAME, f"{figure} p50", "ms", p.measured.p50_ms, raw.measured.p50_ms, baseline),
            Row(NAME, f"{figure} p99", "ms", p.measured.p99_ms, raw.measured.p99_ms, baseline),
        ]  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_workflow", description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="transitions per phase (default 2000)")
    parser.add_argument("--quick", action="store_true", help="300 transitions per phase")
    args = parser.parse_args(argv)
    print_rows(NAME, run(300 if args.quick else args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
