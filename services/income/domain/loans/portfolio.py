"""Portfolio indicators, as microfinance reports them, over lightweight records.

- PAR30 / PAR90 (portfolio at risk): the outstanding principal of every loan with an
  installment more than 30 / 90 days late, divided by the gross outstanding portfolio
  (the outstanding principal of all active loans). The whole loan's principal counts,
  not only the late installments (CGAP / MIX definition).
- Arrears rate: the amount overdue (every component of installments due and unpaid)
  divided by the outstanding portfolio (principal).
- Repayment rate: what was collected on installments due to date, divided by what
  was due to date (on-time and late payments of those installments).

The service feeds ``LoanRow`` tuples (one per loan, built by ``loan_row`` or straight
from its own projection); ``indicators`` and ``indicators_by`` are single passes with
plain accumulators, so 100,000 loans take well under a second. Ratios are fractions
(0.0525 is 5.25 %) rounded to 6 decimals, ``None`` when the denominator is zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from services.income.domain.loans.arrears import Pause, days_past_due
from services.income.domain.loans.ledger_state import LoanState, LoanStatus

ZERO = Decimal(0)
RATIO = Decimal("0.000001")
DIMENSIONS = ("community", "adviser", "sector", "owner_sex")


class LoanRow(NamedTuple):
    """One loan as the indicators need it, as of one date. ``days_late`` is the raw
    days past due (the PAR definition does not apply the arrears grace)."""

    loan_id: str
    outstanding_principal: Decimal
    overdue: Decimal
    collected: Decimal
    due_to_date: Decimal
    days_late: int
    dims: Mapping[str, str]


def loan_row(
    loan_id: str,
    state: LoanState,
    as_of: date,
    dims: Mapping[str, str],
    pauses: Iterable[Pause] = (),
) -> LoanRow:
    """The row of a loan from its derived ledger state."""
    rows = [i for i in state.installments if i.due_date <= as_of]
    due = sum((sum(i.due.values(), ZERO) for i in rows), ZERO)
    collected = sum((sum(i.paid.values(), ZERO) for i in rows), ZERO)
    overdue = sum((i.total_outstanding for i in rows), ZERO)
    late = days_past_due((i.due_date for i in rows if i.total_outstanding > 0), as_of, pauses)
    principal = state.outstanding_principal if state.status is LoanStatus.ACTIVE else ZERO
    return LoanRow(loan_id, principal, overdue, collected, due, late, dims)


@dataclass(frozen=True)
class Indicators:
    loans: int
    gross_portfolio: Decimal
    at_risk_30: Decimal  # outstanding principal of loans more than 30 days late
    at_risk_90: Decimal
    overdue: Decimal
    collected: Decimal
    due_to_date: Decimal
    loans_at_risk_30: int
    loans_at_risk_90: int

    @property
    def par30(self) -> Decimal | None:
        return _ratio(self.at_risk_30, self.gross_portfolio)

    @property
    def par90(self) -> Decimal | None:
        return _ratio(self.at_risk_90, self.gross_portfolio)

    @property
    def arrears_rate(self) -> Decimal | None:
        return _ratio(self.overdue, self.gross_portfolio)

    @property
    def repayment_rate(self) -> Decimal | None:
        return _ratio(self.collected, self.due_to_date)


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO)


class _Acc:
    __slots__ = ("collected", "due", "gross", "loans", "n30", "n90", "overdue", "r30", "r90")

    def __init__(self) -> None:
        self.loans = self.n30 = self.n90 = 0
        self.gross: Decimal | int = 0
        self.r30: Decimal | int = 0
        self.r90: Decimal | int = 0
        self.overdue: Decimal | int = 0
        self.collected: Decimal | int = 0
        self.due: Decimal | int = 0

    def add(self, row: LoanRow) -> None:
        principal = row.outstanding_principal
        self.loans += 1
        self.gross += principal
        if row.days_late > 30:
            self.r30 += principal
            self.n30 += 1
            if row.days_late > 90:
                self.r90 += principal
                self.n90 += 1
        self.overdue += row.overdue
        self.collected += row.collected
        self.due += row.due_to_date

    def result(self) -> Indicators:
        d = Decimal
        return Indicators(
            self.loans, d(self.gross), d(self.r30), d(self.r90), d(self.overdue), d(self.collected), d(self.due),
            self.n30, self.n90,
        )  # fmt: skip


def indicators(rows: Iterable[LoanRow]) -> Indicators:
    """The portfolio's indicators in one pass."""
    acc = _Acc()
    for row in rows:
        acc.add(row)
    return acc.result()


def indicators_by(rows: Iterable[LoanRow], dimension: str) -> dict[str, Indicators]:
    """Indicators per value of ``dimension`` (a key of ``LoanRow.dims``: community,
    adviser, sector, owner_sex or any other the service provides), in one pass; a
    loan without the dimension goes under ``""``."""
    groups: dict[str, _Acc] = {}
    for row in rows:
        key = row.dims.get(dimension, "")
        acc = groups.get(key)
        if acc is None:
            acc = groups[key] = _Acc()
        acc.add(row)
    return {key: acc.result() for key, acc in sorted(groups.items())}


def loans_at_risk(rows: Iterable[LoanRow], days: int = 30, **filters: str) -> list[str]:
    """Drill-down: the ids of loans more than ``days`` late, optionally only those
    whose dims match every ``filters`` item (``community="La Esperanza"``)."""
    return [
        row.loan_id for row in rows if row.days_late > days and all(row.dims.get(k) == v for k, v in filters.items())
    ]
