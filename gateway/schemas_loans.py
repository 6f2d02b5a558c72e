"""Request bodies of the microcredit routes (productos de crédito, créditos, cartera)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

PESOS = "Pesos enteros como texto, por ejemplo 1500000"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BucketIn(_Strict):
    from_days: int = Field(ge=1, le=10_000)
    to_days: int = Field(default=0, ge=0, le=10_000, description="0: sin límite (el último tramo)")


class ProductIn(_Strict):
    code: str = Field(max_length=40, description="Código único del producto")
    name: str = Field(max_length=120)
    frequency: str = Field(max_length=20, description="mensual | quincenal | semanal")
    installments: int = Field(ge=0, le=1000, description="Número de cuotas (1 a 360)")
    annual_rate: str = Field(max_length=12, description="Tasa nominal anual en %, por ejemplo 24.5")
    interest_method: str = Field(default="", max_length=20, description="saldo_decreciente | flat")
    amortization: str = Field(default="", max_length=20, description="cuotas_iguales | capital_igual")
    interest_period: str = Field(default="", max_length=20, description="igual_al_periodo | diario")
    principal_grace: int = Field(default=0, ge=0, le=1000, description="Periodos de gracia de capital")
    interest_grace: int = Field(default=0, ge=0, le=1000, description="Periodos de gracia de pago de interés")
    installment_multiple: int = Field(default=0, ge=0, le=10**9, description="Cuotas en múltiplos de (COP)")
    move_to_business_day: bool = Field(default=False, description="Fechas en domingo o festivo pasan al día hábil")
    allocation: list[str] = Field(
        default_factory=list, max_length=4, description="penalidades, cargos, interes, capital"
    )
    arrears_grace_days: int = Field(default=0, ge=0, le=1000)
    buckets: list[BucketIn] = Field(default_factory=list, max_length=20, description="Tramos de mora")
    overpayment: str = Field(default="", max_length=10, description="refuse | advance")
    reminder_days: int = Field(default=0, ge=0, le=1000, description="Aviso N días antes de cada cuota")
    min_amount: str = Field(default="", max_length=16, description=PESOS)
    max_amount: str = Field(default="", max_length=16, description=PESOS)


class LoanIn(_Strict):
    unit_id: str = Field(max_length=64, description="Unidad productiva")
    borrower_id: str = Field(max_length=64, description="Titular de la unidad que recibe el crédito")
    product_code: str = Field(max_length=40)
    principal: str = Field(max_length=16, description=PESOS)
    purpose: str = Field(default="", max_length=500, description="Destino del crédito")
    adviser_id: str = Field(default="", max_length=64, description="Asesor; por defecto quien registra")


class RevisionIn(_Strict):
    expected_revision: int = Field(default=0, ge=0, le=2**31, description="La revisión que usted vio (0: no comprobar)")


class DisbursementIn(RevisionIn):
    amount: str = Field(default="", max_length=16, description=PESOS)
    on: dt.date | None = Field(default=None, description="Fecha del desembolso (hoy si falta)")
    first_due_on: dt.date | None = Field(default=None, description="Primera cuota (un periodo después si falta)")


class RepaymentIn(_Strict):
    amount: str = Field(max_length=16, description=PESOS)
    on: dt.date | None = Field(default=None, description="Fecha del pago (hoy si falta)")
    idempotency_key: str = Field(
        default="", max_length=100, description="Clave del cliente: un reintento con la misma clave no paga dos veces"
    )
    note: str = Field(default="", max_length=500)


class PrepaymentIn(_Strict):
    amount: str = Field(max_length=16, description=PESOS)
    on: dt.date | None = None
    mode: str = Field(max_length=20, description="reducir_plazo | reducir_cuota")
    idempotency_key: str = Field(default="", max_length=100)


class RescheduleIn(RevisionIn):
    from_date: dt.date | None = Field(default=None, description="Vencimiento de la primera cuota nueva")
    installments: int = Field(default=0, ge=0, le=1000, description="Cuotas nuevas (0: las que quedan)")
    reason: str = Field(max_length=500)


class WriteOffIn(RevisionIn):
    reason: str = Field(max_length=1000, description="Motivo del castigo")


class PauseIn(RevisionIn):
    paused: bool = Field(description="true: pausar el conteo de mora; false: reanudarlo")
    on: dt.date | None = None
    reason: str = Field(default="", max_length=500)


class ClosingIn(_Strict):
    date: dt.date = Field(description="El día que se cierra (ya terminado)")
