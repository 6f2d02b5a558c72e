"""Response bodies of the income routes (see ``gateway.responses``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gateway.responses import Out, Timestamp


class SectorOut(Out):
    code: str
    label: str


class SectorsOut(Out):
    sectors: list[SectorOut]


class StageChangeOut(Out):
    transition: str
    from_stage: str
    to_stage: str
    by: str
    at: Timestamp | None = None
    reason: str
    acta_id: str


class FollowUpOut(Out):
    acta_id: str
    visited_at: str
    operating: bool
    monthly_sales: str = Field(description="COP, texto decimal")
    jobs: int
    problems: str
    gestor_id: str


class TransitionOptionOut(Out):
    name: str
    label: str = ""
    requires_reason: bool = False
    requires_acta: bool = False


class UnitOut(Out):
    id: str
    name: str
    family_id: str
    owner_ids: list[str]
    community_id: str
    sector: str
    kind: str
    stage: str
    version: int
    closing_reason: str
    history: list[StageChangeOut]
    followups: list[FollowUpOut]
    created_at: Timestamp | None = None
    created_by: str
    plan_version: int
    plan_status: str
    transitions: list[str] = Field(description="Las transiciones que salen de la etapa actual")
    transition_options: list[TransitionOptionOut] = Field(
        default_factory=list, description="Las mismas, con su nombre en español y lo que exigen"
    )
    diagnosis_complete: bool = False
    diagnosis_notes: str = ""
    capitalization_amount: str = Field(default="", description="Monto de capitalización en COP (pesos enteros)")
    definition_version: int = Field(default=0, description="Versión del flujo de trabajo en que está la UP")


class UnitsOut(Out):
    units: list[UnitOut]
    next_page_token: str = Field(default="", description="La página siguiente (vacío en la última)")


class StageCountOut(Out):
    stage: str
    count: int
    units: list[UnitOut] = Field(default_factory=list, description="Las más recientes, si se pidieron (newest)")


class UnitCountsOut(Out):
    stages: list[StageCountOut] = Field(description="Cada etapa en el orden del flujo, con 0 si no tiene")
    total: int


class PlanStatusChangeOut(Out):
    from_status: str
    to_status: str
    by: str
    at: Timestamp | None = None
    reason: str


class PlanFiguresOut(Out):
    npv: str = Field(description="VPN en COP")
    irr_monthly: str = Field(description="TIR mensual (fracción), vacía si no existe")
    irr_annual: str
    payback_month: int = Field(description="Mes de recuperación de la inversión; 0 si no ocurre")
    break_even_units: str
    break_even_sales: str
    total_sales: str
    operating_margin: str


class ViabilityCheckOut(Out):
    code: str
    passed: bool
    message: str


class VerdictOut(Out):
    viable: bool
    label: str
    checks: list[ViabilityCheckOut]


class PlanOut(Out):
    unit_id: str
    version: int
    status: str
    revision: int
    based_on: int
    content: dict[str, Any]
    history: list[PlanStatusChangeOut]
    has_figures: bool
    figures: PlanFiguresOut | None = None
    verdict: VerdictOut | None = None
    missing: list[str] = Field(description="Las partes que faltan para enviarlo")


class PlansOut(Out):
    plans: list[PlanOut]


class AttendanceOut(Out):
    beneficiary_id: str
    present: bool


class TrainingOut(Out):
    id: str
    unit_id: str
    community_id: str
    topic: str
    held_at: Timestamp | None = None
    attendance: list[AttendanceOut]
    recorded_by: str


class ComplianceOut(Out):
    beneficiary_id: str
    sessions: int
    attended: int
    percent: str
    band: str = Field(description="cumple (≥ 80 %), parcial (≥ 50 %) o no_cumple")


class TrainingsOut(Out):
    trainings: list[TrainingOut]
    compliance: list[ComplianceOut]


class PlanDocumentOut(Out):
    """The signed PDF "Plan de Acción" of an approved plan version."""

    unit_id: str
    plan_version: int
    status: str = Field(description="pending (se está generando) o stored")
    sha256: str
    size_bytes: int
    pades_signed: bool
    stored_at: Timestamp | None = None
    download_url: str = Field(description="Enlace de descarga temporal; vacío mientras se genera")
    url_expires_at: Timestamp | None = None
    attempts: int
    last_error: str
