"""Fakes for the workflow engine's unit tests: recording event sink and notifier,
and an engine on the in-memory store with the seeded G.I. definition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm_platform.workflow import ActionPorts, ActionRunner, InMemoryWorkflowStore, WorkflowEngine, default_registry
from crm_platform.workflow.examples import example
from tests.unit.fakes import FakeClock

GI = "gi.unidad_productiva"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class RecordingSink:
    """Records every publish; ``distinct`` is what an idempotent consumer keeps."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], str]] = []

    def publish(self, event_type: str, payload: Mapping[str, Any], *, event_id: str) -> None:
        self.published.append((event_type, dict(payload), event_id))

    def distinct(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {event_id: (kind, payload) for kind, payload, event_id in self.published}


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, str]] = {}  # key -> (role, message): a keyed, idempotent sender
        self.calls = 0

    def notify(self, key: str, role: str, message: str, context: Mapping[str, Any]) -> None:
        self.calls += 1
        self.sent.setdefault(key, (role, message))


@dataclass
class Rig:
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0))
    store: InMemoryWorkflowStore = field(default_factory=InMemoryWorkflowStore)
    events: RecordingSink = field(default_factory=RecordingSink)
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)

    def __post_init__(self) -> None:
        registry = default_registry()
        self.runner = ActionRunner(ActionPorts(self.store, self.events, self.notifier), registry)
        self.engine = WorkflowEngine(self.store, registry, self.clock)

    def seeded(self) -> WorkflowEngine:
        self.engine.publish(example("gi_unidad_productiva"), "coordinadora")
        return self.engine
