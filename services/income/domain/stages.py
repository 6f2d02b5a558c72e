"""The stages of a productive unit (UP) and how it moves between them, behind a
small port (``StageMachine``) so the shared workflow engine
(``crm_platform.workflow``, definitions as data) can replace the simple
implementation here without touching the use cases.

``SeededStages`` mirrors the seeded G.I. workflow: diagnóstico -> formulación del
plan (Fluye) -> aprobación -> implementación | capitalización -> fortalecimiento ->
seguimiento -> graduada, or cerrada from any open stage with a reason. Guards are
named; a failing one is ``GuardFailed`` with its name and the values it saw.

The facts a guard reads have the shape of the engine's instance data in the seeded
definition (``crm_platform/workflow/examples/gi_unidad_productiva.yaml``, branch
h9): ``plan.version``, ``plan.aprobado``, ``plan.viable``, ``seguimiento.operando``,
``seguimiento.ventas_mensuales``; the guards keep the same names. Not modelled
here yet: the diagnosis (``diagnostico.completo``) and capitalisation amounts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from crm_platform import errors as vocabulary

STAGE_LABELS = {
    "diagnostico": "Diagnóstico",
    "formulacion_plan": "Formulación del plan (Fluye)",
    "aprobacion": "Aprobación",
    "implementacion": "Implementación",
    "capitalizacion": "Capitalización",
    "fortalecimiento": "Fortalecimiento",
    "seguimiento": "Seguimiento",
    "graduada": "Graduada",
    "cerrada": "Cerrada",
}
INITIAL = "diagnostico"
TERMINAL = frozenset({"graduada", "cerrada"})


class GuardFailed(vocabulary.FailedPrecondition):
    """A transition's guard is false: ``guard`` names it, ``seen`` the values it read."""

    def __init__(self, guard: str, message: str, seen: Mapping[str, Any]) -> None:
        super().__init__(f"{message} (condición «{guard}»)", fields={"guard": guard})
        self.guard = guard
        self.seen = dict(seen)


class TransitionNotAllowed(vocabulary.FailedPrecondition):
    def __init__(self, transition: str, stage: str) -> None:
        label = STAGE_LABELS.get(stage, stage)
        super().__init__(
            f"La transición «{transition}» no se permite desde la etapa «{label}»", fields={"transition": transition}
        )


@dataclass(frozen=True)
class Guard:
    name: str
    message: str
    test: Callable[[Mapping[str, Any]], bool]
    reads: tuple[str, ...]  # dotted paths into the facts


def _read(facts: Mapping[str, Any], path: str) -> Any:
    value: Any = facts
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str
    guards: tuple[Guard, ...] = ()
    requires_reason: bool = False


class StageMachine(Protocol):
    """What the use cases need from a workflow: the transitions out of a stage and
    the stage a transition leads to, once its guards hold over ``facts``."""

    def allowed(self, stage: str) -> list[str]: ...

    def advance(self, stage: str, transition: str, facts: Mapping[str, Any], reason: str) -> str: ...


_PLAN_APPROVED_VIABLE = Guard(
    "plan_aprobado_y_viable",
    "La unidad productiva necesita su plan de acción aprobado y viable",
    lambda f: bool(_read(f, "plan.aprobado")) and bool(_read(f, "plan.viable")),
    ("plan.aprobado", "plan.viable"),
)
_OPEN = frozenset(STAGE_LABELS) - TERMINAL

TRANSITIONS: tuple[Transition, ...] = (
    Transition("formular_plan", "Pasar a formulación del plan", frozenset({"diagnostico"}), "formulacion_plan"),
    Transition(
        "enviar_aprobacion",
        "Enviar el plan a aprobación",
        frozenset({"formulacion_plan"}),
        "aprobacion",
        (
            Guard(
                "plan_formulado",
                "La unidad productiva necesita un plan de acción formulado",
                lambda f: (_read(f, "plan.version") or 0) >= 1,
                ("plan.version",),
            ),
        ),
    ),
    Transition(
        "devolver_plan",
        "Devolver el plan para ajustes",
        frozenset({"aprobacion"}),
        "formulacion_plan",
        requires_reason=True,
    ),
    Transition(
        "iniciar_implementacion",
        "Iniciar la implementación",
        frozenset({"aprobacion"}),
        "implementacion",
        (_PLAN_APPROVED_VIABLE,),
    ),
    Transition(
        "iniciar_capitalizacion",
        "Iniciar la capitalización",
        frozenset({"aprobacion"}),
        "capitalizacion",
        (_PLAN_APPROVED_VIABLE,),
    ),
    Transition(
        "fortalecer", "Pasar a fortalecimiento", frozenset({"implementacion", "capitalizacion"}), "fortalecimiento"
    ),
    Transition("iniciar_seguimiento", "Pasar a seguimiento", frozenset({"fortalecimiento"}), "seguimiento"),
    Transition(
        "graduar",
        "Graduar",
        frozenset({"seguimiento"}),
        "graduada",
        (
            Guard(
                "opera_y_vende",
                "Solo se gradúa una unidad productiva que opera y registra ventas en su último seguimiento",
                lambda f: (
                    bool(_read(f, "seguimiento.operando"))
                    and Decimal(str(_read(f, "seguimiento.ventas_mensuales") or 0)) > 0
                ),
                ("seguimiento.operando", "seguimiento.ventas_mensuales"),
            ),
        ),
    ),
    Transition("cerrar", "Cerrar", _OPEN, "cerrada", requires_reason=True),
)


class SeededStages:
    """The seeded G.I. workflow as code: the simple ``StageMachine``."""

    def __init__(self, transitions: tuple[Transition, ...] = TRANSITIONS) -> None:
        self._by_name = {t.name: t for t in transitions}

    def allowed(self, stage: str) -> list[str]:
        return [t.name for t in self._by_name.values() if stage in t.sources]

    def advance(self, stage: str, transition: str, facts: Mapping[str, Any], reason: str) -> str:
        found = self._by_name.get(transition)
        if found is None:
            raise vocabulary.InvalidArgument({"transition": f"Transición desconocida: {transition!r}"})
        if stage not in found.sources:
            raise TransitionNotAllowed(transition, stage)
        if found.requires_reason and not reason.strip():
            raise vocabulary.InvalidArgument({"reason": "Indique el motivo"})
        for guard in found.guards:
            if not guard.test(facts):
                raise GuardFailed(guard.name, guard.message, {k: _read(facts, k) for k in guard.reads})
        return found.target
