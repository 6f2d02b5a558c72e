"""Response bodies of the workflow routes (see ``gateway.responses``)."""

from __future__ import annotations

from pydantic import Field

from gateway.responses import Out, Timestamp


class WorkflowStateOut(Out):
    name: str
    label: str
    terminal: bool
    due_days: int = Field(description="Días para salir del estado (0: sin plazo)")


class WorkflowGuardOut(Out):
    name: str
    expression: str
    message: str


class WorkflowTransitionOut(Out):
    name: str
    label: str
    sources: list[str]
    target: str
    guards: list[WorkflowGuardOut]
    actions: list[str]
    requires_reason: bool
    requires_acta: bool


class DefinitionOut(Out):
    component: str
    version: int = Field(description="0: una vista previa, no publicada")
    label: str
    initial: str
    states: list[WorkflowStateOut]
    transitions: list[WorkflowTransitionOut]
    svg: str = Field(description="El grafo de estados (SVG)")
    yaml: str
    versions: list[int]


class DefinitionsOut(Out):
    definitions: list[DefinitionOut]


class OverdueOut(Out):
    unit_id: str
    unit_name: str
    state: str
    due_at: Timestamp | None = None
    definition_version: int


class OverdueListOut(Out):
    instances: list[OverdueOut]


class WorkflowTaskOut(Out):
    id: str
    unit_id: str
    kind: str = Field(description="follow_up | cosignature | notice")
    title: str
    assignee_role: str
    due_at: Timestamp | None = None
    created_at: Timestamp | None = None
    requested_by: str = Field("", description="who made the transition that asked for it")
    blocks: list[str] = Field(
        default_factory=list, description="a co-signature: the transitions it holds back (all, when empty)"
    )
    done_by: str = Field("", description="who signed or completed it; empty while open")
    done_at: Timestamp | None = None


class WorkflowTasksOut(Out):
    tasks: list[WorkflowTaskOut]
