"""The workflow engine's ports for the income service, and the seeded definition.

- ``UnitOutboxEvents`` (the engine's ``EventSink``): an ``emit_event`` action
  becomes an event in the UP document's own outbox (event id: the action id; a
  re-run finds it there and adds nothing), published by the income relay against
  its contract in ``crm_platform.contracts`` (source ``income``). ``stage_changed``
  is the one exception: the stage projection (``service_layer.handlers``) already
  stores a ``stage_changed`` event for every stage change, in the same write as
  the projected stage, so the definition's ``emit_event: stage_changed`` is
  satisfied by it and not published twice.
- ``TaskNotifier`` (the engine's ``Notifier``): the definitions notify a *role*
  ("gestor"), not a person, and the notifications service sends to a person's
  address; no recipient fits, so a notification becomes a task of kind
  ``notice`` for that role, listed with the other tasks (id: the action id, so
  created once).
- ``income_registry``: the built-in handlers, with an ``emit_event`` that refuses,
  on upload, an event that has no income contract.
- ``publish_seeded``: publishes the seeded definition only when it is absent or
  differs from the latest version; two replicas starting together publish once
  (the unique (component, version) index decides, the loser re-reads and finds
  the same document).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from crm_platform import contracts
from crm_platform.workflow.actions import ActionHandler, EmitEvent, default_registry
from crm_platform.workflow.engine import WorkflowEngine
from crm_platform.workflow.model import Task
from crm_platform.workflow.mongo_store import MongoWorkflowStore
from crm_platform.workflow.store import WorkflowStore

log = logging.getLogger(__name__)
SOURCE = "income"
PROJECTED_EVENTS = frozenset({"stage_changed"})  # stored by the stage projection itself


class ContractedEmitEvent(EmitEvent):
    def check(self, params: Mapping[str, Any]) -> list[str]:
        reasons = super().check(params)
        event = str(params.get("event") or "")
        if event and (SOURCE, event) not in contracts.CONTRACTS:
            known = ", ".join(sorted(t for s, t in contracts.CONTRACTS if s == SOURCE))
            reasons.append(f"el evento '{event}' no tiene contrato en el servicio de ingresos (conocidos: {known})")
        return reasons


def income_registry() -> dict[str, ActionHandler]:
    return {**default_registry(), "emit_event": ContractedEmitEvent()}


class UnitOutboxEvents:
    def __init__(
        self, units: Collection[dict[str, Any]], flush: Callable[[str], object], clock_now: Callable[[], datetime]
    ) -> None:
        self._units, self._flush, self._now = units, flush, clock_now

    def publish(self, event_type: str, payload: Mapping[str, Any], *, event_id: str) -> None:
        if event_type in PROJECTED_EVENTS:
            return
        unit_id = str(payload.get("instance_id") or "")
        body = {**payload, "unit_id": unit_id}
        contracts.check(SOURCE, event_type, body)  # a payload off its contract fails the action: it stays queued
        entry = {"id": event_id, "type": event_type, "payload": body, "created_at": self._now()}
        found = self._units.update_one({"_id": unit_id, "outbox.id": {"$ne": event_id}}, {"$push": {"outbox": entry}})
        if found.matched_count == 0 and self._units.count_documents({"_id": unit_id}, limit=1) == 0:
            log.warning("workflow event %s for unknown productive unit %s dropped", event_id, unit_id)
            return
        self._flush(unit_id)


class TaskNotifier:
    def __init__(self, store: WorkflowStore, clock_now: Callable[[], datetime]) -> None:
        self._store, self._now = store, clock_now

    def notify(self, key: str, role: str, message: str, context: Mapping[str, Any]) -> None:
        at = context.get("at")
        created = datetime.fromisoformat(at) if isinstance(at, str) else self._now()
        self._store.add_task(
            Task(
                id=key,
                instance_id=str(context.get("instance_id") or ""),
                component=str(context.get("component") or ""),
                kind="notice",
                title=message,
                assignee_role=role,
                due_at=None,
                created_at=created,
            )
        )


def publish_seeded(
    engine: WorkflowEngine, store: MongoWorkflowStore, source: str, now: datetime, actor: str = "sistema"
) -> int:
    """The version holding ``source``'s definition: the latest if it is the same
    document, else a new one (see the module's contract)."""
    document = engine.check(source).document
    component = document["component"]
    while True:
        latest = store.definitions.find_one({"component": component}, sort=[("version", -1)])
        if latest is not None and latest["document"] == document:
            return int(latest["version"])
        version = (int(latest["version"]) if latest else 0) + 1
        try:
            store.definitions.insert_one(
                {
                    "_id": f"{component}@{version}",
                    "component": component,
                    "version": version,
                    "document": document,
                    "published_at": now,
                    "published_by": actor,
                }
            )
        except DuplicateKeyError:
            continue  # another replica published first: read what it stored
        return version


class DefinitionCatalog:
    """Which workflow definitions are published (components and their versions)."""

    def __init__(self, store: MongoWorkflowStore) -> None:
        self._definitions = store.definitions

    def components(self) -> list[str]:
        return sorted(str(c) for c in self._definitions.distinct("component"))

    def versions(self, component: str) -> list[int]:
        found = self._definitions.find({"component": component}, {"version": 1}).sort("version", 1)
        return [int(d["version"]) for d in found]
