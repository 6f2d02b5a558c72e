"""Request bodies of the income routes (productive units, Fluye plans, trainings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitIn(_Strict):
    name: str = Field(max_length=200, description="Nombre de la unidad productiva")
    family_id: str = Field(max_length=64, description="Hogar al que pertenece")
    owner_ids: list[str] = Field(max_length=20, description="Titulares (beneficiarios del hogar)")
    community_id: str = Field(max_length=64)
    sector: str = Field(max_length=64, description="Código del catálogo de sectores (GET .../sectores)")
    kind: str = Field(max_length=32, description="emprendimiento | fortalecimiento")


class StageChangeIn(_Strict):
    transition: str = Field(max_length=64, description="Nombre de la transición (ver ``transitions`` de la UP)")
    expected_version: int = Field(ge=1, le=2**31, description="La versión de la UP que usted vio")
    reason: str = Field(default="", max_length=2000, description="Obligatorio al cerrar o devolver el plan")
    acta_id: str = Field(default="", max_length=64, description="Acta que evidencia el cambio, si la hay")


class PlanIn(_Strict):
    content: dict[str, Any] = Field(
        description="Las partes del plan Fluye (profile, canvas, archetype, exploration, proposal, finance); "
        'los montos como texto ("1500000") o números'
    )
    expected_revision: int = Field(default=0, ge=0, le=2**31, description="0 al empezar el plan")


class PlanDecisionIn(_Strict):
    expected_revision: int = Field(ge=1, le=2**31)
    reason: str = Field(default="", max_length=2000, description="Obligatorio al devolver el plan")


class AttendanceIn(_Strict):
    beneficiary_id: str = Field(max_length=64)
    present: bool


class TrainingIn(_Strict):
    topic: str = Field(max_length=400)
    held_at: datetime | None = None
    attendance: list[AttendanceIn] = Field(max_length=500)
    community_id: str = Field(default="", max_length=64, description="Para una sesión de la comunidad")


def exact_numbers(value: Any) -> Any:
    """JSON numbers with a fraction arrive as floats; the plan wants decimals as
    written, so each becomes its shortest text (``0.12`` -> ``"0.12"``)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {k: exact_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact_numbers(v) for v in value]
    return value


class DiagnosisIn(_Strict):
    complete: bool = Field(description="El diagnóstico está completo")
    notes: str = Field(default="", max_length=4000)


class CapitalizationIn(_Strict):
    amount: str = Field(max_length=20, description="Monto en COP, pesos enteros (por ejemplo 2500000)")


class DefinitionIn(_Strict):
    yaml: str = Field(max_length=100_000, description="La definición del flujo de trabajo en YAML")


class MigrationIn(_Strict):
    to_version: int = Field(ge=1, le=100_000)
    state_map: dict[str, str] = Field(default_factory=dict, description="estado anterior -> estado nuevo")
    expected_version: int = Field(ge=1, le=2**31, description="La versión de la UP que usted vio")
