"""Workflow definitions for coordinators: list and read them (with their state
graph), check one (a preview: nothing stored, errors with their place), publish
it as the next version, move a UP's instance to another version, and the
engine's overdue instances and tasks. The engine does the work; this module only
joins it with the UPs (names, projections)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from crm_platform.errors import InvalidArgument
from crm_platform.workflow.engine import WorkflowEngine
from crm_platform.workflow.model import Definition, Instance, Task
from crm_platform.workflow.store import WorkflowStore
from services.income.service_layer.ports import UnitDoc
from services.income.service_layer.stage_flow import COMPONENT

MAX_SOURCE = 100_000  # characters of YAML


class Catalog(Protocol):
    def components(self) -> list[str]: ...

    def versions(self, component: str) -> list[int]: ...


@dataclass(frozen=True)
class Shown:
    """A definition as a page shows it: parsed, as YAML, and its published versions."""

    definition: Definition
    yaml: str
    versions: list[int]


def as_yaml(document: Mapping[str, Any]) -> str:
    return str(yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False, width=100))


class WorkflowAdmin:
    def __init__(self, engine: WorkflowEngine, store: WorkflowStore, catalog: Catalog) -> None:
        self.engine, self.store, self.catalog = engine, store, catalog

    def definitions(self) -> list[Shown]:
        return [self.definition(c) for c in self.catalog.components()]

    def definition(self, component: str, version: int = 0) -> Shown:
        found = self.engine.definition(component or COMPONENT, version or None)
        return Shown(found, as_yaml(found.document), self.catalog.versions(found.component))

    def check(self, source: str) -> Shown:
        found = self.engine.check(_source(source))
        return Shown(found, as_yaml(found.document), self.catalog.versions(found.component))

    def publish(self, source: str, by: str) -> Shown:
        found = self.engine.publish(_source(source), by)
        return Shown(found, as_yaml(found.document), self.catalog.versions(found.component))

    def overdue(self, now: Any, limit: int) -> list[Instance]:
        return self.engine.overdue(now, COMPONENT, max(1, min(limit or 100, 500)))

    def tasks(self, unit: UnitDoc) -> list[Task]:
        return self.store.tasks(unit["_id"])


def _source(text: str) -> str:
    if not text.strip():
        raise InvalidArgument({"yaml": "Escriba la definición del flujo de trabajo (YAML)"})
    if len(text) > MAX_SOURCE:
        raise InvalidArgument({"yaml": f"La definición admite hasta {MAX_SOURCE} caracteres"})
    return text
