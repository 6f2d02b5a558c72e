"""The workflow engine's use cases: publish a definition, start an instance, move
it through a transition, migrate it to a newer version, list and announce what
is overdue. Domain-free: the states, guards and actions are data.

Contracts:
- ``publish`` checks the whole definition (``definition.parse``) and stores it as
  the component's next version; instances on older versions do not change.
- ``transition`` re-reads the instance, checks the version the caller saw, the
  transition, the reason and acta it requires and every guard (over the
  instance's data merged with ``data``), then writes state, data, a history entry
  and the actions in one conditional write. A stale version is ``VersionConflict``
  (nothing written); a false guard is ``GuardFailed`` naming the guard and the
  values it saw. The actions run after the write (``after_commit``, the runner's
  sweep), never inside it. A co-signature the entry into the current state asked
  for and nobody gave yet holds back the transitions it names
  (``CosignaturePending``, see ``cosign``).
- ``migrate`` moves an instance to another version of its definition, mapping its
  state by ``state_map`` (unmapped: the same name), recorded in its history.
- A state with ``due_days`` gives its instances a due date (from the entry);
  ``overdue`` lists them (indexed); ``sweep_overdue`` stores one
  ``workflow_overdue`` event per instance and state entry (an ``emit_event``
  action, so it goes out through the outbox like the others).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from crm_platform.clock import Clock
from crm_platform.errors import AlreadyExists, InvalidArgument
from crm_platform.workflow import cosign
from crm_platform.workflow import definition as definitions
from crm_platform.workflow.actions import ActionHandler
from crm_platform.workflow.errors import (
    DefinitionNotFound,
    GuardFailed,
    InstanceNotFound,
    TransitionNotAllowed,
    VersionConflict,
)
from crm_platform.workflow.model import Definition, HistoryEntry, Instance, PendingAction, Task
from crm_platform.workflow.store import InstanceExists, WorkflowStore

OVERDUE_EVENT = "workflow_overdue"


def merged(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``, objects merged key by key (other values replaced)."""
    out = dict(base)
    for key, value in update.items():
        out[key] = (
            merged(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) else value
        )
    return out


