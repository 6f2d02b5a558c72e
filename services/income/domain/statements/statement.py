"""A UP's financial statement for one period: the income statement (sales, cost
of sales, gross margin, operating expenses, net income) and the balance sheet
(current and non-current assets and liabilities, equity), in whole Colombian
pesos (``Decimal``).

The adviser types the liabilities other than the programme's loans; the loans'
outstanding principal at the period's end (``LoanBalances``) is a line of its
own, "pasivos de créditos del programa", counted as a current liability (the
conservative reading: the port gives one balance, not the part due within a
year). Equity is assets minus all liabilities; when the adviser also types it,
it must agree, or the statement is refused naming ``equity``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from crm_platform import errors as vocabulary
from services.income.domain.errors import IncomeError
from services.income.domain.money import context, format_cop, to_decimal
from services.income.domain.statements.period import Period

MAX_AMOUNT = Decimal(10) ** 13  # ten trillion pesos: more is a typing error
MAX_NOTES = 2000
RATIO_PLACES = Decimal("0.0001")
# What the adviser types, with the Spanish name a message gives each.
AMOUNTS: dict[str, str] = {
    "sales": "Ventas",
    "cost_of_sales": "Costo de ventas",
    "operating_expenses": "Gastos operacionales",
    "current_assets": "Activos corrientes",
    "non_current_assets": "Activos no corrientes",
    "current_liabilities": "Pasivos corrientes",
    "non_current_liabilities": "Pasivos no corrientes",
}
EQUITY_LABEL = "Patrimonio"


class StatementInvalid(IncomeError, vocabulary.InvalidArgument):
    """A statement that breaks its rules; ``fields`` maps each bad field to why (Spanish)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        vocabulary.InvalidArgument.__init__(self, errors)


@dataclass(frozen=True)
class Figures:
    """The amounts the adviser typed (whole pesos, none negative) and, optionally,
    the equity they expect (which may be negative: liabilities over assets)."""

    sales: Decimal
    cost_of_sales: Decimal
    operating_expenses: Decimal
    current_assets: Decimal
    non_current_assets: Decimal
    current_liabilities: Decimal
    non_current_liabilities: Decimal
    equity: Decimal | None = None


def _pesos(raw: Any, label: str, allow_negative: bool = False) -> Decimal:
    """``raw`` as whole pesos; ValueError with a Spanish reason."""
    try:
        value = to_decimal(raw)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None
    if value != value.to_integral_value():
        raise ValueError(f"{label}: escriba pesos enteros, sin centavos")
    if value < 0 and not allow_negative:
        raise ValueError(f"{label} no puede ser negativo")
    if abs(value) >= MAX_AMOUNT:
        raise ValueError(f"{label} es demasiado grande (más de {format_cop(MAX_AMOUNT - 1)})")
    return value.quantize(Decimal(1)) + 0  # "+ 0" turns -0 into 0


def figures_from(values: Mapping[str, Any]) -> Figures:
    """The typed amounts (decimal text, int or Decimal), every bad one named at
    once; ``equity`` is optional (empty: not typed)."""
    problems: dict[str, str] = {}
    amounts: dict[str, Decimal] = {}
    for name, label in AMOUNTS.items():
        raw = values.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problems[name] = f"{label}: escriba el monto en pesos (0 si no hay)"
            continue
        try:
            amounts[name] = _pesos(raw, label)
        except ValueError as exc:
            problems[name] = str(exc)
    equity: Decimal | None = None
    raw_equity = values.get("equity")
    if raw_equity is not None and not (isinstance(raw_equity, str) and not raw_equity.strip()):
        try:
            equity = _pesos(raw_equity, EQUITY_LABEL, allow_negative=True)
        except ValueError as exc:
            problems["equity"] = str(exc)
    if problems:
        raise StatementInvalid(problems)
    return Figures(**amounts, equity=equity)


