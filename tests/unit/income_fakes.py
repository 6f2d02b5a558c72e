"""In-memory stand-ins for the income service's ports, for the use-case unit tests:
the store keeps deep copies, so a test sees only what a write really stored."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_platform.workflow.actions import ActionPorts, ActionRunner
from crm_platform.workflow.engine import WorkflowEngine
from crm_platform.workflow.examples import example
from crm_platform.workflow.store import InMemoryWorkflowStore
from services.income.adapters.workflow import TaskNotifier, income_registry
from services.income.domain.viability import ViabilityRule
from services.income.service_layer.handlers import IncomeHandlers
from services.income.service_layer.ports import FollowUpActa, Person, UnitCursor, UnitFilter
from services.income.service_layer.stage_flow import StageFlow


class FakeUnits:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.writes = 0

    def get(self, unit_id: str) -> dict[str, Any] | None:
        found = self.docs.get(unit_id)
        return None if found is None else {k: v for k, v in copy.deepcopy(found).items() if k != "outbox"}

    def insert(self, doc: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> None:
        self.docs[doc["_id"]] = {**copy.deepcopy(dict(doc)), "outbox": list(events)}
        self.writes += 1

    def replace(
        self, doc: Mapping[str, Any], expected_rev: int, events: Sequence[Mapping[str, Any]], moved_from: str = ""
    ) -> bool:
        stored = self.docs[doc["_id"]]
        if stored["rev"] != expected_rev:
            return False
        outbox = stored["outbox"] + list(events)
        self.docs[doc["_id"]] = {**copy.deepcopy(dict(doc)), "outbox": outbox}
        self.writes += 1
        return True

    def _matching(self, what: UnitFilter) -> list[dict[str, Any]]:
        wanted = {f: v for f, v in vars(what).items() if v}
        return [d for d in self.docs.values() if all(d.get(f) == v for f, v in wanted.items())]

    def find(self, what: UnitFilter, limit: int, after: UnitCursor | None = None) -> list[dict[str, Any]]:
        found = sorted(self._matching(what), key=lambda d: (d["created_at"], d["_id"]), reverse=True)
        if after is not None:
            found = [d for d in found if (d["created_at"], d["_id"]) < (after.created_at, after.unit_id)]
        return found[:limit]

    def count(self, what: UnitFilter) -> dict[str, int]:
        return dict(Counter(d["stage"] for d in self._matching(what)))

    def interrupted(self, before: datetime, limit: int = 100) -> list[str]:
        return [i for i, d in self.docs.items() if any(p["at"] < before for p in d.get("workflow_pending") or [])]

    def events(self, unit_id: str) -> list[str]:
        return [e["type"] for e in self.docs[unit_id]["outbox"]]


class FakeDirectory:
    def __init__(self, people: Mapping[str, str]) -> None:
        self.known = dict(people)  # beneficiary id -> family id

    def people(self, beneficiary_ids: Sequence[str]) -> dict[str, Person]:
        return {b: Person(b, self.known[b], "com-1") for b in beneficiary_ids if b in self.known}


class FakeActas:
    def __init__(self) -> None:
        self.actas: dict[str, FollowUpActa] = {}

    def followup(self, acta_id: str) -> FollowUpActa:
        return self.actas[acta_id]


class NoRelay:
    def __init__(self) -> None:
        self.flushed: list[str] = []

    def flush(self, collection: str, aggregate_id: str) -> None:
        self.flushed.append(aggregate_id)


class StepClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.at += timedelta(minutes=1)
        return self.at


class SentEvents:
    """The engine's event sink: what ``emit_event`` actions published, by id."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, dict[str, Any]]] = {}

    def publish(self, event_type: str, payload: Mapping[str, Any], *, event_id: str) -> None:
        self.sent[event_id] = (event_type, dict(payload))


def stage_flow(units: Any, clock: Any, relay: Any = None) -> tuple[StageFlow, InMemoryWorkflowStore, SentEvents]:
    """The real engine (seeded definition published) on the in-memory store."""
    store, events, registry = InMemoryWorkflowStore(), SentEvents(), income_registry()
    runner = ActionRunner(ActionPorts(store, events, TaskNotifier(store, clock.now)), registry)
    engine = WorkflowEngine(store, registry, clock, after_commit=runner.run)
    engine.publish(example("gi_unidad_productiva"), "sistema")
    return StageFlow(engine, units, relay or NoRelay(), clock), store, events


def handlers(people: Mapping[str, str] | None = None) -> tuple[IncomeHandlers, FakeUnits, FakeActas]:
    units, actas, clock = FakeUnits(), FakeActas(), StepClock()
    directory = FakeDirectory(people or {"ana": "fam-1", "luis": "fam-1", "otra": "fam-2"})
    flow, _, _ = stage_flow(units, clock)
    made = IncomeHandlers(units, directory, flow, NoRelay(), clock, ViabilityRule(), actas)
    return made, units, actas
