"""Workflow definitions, overdue instances and tasks to the income service's
protobuf messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from crm_platform.workflow.graph import svg
from crm_platform.workflow.model import Instance, Task
from services.income.service_layer.definitions import Shown


def _ts(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    out = Timestamp()
    out.FromDatetime(at)
    return out


def definition_message(shown: Shown) -> pb.WorkflowDefinition:
    d = shown.definition
    return pb.WorkflowDefinition(
        component=d.component,
        version=d.version,
        label=d.label,
        initial=d.initial,
        states=[
            pb.WorkflowState(name=s.name, label=s.label, terminal=s.terminal, due_days=s.due_days or 0)
            for s in d.states.values()
        ],
        transitions=[
            pb.WorkflowTransition(
                name=t.name,
                label=t.label,
                sources=list(t.sources),
                target=t.target,
                guards=[pb.WorkflowGuard(name=g.name, expression=g.expression, message=g.message) for g in t.guards],
                actions=[a.name for a in t.actions],
                requires_reason=t.requires_reason,
                requires_acta=t.requires_acta,
            )
            for t in d.transitions.values()
        ],
        svg=svg(d),
        yaml=shown.yaml,
        versions=shown.versions,
    )


def overdue_message(instance: Instance, names: Mapping[str, Any]) -> pb.OverdueInstance:
    return pb.OverdueInstance(
        unit_id=instance.id,
        unit_name=str(names.get(instance.id, "")),
        state=instance.state,
        due_at=_ts(instance.due_at),
        definition_version=instance.definition_version,
    )


def task_message(task: Task) -> pb.WorkflowTask:
    return pb.WorkflowTask(
        id=task.id,
        unit_id=task.instance_id,
        kind=task.kind,
        title=task.title,
        assignee_role=task.assignee_role,
        due_at=_ts(task.due_at),
        created_at=_ts(task.created_at),
        requested_by=task.requested_by,
        blocks=list(task.blocks),
        done_by=task.done_by or "",
        done_at=_ts(task.done_at),
    )
