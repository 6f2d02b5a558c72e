"""Workflow transitions per second through the engine, beside a raw single-document
update, on the real SecantusDB (started on loopback, nothing else).

Each of ``count`` instances (started beforehand, not timed) takes one transition
``avanzar`` with a CEL guard (``caso.listo && caso.monto > 0``) and two actions
(``create_task`` due in 30 days, ``emit_event`` to a counting sink), one call at a
time:

- engine, commit only: ``WorkflowEngine.transition`` (read, guard, one conditional
  write with the history entry and the two actions in the outbox);
- engine, commit + actions: the same, then ``ActionRunner.run`` (the task upsert,
  the event, the outbox cleared), as a service does right after the commit.

Baseline, same run, same server, same durable write concern: ``update_one``
conditional on the version, setting the state and bumping the version, on
documents of the same shape in a scratch collection (what a hand-written stage
change without the engine would cost).

    python -m benchmarks.bench_workflow [--count 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.write_concern import WriteConcern

from benchmarks._common import Row, print_rows, sigterm_unwinds
from crm_platform.clock import SystemClock
from crm_platform.mongo import DURABLE_WRITES
from crm_platform.workflow import ActionPorts, ActionRunner, WorkflowEngine, default_registry
from crm_platform.workflow.mongo_store import MongoWorkflowStore
from devstack.infra import Stack

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


def _timed(count: int, step: Any) -> float:
    started = time.perf_counter()
    for i in range(count):
        step(i)
    return time.perf_counter() - started


def measure(mongo_uri: str, count: int) -> dict[str, float]:
    client: MongoClient = MongoClient(mongo_uri)
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

        seconds = {"raw": _timed(count, raw_step), "commit": _timed(count, commit_step)}
        seconds["full"] = _timed(count, full_step)
        tasks = db["workflow_tasks"].count_documents({})
        if tasks != count or sink.count != count:
            raise RuntimeError(f"expected {count} tasks and events, got {tasks} and {sink.count}")
        return seconds
    finally:
        client.drop_database("bench_workflow")
        client.close()


def run(count: int = 2000) -> list[Row]:
    with sigterm_unwinds(), tempfile.TemporaryDirectory(prefix="crm-bench-workflow-") as tmp:
        stack = Stack(var_dir=Path(tmp))
        try:
            stack.start_mongo()
            seconds = measure(stack.env["MONGO_URI"], count)
        finally:
            stack.stop()
    raw = count / seconds["raw"]
    for key in ("raw", "commit", "full"):
        print(f"[{NAME}] {key}: {count} in {seconds[key]:.2f}s ({count / seconds[key]:.0f}/s)", flush=True)
    baseline = "raw update_one"
    return [
        Row(NAME, f"transitions/s, guard + 2 actions stored ({count})", "tr/s", count / seconds["commit"], raw,
            baseline),
        Row(NAME, f"transitions/s, guard + 2 actions executed ({count})", "tr/s", count / seconds["full"], raw,
            baseline),
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_workflow", description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="transitions per phase (default 2000)")
    args = parser.parse_args(argv)
    print_rows(NAME, run(args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
