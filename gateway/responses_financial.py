"""Request and response bodies of a UP's financial statements
(``gateway.financial_routes``). Amounts are COP in whole pesos as decimal text;
ratios are decimal text with four places, empty where undefined."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gateway.responses import Out, Timestamp


def _exact(value: Any) -> Any:
    """A JSON number as the text it was written as (never a binary float): the
    service reads the amount and names it when it is not whole pesos."""
    if isinstance(value, bool):
        return value  # refused below as "Debe ser texto"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return value


Amount = Annotated[str, BeforeValidator(_exact), Field(default="", max_length=24)]


class StatementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sales: Amount = Field(description="Ventas del periodo (COP); vacío con sales_from_actas")
    cost_of_sales: Amount = Field(description="Costo de ventas")
    operating_expenses: Amount = Field(description="Gastos operacionales")
    current_assets: Amount = Field(description="Activos corrientes")
    non_current_assets: Amount = Field(description="Activos no corrientes")
    current_liabilities: Amount = Field(description="Pasivos corrientes, sin los créditos del programa")
    non_current_liabilities: Amount = Field(description="Pasivos no corrientes, sin los créditos del programa")
    equity: Amount = Field(description="Patrimonio (opcional): si lo escribe, debe ser activos menos pasivos")
    expected_revision: int = Field(default=0, ge=0, le=2**31, description="0 para un periodo nuevo")
    sales_from_actas: bool = Field(default=False, description="Tomar las ventas de las actas de seguimiento")
    notes: str = Field(default="", max_length=2000)


class StatementFiguresOut(Out):
    sales: str
    cost_of_sales: str
    operating_expenses: str
    current_assets: str
    non_current_assets: str
    current_liabilities: str
    non_current_liabilities: str
    equity: str = Field(description="El patrimonio escrito por el asesor; vacío si no lo escribió")


class StatementRatiosOut(Out):
    gross_margin: str = Field(description="(ventas menos costo de ventas) / ventas; vacío sin ventas")
    net_margin: str = Field(description="utilidad neta / ventas; vacío sin ventas")
    current_ratio: str = Field(description="activos corrientes / pasivos corrientes (con créditos)")
    debt_ratio: str = Field(description="pasivos totales / activos totales")


class StatementOut(Out):
    unit_id: str
    period: str = Field(description="2026-11 (mes) o 2026-T4 (trimestre)")
    kind: str = Field(description="mensual | trimestral")
    label: str
    start_date: str
    end_date: str
    figures: StatementFiguresOut
    gross_profit: str
    net_income: str
    total_assets: str
    loan_liabilities: str = Field(description="Pasivos de créditos del programa (saldo de capital)")
    loans_as_of: str = Field(description="Fecha de ese saldo (AAAA-MM-DD)")
    current_liabilities_total: str
    total_liabilities: str
    equity: str
    ratios: StatementRatiosOut
    sales_source: str = Field(description="asesor | acta")
    sales_acta_ids: list[str]
    notes: str
    revision: int
    recorded_by: str
    recorded_at: Timestamp | None = None


class TrendPointOut(Out):
    period: str
    value: str
    change: str
    direction: str = Field(description="sube | baja | igual | vacío")


class RatioTrendOut(Out):
    ratio: str
    label: str
    kind: str
    points: list[TrendPointOut]
    last_direction: str


class ActaSalesOfferOut(Out):
    period: str
    label: str
    amount: str
    acta_ids: list[str]
    missing_months: list[str]
    complete: bool
    source: str = Field(description="«de acta <id>»")


class StatementsOut(Out):
    statements: list[StatementOut]
    trends: list[RatioTrendOut]
    offers: list[ActaSalesOfferOut]
    loan_liabilities_today: str
