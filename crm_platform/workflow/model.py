"""The engine's values: definitions (states, transitions, guards, actions) and
instances (state, data, history, pending actions). Pure: no I/O.

A definition is identified by ``component`` (``gi.unidad_productiva``) and an
integer ``version`` given on publishing. An instance keeps the version it started
on; only ``WorkflowEngine.migrate`` moves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm_platform.workflow.guards import Guard


@dataclass(frozen=True)
class State:
    name: str
    label: str
    terminal: bool = False
    due_days: int | None = None


@dataclass(frozen=True)
class ActionSpec:
    """A named handler (``notify``, ``create_task``, ...) and its parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    guards: tuple[Guard, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    requires_reason: bool = False
    requires_acta: bool = False


@dataclass(frozen=True)
class Definition:
    component: str
    version: int
    label: str
    initial: str
    states: dict[str, State]
    transitions: dict[str, Transition]
    document: dict[str, Any]  # the JSON it was built from (stored, shown, diffed)

    def transition_from(self, state: str, name: str) -> Transition | None:
        transition = self.transitions.get(name)
        return transition if transition is not None and state in transition.sources else None

    def available(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]


@dataclass(frozen=True)
class HistoryEntry:
    """One step of an instance: a start, a transition or a migration."""

    seq: int
    kind: str  # "start" | "transition" | "migration"
    actor: str
    at: datetime
    from_state: str | None
    to_state: str
    transition: str | None = None
    guard_values: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    acta_id: str | None = None
    definition_version: int | None = None


@dataclass(frozen=True)
class PendingAction:
    """An action stored in the instance's outbox with the write that caused it.
    ``id`` is stable (``<instance>:<seq>:<index>``): handlers key on it."""

    id: str
    name: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass
class Instance:
    id: str
    component: str
    definition_version: int
    state: str
    data: dict[str, Any]
    version: int  # optimistic concurrency: +1 on every write that changes the state or data
    seq: int  # number of the last history entry
    entered_at: datetime
    due_at: datetime | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    outbox: list[PendingAction] = field(default_factory=list)


@dataclass(frozen=True)
class Task:
    """A follow-up or co-signature task an action created; ``id`` is the action's."""

    id: str
    instance_id: str
    component: str
    kind: str  # "follow_up" | "cosignature" | "notice"
    title: str
    assignee_role: str
    due_at: datetime | None
    created_at: datetime
    requested_by: str = ""  # who made the transition whose action created it
    blocks: tuple[str, ...] = ()  # a co-signature: the transitions it holds back (all, when empty)
    done_by: str | None = None
    done_at: datetime | None = None
