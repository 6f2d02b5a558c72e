"""The stages of a productive unit (UP): their labels and the error a failing
guard raises. The stages themselves, their transitions and guards are data: the
seeded G.I. definition (``crm_platform/workflow/examples/gi_unidad_productiva.yaml``)
run by the shared workflow engine (``service_layer.stage_flow``): diagnóstico ->
formulación del plan (Fluye) -> aprobación -> implementación | capitalización ->
fortalecimiento -> seguimiento -> graduada, or cerrada from any open stage with a
reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
        super().__init__(f"{message.rstrip('.')} (condición «{guard}»)", fields={"guard": guard})
        self.guard = guard
        self.seen = dict(seen)
