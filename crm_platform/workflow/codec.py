"""Instances and tasks as documents (the shape stored in MongoDB), shared by the
MongoDB adapter and the in-memory fake so that both keep exactly the same data.

``overdue_pending_at`` is the due date while the overdue event of the current
state entry has not been announced; the sweep removes it in the same write that
stores the event, so each state entry is announced once.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from crm_platform.workflow.model import HistoryEntry, Instance, PendingAction, Task


def action_doc(action: PendingAction) -> dict[str, Any]:
    # The outbox entry shape of the kit (crm_platform.outbox): id, type, payload, created_at.
    return {"id": action.id, "type": action.name, "payload": action.payload, "created_at": action.created_at}


def action_from(doc: dict[str, Any]) -> PendingAction:
    return PendingAction(doc["id"], doc["type"], doc["payload"], doc["created_at"])


def history_doc(entry: HistoryEntry) -> dict[str, Any]:
    doc = asdict(entry)
    # Paths have dots, which MongoDB does not take in field names: a list of pairs.
    doc["guard_values"] = [{"path": k, "value": v} for k, v in entry.guard_values.items()]
    return doc


def history_from(doc: dict[str, Any]) -> HistoryEntry:
    fields = dict(doc)
    fields["guard_values"] = {pair["path"]: pair["value"] for pair in fields.get("guard_values") or []}
    return HistoryEntry(**fields)


def instance_doc(instance: Instance) -> dict[str, Any]:
    return {
        "_id": instance.id,
        "component": instance.component,
        "definition_version": instance.definition_version,
        "state": instance.state,
        "data": instance.data,
        "version": instance.version,
        "seq": instance.seq,
        "entered_at": instance.entered_at,
        "due_at": instance.due_at,
        "overdue_pending_at": instance.due_at,
        "history": [history_doc(h) for h in instance.history],
        "outbox": [action_doc(a) for a in instance.outbox],
    }


def state_fields(instance: Instance) -> dict[str, Any]:
    """The fields a transition or a migration rewrites ($set)."""
    doc = instance_doc(instance)
    return {key: doc[key] for key in (
        "definition_version", "state", "data", "version", "seq", "entered_at", "due_at", "overdue_pending_at",
    )}  # fmt: skip


def instance_from(doc: dict[str, Any]) -> Instance:
    return Instance(
        id=doc["_id"],
        component=doc["component"],
        definition_version=doc["definition_version"],
        state=doc["state"],
        data=doc.get("data") or {},
        version=doc["version"],
        seq=doc["seq"],
        entered_at=doc["entered_at"],
        due_at=doc.get("due_at"),
        history=[history_from(h) for h in doc.get("history") or []],
        outbox=[action_from(a) for a in doc.get("outbox") or []],
    )


def task_doc(task: Task) -> dict[str, Any]:
    doc = asdict(task)
    doc["_id"] = doc.pop("id")
    return doc


def task_from(doc: dict[str, Any]) -> Task:
    fields = dict(doc)
    fields["blocks"] = tuple(fields.get("blocks") or ())
    return Task(id=fields.pop("_id"), **fields)