class WorkflowEngine:
    def __init__(
        self,
        store: WorkflowStore,
        registry: Mapping[str, ActionHandler],
        clock: Clock,
        after_commit: Callable[[str], object] | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._after_commit = after_commit
        self._cache: dict[tuple[str, int], Definition] = {}  # definitions never change once published
        self._lock = threading.Lock()

    # -- definitions ------------------------------------------------------------------

    def check(self, source: str | Mapping[str, Any]) -> Definition:
        """The parsed definition (version 0) or ``DefinitionInvalid``: a preview."""
        document = definitions.load_yaml(source) if isinstance(source, str) else dict(source)
        checks = {name: handler.check for name, handler in self._registry.items()}
        return definitions.parse(document, 0, checks)

    def publish(self, source: str | Mapping[str, Any], actor: str) -> Definition:
        parsed = self.check(source)
        version = self._store.publish_definition(parsed.component, parsed.document, self._clock.now(), actor)
        return self.definition(parsed.component, version)

    def definition(self, component: str, version: int | None = None) -> Definition:
        if version is not None and (component, version) in self._cache:
            return self._cache[(component, version)]
        found = self._store.definition_document(component, version)
        if found is None:
            raise DefinitionNotFound(
                f"No existe el flujo de trabajo '{component}'" + (f" v{version}" if version else "")
            )
        number, document = found
        checks = {name: handler.check for name, handler in self._registry.items()}
        parsed = definitions.parse(document, number, checks)
        with self._lock:
            self._cache[(component, number)] = parsed
        return parsed

    # -- instances ----------------------------------------------------------------------

    def get(self, instance_id: str) -> Instance:
        instance = self._store.get_instance(instance_id)
        if instance is None:
            raise InstanceNotFound(f"No existe el registro '{instance_id}' en el flujo de trabajo")
        return instance

    def start(self, component: str, instance_id: str, data: Mapping[str, Any], actor: str) -> Instance:
        """A new instance in the initial state of the latest version."""
        definition = self.definition(component)
        now = self._clock.now()
        entry = HistoryEntry(0, "start", actor, now, None, definition.initial, definition_version=definition.version)
        instance = Instance(
            id=instance_id, component=component, definition_version=definition.version, state=definition.initial,
            data=dict(data), version=1, seq=0, entered_at=now, due_at=self._due(definition, definition.initial, now),
            history=[entry],
        )  # fmt: skip
        try:
            self._store.insert_instance(instance)
        except InstanceExists:
            raise AlreadyExists(f"El registro '{instance_id}' ya está en el flujo de trabajo") from None
        return instance

    def transition(
        self,
        instance_id: str,
        name: str,
        actor: str,
        data: Mapping[str, Any] | None,
        expected_version: int,
        reason: str | None = None,
        acta_id: str | None = None,
    ) -> Instance:
        instance = self.get(instance_id)
        if instance.version != expected_version:
            raise VersionConflict("El registro cambió mientras lo editaba: vuelva a cargarlo e intente de nuevo")
        definition = self.definition(instance.component, instance.definition_version)
        transition = definition.transition_from(instance.state, name)
        if transition is None:
            state = definition.states[instance.state].label
            raise TransitionNotAllowed(f"La transición '{name}' no está permitida desde el estado «{state}»")
        reason, acta_id = (reason or "").strip() or None, (acta_id or "").strip() or None
        missing = {}
        if transition.requires_reason and not reason:
            missing["reason"] = "Indique el motivo de este cambio de etapa"
        if transition.requires_acta and not acta_id:
            missing["acta_id"] = "Este cambio de etapa debe estar respaldado por un acta"
        if missing:
            raise InvalidArgument(missing)
        new_data = merged(instance.data, data or {})
        seen: dict[str, Any] = {}
        for guard in transition.guards:
            passed, values = guard.check(new_data)
            seen.update(values)
            if not passed:
                raise GuardFailed(guard.name, guard.expression, values, guard.message)
        waiting = cosign.blocking(self._open_requests(definition, instance), transition.name)
        if waiting is not None:
            raise cosign.CosignaturePending(waiting.title, waiting.role)
        now, seq = self._clock.now(), instance.seq + 1
        entry = HistoryEntry(
            seq, "transition", actor, now, instance.state, transition.target, transition.name, seen, reason, acta_id,
            definition.version,
        )  # fmt: skip
        context = {
            "instance_id": instance.id, "component": instance.component, "transition": transition.name,
            "from_state": instance.state, "to_state": transition.target, "actor": actor, "at": now.isoformat(),
        }  # fmt: skip
        actions = [
            PendingAction(f"{instance.id}:{seq}:{i}", a.name, {"params": a.params, "context": context}, now)
            for i, a in enumerate(transition.actions)
        ]
        moved = replace(
            instance, state=transition.target, data=new_data, version=instance.version + 1, seq=seq,
            entered_at=now, due_at=self._due(definition, transition.target, now),
            history=[*instance.history, entry], outbox=[*instance.outbox, *actions],
        )  # fmt: skip
        self._store.commit(moved, expected_version, entry, actions)
        if actions and self._after_commit is not None:
            self._after_commit(instance.id)
        return moved

    # -- co-signatures (``cosign``) -------------------------------------------------------

    def _open_requests(self, definition: Definition, instance: Instance) -> list[cosign.Request]:
        if not cosign.asked_on_entry(definition, instance):
            return []  # no extra read for the transitions that ask for none
        return cosign.requests(instance, self._store.tasks(instance.id))

    def tasks(self, instance_id: str) -> list[Task]:
        return self._store.tasks(instance_id)

    def open_cosignatures(self, instance_id: str) -> list[cosign.Request]:
        """The co-signatures still missing in the instance's current state entry."""
        instance = self.get(instance_id)
        return self._open_requests(self.definition(instance.component, instance.definition_version), instance)

    def cosign(self, instance_id: str, task_id: str, actor: str, role: str) -> Task:
        """Sign a co-signature task (see ``cosign``): once, by a person of its role
        other than the one who made the transition; a repeat by the signer is a no-op."""
        task = self._store.task(task_id)
        cosign.check_signer(task, instance_id, actor, role)
        assert task is not None
        if task.done_at is not None:
            return task
        now = self._clock.now()
        if not self._store.complete_task(task_id, actor, now):
            task = self._store.task(task_id)  # signed meanwhile: by this person (fine) or another (refused)
            cosign.check_signer(task, instance_id, actor, role)
            assert task is not None
            return task
        return cosign.signed(task, actor, now)

    def migrate(
        self, instance_id: str, to_version: int, state_map: Mapping[str, str], actor: str, expected_version: int
    ) -> Instance:
        instance = self.get(instance_id)
        if instance.version != expected_version:
            raise VersionConflict("El registro cambió mientras lo editaba: vuelva a cargarlo e intente de nuevo")
        target = self.definition(instance.component, to_version)
        state = state_map.get(instance.state, instance.state)
        if state not in target.states:
            raise InvalidArgument(
                {"state_map": f"el estado '{state}' no existe en la versión {to_version} de '{instance.component}'"}
            )
        now, seq = self._clock.now(), instance.seq + 1
        entry = HistoryEntry(
            seq, "migration", actor, now, instance.state, state, definition_version=to_version,
            reason=f"migración de la versión {instance.definition_version} a la {to_version}",
        )  # fmt: skip
        moved = replace(
            instance, definition_version=to_version, state=state, version=instance.version + 1, seq=seq,
            due_at=self._due(target, state, instance.entered_at), history=[*instance.history, entry],
        )  # fmt: skip
        self._store.commit(moved, expected_version, entry, [])
        return moved

    # -- timers -------------------------------------------------------------------------

    def overdue(self, now: datetime, component: str | None = None, limit: int = 100) -> list[Instance]:
        return self._store.overdue(now, component, limit)

    def sweep_overdue(self, now: datetime | None = None, limit: int = 200) -> list[str]:
        """Store a ``workflow_overdue`` event for each overdue state entry not yet
        announced; returns the instances announced (run them with the action runner)."""
        now = now or self._clock.now()
        stored: list[str] = []
        for instance in self._store.unannounced_overdue(now, limit):
            context = {
                "instance_id": instance.id, "component": instance.component, "state": instance.state,
                "due_at": instance.due_at.isoformat() if instance.due_at else None, "entry_seq": instance.seq,
            }  # fmt: skip
            action = PendingAction(
                f"{instance.id}:{instance.seq}:overdue", "emit_event",
                {"params": {"event": OVERDUE_EVENT}, "context": context}, now,
            )  # fmt: skip
            if self._store.announce_overdue(instance.id, instance.seq, action):
                stored.append(instance.id)
                if self._after_commit is not None:
                    self._after_commit(instance.id)
        return stored

    @staticmethod
    def _due(definition: Definition, state: str, entered_at: datetime) -> datetime | None:
        days = definition.states[state].due_days
        return entered_at + timedelta(days=days) if days else None
