"""Response bodies of the KPI routes (``/api/v1/indicadores``)."""

from __future__ import annotations

from pydantic import Field

from gateway.responses import Out, Timestamp


class KpiOut(Out):
    code: str
    name: str
    description: str
    unit: str = Field(description="percent (numerador / denominador por 100) o count")
    numerator_label: str
    denominator_label: str = Field(description="Vacío en un conteo")
    disaggregations: list[str] = Field(description="comunidad, gestor, sexo, edad, sector, tipo")
    alert: bool = Field(description="Alerta de calidad de datos: un valor mayor que cero requiere atención")


class GroupOut(Out):
    key: str = Field(description="Id de comunidad, usuario del gestor, female, 18-28...; vacío en el total")
    label: str
    numerator: int
    denominator: int
    value: float


class KpiValueOut(Out):
    kpi: KpiOut
    as_of: str = Field(description="Fecha de corte, AAAA-MM-DD (Colombia)")
    by: str = Field(description="La desagregación pedida; vacío: solo el total")
    total: GroupOut
    groups: list[GroupOut]
    computed_at: Timestamp = Field(description="Cuándo se calculó el valor a partir de la proyección")
    fresh_for_seconds: int = Field(description="Un valor se recalcula cuando es más antiguo que esto")


class KpisOut(Out):
    kpis: list[KpiOut]
    values: list[KpiValueOut] = Field(description="El valor total de cada indicador hoy, en el mismo orden")


class RecordOut(Out):
    id: str
    fields: dict[str, str]


class DrillDownOut(Out):
    source: str = Field(description="households, people, participations o productive_units")
    records: list[RecordOut]
    next_after: str = Field(description="Páselo como despues para la página siguiente; vacío en la última")


class SeriesPointOut(Out):
    month: str = Field(description="AAAA-MM")
    as_of: str = Field(description="Fecha de corte del punto: el último día del mes, u hoy en el mes en curso")
    total: GroupOut


class KpiSeriesOut(Out):
    kpi: KpiOut
    points: list[SeriesPointOut] = Field(description="Del mes más antiguo al actual")
    computed_at: Timestamp
