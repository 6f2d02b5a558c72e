"""Automatic actions: named handlers run after the transition that caused them
has committed, from the instance's outbox; never inline.

Contract:
- A transition stores its actions in the instance's ``outbox`` in the same write
  as the new state (``WorkflowStore.commit``). Each has a stable id
  ``<instance>:<seq>:<index>`` (seq: the transition's history number).
- ``ActionRunner.run(instance_id)`` (right after commit) and ``sweep()``
  (periodically: what a crash or an outage left) execute them in order and then
  remove them. Both may execute an action twice (a crash between the handler and
  the removal): delivery is at least once, and every handler is idempotent on the
  action id (a task is created once per id; an event and a notification carry the
  id as their idempotency key, on which their consumers de-duplicate).
- The registry maps names to handlers; a definition naming an unknown action, or
  parameters its handler refuses, is refused on upload.

Built-in handlers: ``notify`` (role, message), ``create_task`` (title, role,
due_days), ``emit_event`` (event), ``require_cosignature`` (role, title, due_days,
blocks: a task of kind ``cosignature`` that holds the instance back until a second
person signs it, see ``cosign``). A service may register its own.

What ``emit_event`` publishes (event id: the action id) is the action's context:
``instance_id, component, transition, from_state, to_state, actor, at`` (ISO 8601)
for a transition; ``instance_id, component, state, due_at, entry_seq`` for
``workflow_overdue``. The service that wires the engine gives these events
contracts (``crm_platform.contracts``) under its own name, as for any event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from crm_platform.workflow.model import PendingAction, Task
from crm_platform.workflow.store import WorkflowStore

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """Where ``emit_event`` publishes (``crm_platform.messaging.EventPublisher`` fits)."""

    def publish(self, event_type: str, payload: Mapping[str, Any], *, event_id: str) -> None: ...


class Notifier(Protocol):
    """Where ``notify`` sends; ``key`` is the idempotency key (the action id)."""

    def notify(self, key: str, role: str, message: str, context: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class ActionPorts:
    store: WorkflowStore
    events: EventSink
    notifier: Notifier


class ActionHandler(Protocol):
    def check(self, params: Mapping[str, Any]) -> list[str]:
        """Spanish reasons the parameters are refused (empty when fine)."""

    def run(self, action: PendingAction, ports: ActionPorts) -> None: ...


def _texts(params: Mapping[str, Any], *keys: str) -> list[str]:
    return [f"'{k}' es obligatorio y debe ser un texto" for k in keys if not str(params.get(k) or "").strip()]


def _context(action: PendingAction) -> dict[str, Any]:
    return dict(action.payload.get("context") or {})


class Notify:
    def check(self, params: Mapping[str, Any]) -> list[str]:
        return _texts(params, "role", "message")

    def run(self, action: PendingAction, ports: ActionPorts) -> None:
        params = action.payload["params"]
        ports.notifier.notify(action.id, params["role"], params["message"], _context(action))


class CreateTask:
    kind = "follow_up"

    def check(self, params: Mapping[str, Any]) -> list[str]:
        reasons = _texts(params, "title", "role")
        due = params.get("due_days")
        if due is not None and (isinstance(due, bool) or not isinstance(due, int) or not 1 <= due <= 3650):
            reasons.append("'due_days' debe ser un número entero de días entre 1 y 3650")
        return reasons

    def run(self, action: PendingAction, ports: ActionPorts) -> None:
        ports.store.add_task(self.task(action, action.payload["params"]))

    def task(self, action: PendingAction, params: Mapping[str, Any]) -> Task:
        context = _context(action)
        due_days = params.get("due_days")
        # From the action's own time, not the run's: a re-run builds the same task.
        due_at: datetime | None = action.created_at + timedelta(days=due_days) if due_days else None
        return Task(
            id=action.id,
            instance_id=context["instance_id"],
            component=context["component"],
            kind=self.kind,
            title=params["title"],
            assignee_role=params["role"],
            due_at=due_at,
            created_at=action.created_at,
            requested_by=str(context.get("actor") or ""),
        )


class RequireCosignature(CreateTask):
    """A co-signature request: a task of kind ``cosignature`` for ``role``, which
    holds back the transitions named in ``blocks`` (all out of the target state
    when absent) until a second person signs it (``crm_platform.workflow.cosign``)."""

    kind = "cosignature"

    def check(self, params: Mapping[str, Any]) -> list[str]:
        reasons = _texts(params, "role") + CreateTask.check(self, {"title": "-", **params})
        blocks = params.get("blocks")
        if blocks is not None and (
            not isinstance(blocks, list) or not blocks or not all(isinstance(b, str) and b for b in blocks)
        ):
            reasons.append("'blocks' debe ser una lista de nombres de transiciones")
        return reasons

    def run(self, action: PendingAction, ports: ActionPorts) -> None:
        params = {"title": "Firma conjunta pendiente", **action.payload["params"]}
        blocks = tuple(str(b) for b in params.get("blocks") or ())
        ports.store.add_task(replace(self.task(action, params), blocks=blocks))


class EmitEvent:
    def check(self, params: Mapping[str, Any]) -> list[str]:
        return _texts(params, "event")

    def run(self, action: PendingAction, ports: ActionPorts) -> None:
        ports.events.publish(action.payload["params"]["event"], _context(action), event_id=action.id)


def default_registry() -> dict[str, ActionHandler]:
    return {
        "notify": Notify(),
        "create_task": CreateTask(),
        "emit_event": EmitEvent(),
        "require_cosignature": RequireCosignature(),
    }


class ActionRunner:
    """Executes the actions waiting in instances' outboxes (see the module's contract)."""

    def __init__(self, ports: ActionPorts, registry: Mapping[str, ActionHandler]) -> None:
        self._ports = ports
        self._registry = registry

    def run(self, instance_id: str) -> int:
        """Execute the instance's pending actions in order, up to the first failure
        (the sweep retries it, and keeps the order); returns how many ran."""
        done: list[str] = []
        try:
            for action in self._ports.store.pending_actions(instance_id):
                try:
                    self._registry[action.name].run(action, self._ports)
                except Exception:
                    log.exception("workflow action %s (%s) failed; left for the sweep", action.id, action.name)
                    break
                done.append(action.id)
        finally:
            if done:
                self._ports.store.remove_actions(instance_id, done)
        return len(done)

    def sweep(self, now: datetime, older_than: timedelta = timedelta(seconds=5), batch: int = 200) -> int:
        """Run what has waited longer than ``older_than`` (a crash, an outage)."""
        return sum(self.run(i) for i in self._ports.store.with_pending_actions(now - older_than, batch))
