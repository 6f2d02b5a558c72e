"""The storage port of the engine and its in-memory fake (for unit tests).

The fake keeps documents in the shape the MongoDB adapter stores (``codec``)
and enforces the same rules: unique (component, version) per definition, unique
instance ids, writes conditional on the instance's version, tasks created once
per id. Every method takes and returns copies, as a database would.
"""

from __future__ import annotations

import copy
import threading
from datetime import datetime
from typing import Any, Protocol

from crm_platform.workflow.codec import (
    action_doc,
    action_from,
    history_doc,
    instance_doc,
    instance_from,
    state_fields,
    task_doc,
    task_from,
)
from crm_platform.workflow.errors import VersionConflict
from crm_platform.workflow.model import HistoryEntry, Instance, PendingAction, Task


class InstanceExists(Exception):
    """An instance with that id exists already."""


class WorkflowStore(Protocol):
    def publish_definition(self, component: str, document: dict[str, Any], at: datetime, actor: str) -> int:
        """Store ``document`` as the next version of ``component``; return that version."""

    def definition_document(self, component: str, version: int | None = None) -> tuple[int, dict[str, Any]] | None:
        """(version, document) of that version, or of the latest when ``version`` is None."""

    def insert_instance(self, instance: Instance) -> None:
        """Raise ``InstanceExists`` when the id is taken."""

    def get_instance(self, instance_id: str) -> Instance | None: ...

    def commit(
        self, instance: Instance, expected_version: int, entry: HistoryEntry, actions: list[PendingAction]
    ) -> None:
        """One atomic write: the new state fields, one history entry, the actions
        into the outbox; ``VersionConflict`` when the stored version is not
        ``expected_version`` (nothing written)."""

    def pending_actions(self, instance_id: str) -> list[PendingAction]: ...

    def remove_actions(self, instance_id: str, action_ids: list[str]) -> None: ...

    def with_pending_actions(self, created_before: datetime, limit: int) -> list[str]:
        """Ids of instances with an action stored before ``created_before``."""

    def overdue(self, now: datetime, component: str | None, limit: int) -> list[Instance]:
        """Instances whose state's due date is before ``now``, earliest first."""

    def unannounced_overdue(self, now: datetime, limit: int) -> list[Instance]: ...

    def announce_overdue(self, instance_id: str, seq: int, action: PendingAction) -> bool:
        """Mark the state entry ``seq`` announced and store ``action`` in one write;
        False when it was announced already or the instance moved on."""

    def add_task(self, task: Task) -> None:
        """Create the task unless one with its id exists (idempotent)."""

    def tasks(self, instance_id: str) -> list[Task]: ...

    def task(self, task_id: str) -> Task | None: ...

    def complete_task(self, task_id: str, by: str, at: datetime) -> bool:
        """Mark the task done by ``by`` unless it is done already (one conditional write)."""


class InMemoryWorkflowStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.definitions: dict[tuple[str, int], dict[str, Any]] = {}
        self.instances: dict[str, dict[str, Any]] = {}
        self.task_docs: dict[str, dict[str, Any]] = {}

    def publish_definition(self, component: str, document: dict[str, Any], at: datetime, actor: str) -> int:
        with self._lock:
            version = 1 + max((v for c, v in self.definitions if c == component), default=0)
            self.definitions[(component, version)] = copy.deepcopy(document)
            return version

    def definition_document(self, component: str, version: int | None = None) -> tuple[int, dict[str, Any]] | None:
        with self._lock:
            if version is None:
                version = max((v for c, v in self.definitions if c == component), default=0)
            doc = self.definitions.get((component, version))
            return (version, copy.deepcopy(doc)) if doc is not None else None

    def insert_instance(self, instance: Instance) -> None:
        with self._lock:
            if instance.id in self.instances:
                raise InstanceExists(instance.id)
            self.instances[instance.id] = copy.deepcopy(instance_doc(instance))

    def get_instance(self, instance_id: str) -> Instance | None:
        with self._lock:
            doc = self.instances.get(instance_id)
            return instance_from(copy.deepcopy(doc)) if doc is not None else None

    def commit(
        self, instance: Instance, expected_version: int, entry: HistoryEntry, actions: list[PendingAction]
    ) -> None:
        with self._lock:
            doc = self.instances.get(instance.id)
            if doc is None or doc["version"] != expected_version:
                raise VersionConflict("El registro cambió mientras lo editaba: vuelva a cargarlo e intente de nuevo")
            doc.update(copy.deepcopy(state_fields(instance)))
            doc["history"].append(copy.deepcopy(history_doc(entry)))
            doc["outbox"].extend(copy.deepcopy([action_doc(a) for a in actions]))

    def pending_actions(self, instance_id: str) -> list[PendingAction]:
        with self._lock:
            doc = self.instances.get(instance_id) or {"outbox": []}
            return [action_from(copy.deepcopy(a)) for a in doc["outbox"]]

    def remove_actions(self, instance_id: str, action_ids: list[str]) -> None:
        with self._lock:
            doc = self.instances.get(instance_id)
            if doc is not None:
                doc["outbox"] = [a for a in doc["outbox"] if a["id"] not in action_ids]

    def with_pending_actions(self, created_before: datetime, limit: int) -> list[str]:
        with self._lock:
            return [i for i, d in self.instances.items() if any(a["created_at"] < created_before for a in d["outbox"])][
                :limit
            ]

    def overdue(self, now: datetime, component: str | None, limit: int) -> list[Instance]:
        with self._lock:
            docs = [
                d for d in self.instances.values()
                if d["due_at"] is not None and d["due_at"] < now and component in (None, d["component"])
            ]  # fmt: skip
            docs.sort(key=lambda d: d["due_at"])
            return [instance_from(copy.deepcopy(d)) for d in docs[:limit]]

    def unannounced_overdue(self, now: datetime, limit: int) -> list[Instance]:
        with self._lock:
            docs = [d for d in self.instances.values() if d["overdue_pending_at"] is not None]
            docs = sorted((d for d in docs if d["overdue_pending_at"] < now), key=lambda d: d["overdue_pending_at"])
            return [instance_from(copy.deepcopy(d)) for d in docs[:limit]]

    def announce_overdue(self, instance_id: str, seq: int, action: PendingAction) -> bool:
        with self._lock:
            doc = self.instances.get(instance_id)
            if doc is None or doc["seq"] != seq or doc["overdue_pending_at"] is None:
                return False
            doc["overdue_pending_at"] = None
            doc["outbox"].append(copy.deepcopy(action_doc(action)))
            return True

    def add_task(self, task: Task) -> None:
        with self._lock:
            self.task_docs.setdefault(task.id, copy.deepcopy(task_doc(task)))

    def tasks(self, instance_id: str) -> list[Task]:
        with self._lock:
            return [task_from(copy.deepcopy(d)) for d in self.task_docs.values() if d["instance_id"] == instance_id]

    def task(self, task_id: str) -> Task | None:
        with self._lock:
            doc = self.task_docs.get(task_id)
            return task_from(copy.deepcopy(doc)) if doc else None

    def complete_task(self, task_id: str, by: str, at: datetime) -> bool:
        with self._lock:
            doc = self.task_docs.get(task_id)
            if doc is None or doc.get("done_at") is not None:
                return False
            doc["done_by"], doc["done_at"] = by, at
            return True
