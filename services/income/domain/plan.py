"""The Fluye action plan of a productive unit: its six parts, versioned, and the
coordinator's approval as a state of the plan.

States: draft -> submitted -> approved, or submitted -> returned (with a reason)
-> draft again when edited. An approved version is immutable: a change makes the
next version, a new draft, and the approved one stays as it was. Every change of
state records who and when. Values are immutable; each operation returns the new
plan, and ``revision`` grows with every change so the store can refuse a write
made on a stale copy (optimistic versioning)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.income.domain.errors import PlanInvalid, PlanStateError
from services.income.domain.finance import FinancialModel
from services.income.domain.fluye import (
    PART_LABELS,
    BusinessModelCanvas,
    CompetitionExploration,
    CustomerArchetype,
    ProfileCurve,
    ProposalCurve,
)

MAX_REASON = 1000


class PlanStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


STATUS_LABELS = {
    PlanStatus.DRAFT: "Borrador",
    PlanStatus.SUBMITTED: "Enviado a aprobación",
    PlanStatus.APPROVED: "Aprobado",
    PlanStatus.RETURNED: "Devuelto",
}


@dataclass(frozen=True)
class PlanContent:
    """The six parts; a draft may lack some, a submitted plan has them all."""

    profile: ProfileCurve | None = None
    canvas: BusinessModelCanvas | None = None
    archetype: CustomerArchetype | None = None
    exploration: CompetitionExploration | None = None
    proposal: ProposalCurve | None = None
    finance: FinancialModel | None = None

    def missing(self) -> dict[str, str]:
        """Each absent part, by name, with the Spanish reason."""
        return {name: f"Falta la parte «{label}»" for name, label in PART_LABELS.items() if getattr(self, name) is None}


@dataclass(frozen=True)
class StatusChange:
    """One change of state: from, to, who, when, and the reason when returned."""

    from_status: PlanStatus | None
    to_status: PlanStatus
    by: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class ActionPlan:
    unit_id: str
    version: int
    content: PlanContent
    status: PlanStatus
    history: tuple[StatusChange, ...]
    revision: int = 1
    based_on: int | None = None  # the approved version this one revises

    @classmethod
    def start(cls, unit_id: str, content: PlanContent, by: str, at: datetime) -> ActionPlan:
        """Version 1 of a productive unit's plan, as a draft."""
        _check_actor(by, at)
        if not unit_id.strip():
            raise PlanInvalid({"unit_id": "Falta la unidad productiva del plan"})
        return cls(unit_id, 1, content, PlanStatus.DRAFT, (StatusChange(None, PlanStatus.DRAFT, by, at),))

    @property
    def created_by(self) -> str:
        return self.history[0].by

    @property
    def last_change(self) -> StatusChange:
        return self.history[-1]

    @property
    def approved(self) -> StatusChange | None:
        """Who approved this version and when, if it is approved."""
        return self.last_change if self.status is PlanStatus.APPROVED else None

    @property
    def return_reason(self) -> str:
        return self.last_change.reason if self.status is PlanStatus.RETURNED else ""

    def edit(self, content: PlanContent, by: str, at: datetime) -> ActionPlan:
        """The plan with new content. A draft changes in place; a returned plan goes
        back to draft; an approved one is never touched: the change makes the next
        version (``based_on`` this one). A submitted plan waits for its decision."""
        _check_actor(by, at)
        if self.status is PlanStatus.SUBMITTED:
            raise PlanStateError("El plan está en revisión del coordinador: espere su decisión para modificarlo")
        if self.status is PlanStatus.APPROVED:
            return ActionPlan(
                self.unit_id,
                self.version + 1,
                content,
                PlanStatus.DRAFT,
                (StatusChange(None, PlanStatus.DRAFT, by, at),),
                based_on=self.version,
            )
        history = self.history
        if self.status is PlanStatus.RETURNED:
            history = (*history, StatusChange(self.status, PlanStatus.DRAFT, by, at))
        return replace(self, content=content, status=PlanStatus.DRAFT, history=history, revision=self.revision + 1)

    def submit(self, by: str, at: datetime) -> ActionPlan:
        """Send a complete draft to a coordinator."""
        _check_actor(by, at)
        if self.status is not PlanStatus.DRAFT:
            raise PlanStateError(
                f"Solo un borrador se envía a aprobación (el plan está «{STATUS_LABELS[self.status]}»)"
            )
        missing = self.content.missing()
        if missing:
            raise PlanInvalid(missing)
        return self._move(PlanStatus.SUBMITTED, by, at)

    def approve(self, by: str, at: datetime) -> ActionPlan:
        """A coordinator approves the submitted plan; nobody approves their own."""
        self._check_decision(by, at)
        return self._move(PlanStatus.APPROVED, by, at)

    def return_for_changes(self, by: str, at: datetime, reason: str) -> ActionPlan:
        """A coordinator returns the submitted plan, saying what to change."""
        self._check_decision(by, at)
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise PlanInvalid({"reason": "Escriba por qué se devuelve el plan"})
        if len(reason) > MAX_REASON:
            raise PlanInvalid({"reason": f"El motivo admite hasta {MAX_REASON} caracteres"})
        return self._move(PlanStatus.RETURNED, by, at, reason)

    def _check_decision(self, by: str, at: datetime) -> None:
        _check_actor(by, at)
        if self.status is not PlanStatus.SUBMITTED:
            raise PlanStateError(f"Solo se decide sobre un plan enviado (el plan está «{STATUS_LABELS[self.status]}»)")
        if by == self.last_change.by:
            raise PlanStateError("Quien envía el plan no puede decidir sobre él: debe hacerlo otro coordinador")
        if at < self.last_change.at:
            raise PlanInvalid({"at": "La decisión no puede ser anterior al envío"})

    def _move(self, to: PlanStatus, by: str, at: datetime, reason: str = "") -> ActionPlan:
        change = StatusChange(self.status, to, by, at, reason)
        return replace(self, status=to, history=(*self.history, change), revision=self.revision + 1)


def _check_actor(by: str, at: datetime) -> None:
    problems = {}
    if not isinstance(by, str) or not by.strip():
        problems["by"] = "Falta quién realiza la acción"
    if at.tzinfo is None:
        problems["at"] = "La fecha y hora deben llevar zona horaria"
    if problems:
        raise PlanInvalid(problems)
