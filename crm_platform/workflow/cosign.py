"""Co-signatures: what a ``require_cosignature`` action holds back, and who may give it.

A transition whose actions include ``require_cosignature`` (role, title, due_days,
optionally ``blocks``: names of transitions out of its target state) asks a second
person of ``role`` to sign before the instance goes on. Until then the transitions
it names (all those out of the target state when ``blocks`` is absent) are refused
with ``CosignaturePending``; the others (a return, a closing) stay open. It holds
only while the instance is still in the state entry it was asked for: once the
instance moves on by another transition, the request no longer blocks anything.

The request blocks from the moment the transition commits, before its action has
run (the task does not exist yet): the pending action in the instance's outbox is
enough. ``cosign`` completes the task once, by a person of the task's role other
than the one who made the transition (four eyes); a repeat by the same person
is a no-op, anyone else after it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from crm_platform.errors import FailedPrecondition, NotFound, PermissionDenied
from crm_platform.workflow.model import Definition, Instance, PendingAction, Task

ACTION = "require_cosignature"
KIND = "cosignature"


class CosignaturePending(FailedPrecondition):
    """A co-signature the definition asks for is still missing; ``fields`` names it."""

    def __init__(self, title: str, role: str) -> None:
        super().__init__(
            f"Falta la firma conjunta «{title}» (rol {role}) antes de continuar",
            fields={"guard": "firma_conjunta", "cosignature": title},
        )


class TaskNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Request:
    """One co-signature asked for: by the action (pending) or its task (created)."""

    id: str
    title: str
    role: str
    blocks: tuple[str, ...]
    seq: int  # the history entry of the transition that asked for it


def seq_of(action_id: str) -> int:
    """The history number in an action id ``<instance>:<seq>:<index>``."""
    parts = action_id.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1


def _blocks(params: Mapping[str, Any]) -> tuple[str, ...]:
    found = params.get("blocks") or ()
    return tuple(str(b) for b in found) if isinstance(found, list | tuple) else ()


def asked_on_entry(definition: Definition, instance: Instance) -> bool:
    """Whether the transition that brought the instance here asked for a co-signature
    (so ``blocking`` needs to read tasks; other transitions cost no extra read)."""
    last = instance.history[-1] if instance.history else None
    transition = definition.transitions.get(last.transition or "") if last and last.kind == "transition" else None
    return transition is not None and any(a.name == ACTION for a in transition.actions)


def requests(instance: Instance, tasks: Iterable[Task]) -> list[Request]:
    """The open co-signature requests of the instance's current state entry."""
    found: dict[str, Request] = {}
    for action in instance.outbox:
        if action.name == ACTION and seq_of(action.id) == instance.seq:
            found[action.id] = _from_action(action)
    for task in tasks:
        if task.kind == KIND and seq_of(task.id) == instance.seq:
            if task.done_at is None:
                found[task.id] = Request(task.id, task.title, task.assignee_role, task.blocks, instance.seq)
            else:
                found.pop(task.id, None)  # signed: its action may still wait in the outbox
    return list(found.values())


def _from_action(action: PendingAction) -> Request:
    params = dict(action.payload.get("params") or {})
    title = str(params.get("title") or "Firma conjunta pendiente")
    return Request(action.id, title, str(params.get("role") or ""), _blocks(params), seq_of(action.id))


def blocking(open_requests: Iterable[Request], transition: str) -> Request | None:
    return next((r for r in open_requests if not r.blocks or transition in r.blocks), None)


def check_signer(task: Task | None, instance_id: str, actor: str, role: str) -> None:
    """Refuse a co-signature the task does not admit from this person."""
    if task is None or task.instance_id != instance_id:
        raise TaskNotFound("No existe esa tarea en este registro")
    if task.kind != KIND:
        raise FailedPrecondition("Esta tarea no es una firma conjunta")
    if task.done_at is not None and task.done_by != actor:
        raise FailedPrecondition(f"La firma conjunta «{task.title}» ya fue dada por {task.done_by}")
    if role != task.assignee_role:
        raise PermissionDenied(f"La firma conjunta «{task.title}» corresponde al rol {task.assignee_role}")
    if actor == task.requested_by:
        raise FailedPrecondition("Quien hizo el cambio de etapa no puede dar también la firma conjunta")


def signed(task: Task, actor: str, at: datetime) -> Task:
    return replace(task, done_by=actor, done_at=at)