@dataclass(frozen=True)
class Ratios:
    """Fractions (0.25 is 25 %) and the current ratio in times; None where the
    denominator is zero (no sales, no current liabilities, no assets)."""

    gross_margin: Decimal | None
    net_margin: Decimal | None
    current_ratio: Decimal | None
    debt_ratio: Decimal | None

    def as_dict(self) -> dict[str, Decimal | None]:
        return {name: getattr(self, name) for name in RATIO_LABELS}


RATIO_LABELS = {
    "gross_margin": "Margen bruto",
    "net_margin": "Margen neto",
    "current_ratio": "Razón corriente",
    "debt_ratio": "Razón de endeudamiento",
}


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator ÷ denominator to four places (half-even), None when the denominator is zero."""
    if denominator == 0:
        return None
    return context().divide(numerator, denominator).quantize(RATIO_PLACES, context=context())


@dataclass(frozen=True)
class Statement:
    period: Period
    figures: Figures
    loan_liabilities: Decimal = Decimal(0)  # the programme's loans' outstanding principal
    loans_as_of: date | None = None  # the day that balance is from
    sales_acta_ids: tuple[str, ...] = ()  # the sales come from these sealed follow-up actas
    notes: str = ""

    # -- the income statement -----------------------------------------------------------
    @property
    def gross_profit(self) -> Decimal:
        return self.figures.sales - self.figures.cost_of_sales

    @property
    def net_income(self) -> Decimal:
        return self.gross_profit - self.figures.operating_expenses

    # -- the balance sheet ----------------------------------------------------------------
    @property
    def total_assets(self) -> Decimal:
        return self.figures.current_assets + self.figures.non_current_assets

    @property
    def current_liabilities_total(self) -> Decimal:
        """What the adviser typed as current plus the programme's loans."""
        return self.figures.current_liabilities + self.loan_liabilities

    @property
    def total_liabilities(self) -> Decimal:
        return self.current_liabilities_total + self.figures.non_current_liabilities

    @property
    def equity(self) -> Decimal:
        return self.total_assets - self.total_liabilities

    @property
    def ratios(self) -> Ratios:
        sales = self.figures.sales
        return Ratios(
            gross_margin=ratio(self.gross_profit, sales),
            net_margin=ratio(self.net_income, sales),
            current_ratio=ratio(self.figures.current_assets, self.current_liabilities_total),
            debt_ratio=ratio(self.total_liabilities, self.total_assets),
        )

    @property
    def sales_source(self) -> str:
        """``acta`` when the sales were taken from follow-up actas, else ``asesor``."""
        return "acta" if self.sales_acta_ids else "asesor"


def build_statement(
    period: Period,
    figures: Figures,
    loan_liabilities: Decimal,
    loans_as_of: date,
    sales_acta_ids: Sequence[str] = (),
    notes: str = "",
) -> Statement:
    """The statement, with its equity checked against what the adviser typed."""
    notes = str(notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise StatementInvalid({"notes": f"Las notas admiten hasta {MAX_NOTES} caracteres"})
    if loan_liabilities < 0:
        raise ValueError("a loan balance is never negative")
    statement = Statement(period, figures, loan_liabilities, loans_as_of, tuple(sales_acta_ids), notes)
    if figures.equity is not None and figures.equity != statement.equity:
        loans = f", de ellos {format_cop(loan_liabilities)} de créditos del programa" if loan_liabilities else ""
        raise StatementInvalid(
            {
                "equity": (
                    f"El patrimonio escrito ({format_cop(figures.equity)}) no cuadra: activos "
                    f"{format_cop(statement.total_assets)} menos pasivos {format_cop(statement.total_liabilities)}"
                    f"{loans} dan {format_cop(statement.equity)}"
                )
            }
        )
    return statement


def in_order(statements: Sequence[Statement]) -> list[Statement]:
    """Oldest period first; the same period twice is an error naming ``period``."""
    seen: set[str] = set()
    for s in statements:
        if s.period.key in seen:
            raise StatementInvalid({"period": f"El periodo {s.period.key} está repetido"})
        seen.add(s.period.key)
    return sorted(statements, key=lambda s: s.period)
