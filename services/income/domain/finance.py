"""The Fluye plan's financial model (part 6): initial investment and its sources,
monthly projections, and what follows from them (``finance_math.analyse``).

A model that cannot be computed never exists: construction validates every field
and raises ``FinancialModelInvalid`` naming each bad one (``months[2].price``)
with a Spanish reason. Amounts are ``Decimal`` pesos (COP)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.income.domain.errors import FinancialModelInvalid
from services.income.domain.money import format_cop, to_decimal

MIN_MONTHS, MAX_MONTHS = 12, 36
MAX_AMOUNT = Decimal("1e12")  # one trillion pesos: far above any productive unit, below absurd input
MAX_UNITS = Decimal("1e9")
MAX_ANNUAL_RATE = Decimal(5)  # 500 % effective annual


@dataclass(frozen=True)
class Funding:
    """Where the initial investment comes from; the three must add up to it."""

    own_funds: Decimal = Decimal(0)
    seed_capital: Decimal = Decimal(0)
    microcredit: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.own_funds + self.seed_capital + self.microcredit


@dataclass(frozen=True)
class MonthProjection:
    """One projected month: units sold, unit price, variable cost per unit, fixed costs."""

    units: Decimal
    price: Decimal
    variable_cost: Decimal
    fixed_costs: Decimal

    @property
    def sales(self) -> Decimal:
        return self.units * self.price

    @property
    def variable_costs(self) -> Decimal:
        return self.units * self.variable_cost

    @property
    def cash_flow(self) -> Decimal:
        """Operating cash flow of the month: sales less variable and fixed costs."""
        return self.sales - self.variable_costs - self.fixed_costs


@dataclass(frozen=True)
class FinancialModel:
    """Investment at month 0, then 12 to 36 projected months, discounted at an
    effective annual rate given as a fraction (``0.12`` for 12 % E.A.)."""

    investment: Decimal
    funding: Funding
    months: tuple[MonthProjection, ...]
    annual_discount_rate: Decimal

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise FinancialModelInvalid(problems)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> FinancialModel:
        """A model from plain data (a form or JSON): every field that is missing,
        not a number or out of range is reported at once, by name."""
        return _Parser(data).model()


FUNDING_LABELS = {"own_funds": "recursos propios", "seed_capital": "capital semilla", "microcredit": "microcrédito"}
MONTH_LABELS = {
    "units": "las unidades",
    "price": "el precio",
    "variable_cost": "el costo variable por unidad",
    "fixed_costs": "los costos fijos",
}


def _problems(model: FinancialModel) -> dict[str, str]:
    problems: dict[str, str] = {}
    if model.investment <= 0:
        problems["investment"] = "La inversión inicial debe ser mayor que cero"
    elif model.investment > MAX_AMOUNT:
        problems["investment"] = f"La inversión inicial no puede superar {format_cop(MAX_AMOUNT)}"
    for name, label in FUNDING_LABELS.items():
        amount: Decimal = getattr(model.funding, name)
        if amount < 0:
            problems[f"funding.{name}"] = f"El aporte de {label} no puede ser negativo"
        elif amount > MAX_AMOUNT:
            problems[f"funding.{name}"] = f"El aporte de {label} no puede superar {format_cop(MAX_AMOUNT)}"
    amounts_valid = "investment" not in problems and not any(k.startswith("funding.") for k in problems)
    if amounts_valid and model.funding.total != model.investment:
        problems["funding"] = (
            f"Las fuentes suman {format_cop(model.funding.total)} y la inversión es "
            f"{format_cop(model.investment)}: deben ser iguales"
        )
    count = len(model.months)
    if not MIN_MONTHS <= count <= MAX_MONTHS:
        problems["months"] = f"La proyección debe tener entre {MIN_MONTHS} y {MAX_MONTHS} meses (tiene {count})"
    for index, month in enumerate(model.months):
        for name, label in MONTH_LABELS.items():
            value: Decimal = getattr(month, name)
            limit = MAX_UNITS if name == "units" else MAX_AMOUNT
            if value < 0:
                problems[f"months[{index}].{name}"] = f"En el mes {index + 1}, {label} no puede ser negativo"
            elif value > limit:
                problems[f"months[{index}].{name}"] = f"En el mes {index + 1}, {label} es demasiado grande"
    rate = model.annual_discount_rate
    if not Decimal(0) <= rate <= MAX_ANNUAL_RATE:
        problems["annual_discount_rate"] = (
            f"La tasa de descuento anual debe estar entre 0 y {int(MAX_ANNUAL_RATE * 100)} % "
            "(se da como fracción: 0.12 es 12 %)"
        )
    return problems


class _Parser:
    """Turns plain data into Decimals, remembering every conversion problem by field."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: dict[str, str] = {}

    def number(self, source: Mapping[str, Any], key: str, field: str, label: str, default: Any = None) -> Decimal:
        raw = source.get(key, default)
        if raw is None:
            self.problems[field] = f"{label}: falta el valor"
            return Decimal(0)
        try:
            return to_decimal(raw)
        except ValueError as why:
            self.problems[field] = f"{label}: {why}"
            return Decimal(0)

    def model(self) -> FinancialModel:
        data = self.data
        investment = self.number(data, "investment", "investment", "La inversión inicial")
        funding_data = _mapping(data.get("funding"))
        funding = Funding(
            **{
                name: self.number(funding_data, name, f"funding.{name}", f"El aporte de {label}", default=0)
                for name, label in FUNDING_LABELS.items()
            }
        )
        raw_months = data.get("months")
        months: list[MonthProjection] = []
        if not isinstance(raw_months, Sequence) or isinstance(raw_months, str | bytes):
            self.problems["months"] = "La proyección mensual es obligatoria (una lista de meses)"
        else:
            if len(raw_months) > MAX_MONTHS:
                self.problems["months"] = (
                    f"La proyección debe tener entre {MIN_MONTHS} y {MAX_MONTHS} meses (tiene {len(raw_months)})"
                )
            for index, raw in enumerate(raw_months[: MAX_MONTHS + 1]):
                month = _mapping(raw)
                months.append(
                    MonthProjection(
                        **{
                            name: self.number(month, name, f"months[{index}].{name}", f"En el mes {index + 1}, {label}")
                            for name, label in MONTH_LABELS.items()
                        }
                    )
                )
        rate = self.number(data, "annual_discount_rate", "annual_discount_rate", "La tasa de descuento anual")
        try:
            model = FinancialModel(investment, funding, tuple(months), rate)
        except FinancialModelInvalid as invalid:
            # The conversion problem is the one to show where a field has both.
            raise FinancialModelInvalid({**invalid.fields, **self.problems}) from None
        if self.problems:
            raise FinancialModelInvalid(self.problems)
        return model


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
