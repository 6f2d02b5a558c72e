"""The configurable viability rule: data, not code. A programme sets its
thresholds (minimum NPV, maximum payback in months, minimum operating margin,
optionally an IRR above the discount rate); a plan is viable when it meets every
threshold that is set, and the verdict says why in Spanish, check by check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.income.domain.errors import PlanInvalid
from services.income.domain.finance import MAX_MONTHS, FinancialModel
from services.income.domain.finance_math import Analysis, analyse
from services.income.domain.money import format_cop, format_percent, to_decimal


@dataclass(frozen=True)
class ViabilityRule:
    """Thresholds; a threshold left as None is not checked."""

    min_npv: Decimal | None = Decimal(0)
    max_payback_months: int | None = 24
    min_operating_margin: Decimal | None = Decimal("0.10")  # a fraction: 0.10 = 10 %
    irr_above_discount_rate: bool = False

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        if self.max_payback_months is not None and not 1 <= self.max_payback_months <= MAX_MONTHS:
            problems["max_payback_months"] = f"La recuperación máxima debe estar entre 1 y {MAX_MONTHS} meses"
        margin = self.min_operating_margin
        if margin is not None and not Decimal(-1) <= margin <= Decimal(1):
            problems["min_operating_margin"] = "El margen mínimo se da como fracción entre -1 y 1 (0.10 = 10 %)"
        if problems:
            raise PlanInvalid(problems)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ViabilityRule:
        """A rule from configuration data; absent keys keep the defaults, null disables a check."""
        problems: dict[str, str] = {}
        values: dict[str, Any] = {}
        unknown = set(data) - {"min_npv", "max_payback_months", "min_operating_margin", "irr_above_discount_rate"}
        for key in sorted(unknown):
            problems[key] = "Criterio de viabilidad desconocido"
        for key in ("min_npv", "min_operating_margin"):
            if key in data:
                try:
                    values[key] = None if data[key] is None else to_decimal(data[key])
                except ValueError as why:
                    problems[key] = f"Valor inválido: {why}"
        if "max_payback_months" in data:
            months = data["max_payback_months"]
            if months is not None and (isinstance(months, bool) or not isinstance(months, int)):
                problems["max_payback_months"] = "Debe ser un número entero de meses"
            else:
                values["max_payback_months"] = months
        if "irr_above_discount_rate" in data:
            if not isinstance(data["irr_above_discount_rate"], bool):
                problems["irr_above_discount_rate"] = "Debe ser verdadero o falso"
            else:
                values["irr_above_discount_rate"] = data["irr_above_discount_rate"]
        if problems:
            raise PlanInvalid(problems)
        return cls(**values)


@dataclass(frozen=True)
class Check:
    """One threshold applied: its code, whether it passed, and the sentence that says so."""

    code: str
    passed: bool
    message: str


@dataclass(frozen=True)
class Verdict:
    viable: bool
    checks: tuple[Check, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the plan is not viable (the failed checks); when viable, every check met."""
        failed = tuple(check.message for check in self.checks if not check.passed)
        return failed if failed else tuple(check.message for check in self.checks)

    @property
    def label(self) -> str:
        return "Viable" if self.viable else "No viable"


def evaluate(analysis: Analysis, rule: ViabilityRule, annual_discount_rate: Decimal) -> Verdict:
    checks: list[Check] = []
    if rule.min_npv is not None:
        ok = analysis.npv >= rule.min_npv
        checks.append(
            Check(
                "min_npv",
                ok,
                f"El VPN es {format_cop(analysis.npv)}; "
                + ("cumple" if ok else "no alcanza")
                + f" el mínimo de {format_cop(rule.min_npv)}",
            )
        )
    if rule.max_payback_months is not None:
        month = analysis.payback_month
        if month is None:
            checks.append(Check("max_payback_months", False, "La inversión no se recupera dentro de la proyección"))
        else:
            ok = month <= rule.max_payback_months
            checks.append(
                Check(
                    "max_payback_months",
                    ok,
                    f"La inversión se recupera en el mes {month}; "
                    + ("dentro" if ok else "después")
                    + f" del máximo de {rule.max_payback_months} meses",
                )
            )
    if rule.min_operating_margin is not None:
        margin = analysis.operating_margin
        if margin is None:
            checks.append(Check("min_operating_margin", False, "No se proyectan ventas: no hay margen operativo"))
        else:
            ok = margin >= rule.min_operating_margin
            checks.append(
                Check(
                    "min_operating_margin",
                    ok,
                    f"El margen operativo es {format_percent(margin)}; "
                    + ("cumple" if ok else "no alcanza")
                    + f" el mínimo de {format_percent(rule.min_operating_margin)}",
                )
            )
    if rule.irr_above_discount_rate:
        annual = analysis.irr.annual
        if annual is None:
            checks.append(Check("irr_above_discount_rate", False, analysis.irr.reason))
        else:
            ok = annual > annual_discount_rate
            checks.append(
                Check(
                    "irr_above_discount_rate",
                    ok,
                    f"La TIR anual es {format_percent(annual)}; "
                    + ("supera" if ok else "no supera")
                    + f" la tasa de descuento de {format_percent(annual_discount_rate)}",
                )
            )
    return Verdict(all(check.passed for check in checks), tuple(checks))


@dataclass(frozen=True)
class Assessment:
    """A model's figures and the verdict of a rule on them: what the plan page shows
    and what a workflow guard such as "approved and viable" reads."""

    analysis: Analysis
    verdict: Verdict


def assess(model: FinancialModel, rule: ViabilityRule) -> Assessment:
    analysis = analyse(model)
    return Assessment(analysis, evaluate(analysis, rule, model.annual_discount_rate))
