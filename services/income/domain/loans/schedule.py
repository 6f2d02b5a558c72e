"""The repayment schedule of a loan, with Apache Fineract's semantics.

INTERFACE (fixed; the helper who owns the loan domain completes the rules):
``generate(product, principal, disbursed_on, first_due_on=None) -> Schedule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.income.domain.loans.product import LoanProduct


@dataclass(frozen=True)
class Installment:
    number: int  # 1-based
    from_date: date
    due_date: date
    principal: Decimal
    interest: Decimal
    fees: Decimal = Decimal(0)
    penalties: Decimal = Decimal(0)
    balance_after: Decimal = Decimal(0)  # principal outstanding after this installment is paid

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees + self.penalties


@dataclass(frozen=True)
class Schedule:
    principal: Decimal
    disbursed_on: date
    installments: tuple[Installment, ...]

    @property
    def total_interest(self) -> Decimal:
        return sum((i.interest for i in self.installments), Decimal(0))


def generate(
    product: LoanProduct, principal: Decimal, disbursed_on: date, first_due_on: date | None = None
) -> Schedule:
    raise NotImplementedError("the loan-domain helper implements this")
