"""A loan product: the terms every loan made under it shares.

The fields follow Apache Fineract's loan product (repayment frequency, number of
repayments, nominal annual interest rate, interest method, amortization, interest
calculation period, grace periods, "installment amount in multiples of"); the
currency is COP with no decimals. ``LoanProduct.checked`` refuses what cannot
amortize, naming each bad field in Spanish."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from crm_platform import errors as vocabulary
from services.income.domain.errors import IncomeError


class LoanInvalid(IncomeError, vocabulary.InvalidArgument):
    """A product, loan or posting violates its rules; ``fields`` maps each bad field to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        vocabulary.InvalidArgument.__init__(self, errors)


class Frequency(StrEnum):
    MONTHLY = "mensual"
    BIWEEKLY = "quincenal"  # every 14 days, as Fineract's "2 weeks"
    WEEKLY = "semanal"


PERIODS_PER_YEAR = {Frequency.MONTHLY: 12, Frequency.BIWEEKLY: 26, Frequency.WEEKLY: 52}


class InterestMethod(StrEnum):
    DECLINING_BALANCE = "saldo_decreciente"
    FLAT = "flat"


class Amortization(StrEnum):
    EQUAL_INSTALLMENTS = "cuotas_iguales"
    EQUAL_PRINCIPAL = "capital_igual"


class InterestPeriod(StrEnum):
    SAME_AS_REPAYMENT = "igual_al_periodo"
    DAILY = "diario"  # actual days / 365


class Allocation(StrEnum):
    PENALTIES = "penalidades"
    FEES = "cargos"
    INTEREST = "interes"
    PRINCIPAL = "capital"


DEFAULT_ALLOCATION: tuple[Allocation, ...] = (
    Allocation.PENALTIES,
    Allocation.FEES,
    Allocation.INTEREST,
    Allocation.PRINCIPAL,
)
DEFAULT_BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 30), (31, 60), (61, 90), (91, 180), (181, None))


@dataclass(frozen=True)
class LoanProduct:
    code: str
    name: str
    frequency: Frequency
    installments: int
    annual_rate: Decimal  # nominal, in percent: Decimal("24") is 24 % a year
    interest_method: InterestMethod = InterestMethod.DECLINING_BALANCE
    amortization: Amortization = Amortization.EQUAL_INSTALLMENTS
    interest_period: InterestPeriod = InterestPeriod.SAME_AS_REPAYMENT
    principal_grace: int = 0  # periods with interest only
    interest_grace: int = 0  # periods where interest accrues and is paid with the first installment after
    installment_multiple: int = 1  # COP; installments rounded to a multiple of this
    currency: str = "COP"
    currency_digits: int = 0
    move_to_business_day: bool = False  # a due date on a Sunday or a Colombian holiday moves forward
    allocation: tuple[Allocation, ...] = DEFAULT_ALLOCATION
    arrears_grace_days: int = 0
    buckets: tuple[tuple[int, int | None], ...] = field(default=DEFAULT_BUCKETS)
    overpayment: str = "refuse"  # or "advance": keep the excess as an advance
