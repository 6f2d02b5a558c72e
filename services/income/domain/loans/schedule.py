"""The repayment schedule of a loan, with Apache Fineract's semantics.

``generate(product, principal, disbursed_on, first_due_on=None) -> Schedule``.

What is followed, from Apache Fineract's source (fineract-loan,
``org.apache.fineract.portfolio.loanaccount.loanschedule.domain``):

- ``LoanApplicationTerms.periodicInterestRate``: with the interest calculated "same as
  repayment period", rate = annual % / periods of the frequency type in a year (12
  months, 52 weeks) / 100 * ``repaymentEvery`` (2 for biweekly), each division in a
  12-digit HALF_EVEN ``MathContext`` (``MoneyHelper``). With "daily", rate = annual % /
  365 / 100 * the actual days of the period (days in year 365, days in month actual).
- ``pmtForInstallment`` / ``paymentPerPeriod``: the equal installment is the annuity
  (``FinanicalFunctions.pmt``, in double precision as there) of the principal over the
  installments left after the principal grace, with the rate above for a whole
  period (for "daily", a 30-day month or a 7/14-day week, as ``DAYS_30`` there), then
  ``Money.roundToMultiplesOf`` (nearest multiple, HALF_EVEN) when "installment amount
  in multiples of" is above 1 (a multiple of 1 means: the currency's rounding only),
  then the currency's digits HALF_EVEN. It is computed once, for period 1.
- ``CumulativeDecliningBalanceInterestLoanScheduleGenerator``: interest = outstanding *
  periodic rate, rounded HALF_EVEN to the currency (``multiplyRetainScale``);
  principal = installment - this period's interest (the interest brought forward from
  an interest-payment grace is added on top, it does not reduce the principal); no
  principal in principal-grace periods; equal principal = principal / (installments -
  grace), rounded HALF_EVEN (``calculateEqualPrincipalDueForInstallment``).
- ``calculateTotalInterestForPeriod``: ``graceOnInterestPayment`` (our
  ``interest_grace``): the period's interest is computed but not due; it is carried and
  added to the first installment with interest after the grace. ``graceOnInterestCharged``
  (our ``interest_free_grace``): no interest at all for those periods.
- ``adjustPrincipalIfLastRepaymentPeriod``: a period whose principal would overpay the
  loan pays only what remains (and the schedule ends there, as the generator's loop
  runs "while the outstanding balance is not zero"); the last installment takes
  whatever balance remains.
- Flat (``CumulativeFlatInterestLoanScheduleGenerator``): total interest = principal *
  rate for the whole term (periods * periodic rate, or days * daily rate); per
  installment = total / installments; for equal installments the interest of grace
  periods is averaged over the installments with interest, for equal principal it is
  carried to the first installment after the grace; principal = principal /
  (installments - grace); with a multiple above 1 the principal and interest are
  rounded so each installment is a multiple; the last installment's interest and
  principal take the remainders (``adjustInterestIfLastRepaymentPeriod``).

Due dates (see ``dates``): Fineract computes each period's interest between the moved
(business-day) dates, so with "daily" a moved date changes the interest of the two
periods around it; with "same as repayment period" the periodic rate is fixed and a
move changes no amount (Fineract's default: no partial-period interest).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal

from services.income.domain.loans.dates import due_dates, next_business_day
from services.income.domain.loans.product import (
    Amortization,
    Frequency,
    InterestMethod,
    InterestPeriod,
    LoanInvalid,
    LoanProduct,
)

MC = Context(prec=12, rounding=ROUND_HALF_EVEN)  # Fineract's MoneyHelper.getMathContext()
MAX_PRINCIPAL = Decimal(10) ** 12
MAX_OPEN_ENDED = 360  # installments a fixed-installment schedule may run to
ZERO = Decimal(0)


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
    scheduled_on: date | None = None  # the date before a move to a business day (None: not moved)

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees + self.penalties


@dataclass(frozen=True)
class Schedule:
    principal: Decimal
    disbursed_on: date
    installments: tuple[Installment, ...]
    installment_amount: Decimal = Decimal(0)  # the equal installment (0 for equal principal and flat)

    @property
    def total_interest(self) -> Decimal:
        return sum((i.interest for i in self.installments), Decimal(0))

    @property
    def total_principal(self) -> Decimal:
        return sum((i.principal for i in self.installments), Decimal(0))

    @property
    def maturity(self) -> date:
        return self.installments[-1].due_date


def money(product: LoanProduct, amount: Decimal) -> Decimal:
    """``amount`` as Fineract's ``Money.of``: with a currency multiple (0 digits only)
    a positive amount goes to the nearest multiple, a tie upwards (the double
    ``roundToMultiplesOf``); then the currency's digits, HALF_EVEN."""
    multiple = product.currency_multiple
    if multiple > 1 and product.currency_digits == 0 and amount > 0:
        low = (amount / multiple).to_integral_value(rounding=ROUND_FLOOR) * multiple
        high = (amount / multiple).to_integral_value(rounding=ROUND_CEILING) * multiple
        amount = low if high - amount > amount - low else high
    return amount.quantize(Decimal(1).scaleb(-product.currency_digits), rounding=ROUND_HALF_EVEN)


def round_to_multiple(amount: Decimal, multiple: int) -> Decimal:
    """Fineract's ``Money.roundToMultiplesOf``: the nearest multiple, ties to even quotient."""
    if multiple <= 1:
        return amount
    quotient = (amount / multiple).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return quotient * multiple


def _one_period_rate(product: LoanProduct) -> Decimal:
    base = MC.divide(MC.divide(product.annual_rate, Decimal(product.fineract_periods_per_year)), Decimal(100))
    return base * product.repayment_every


def _daily_rate(product: LoanProduct) -> Decimal:
    return MC.divide(MC.divide(product.annual_rate, Decimal(365)), Decimal(100))


def periodic_rate(product: LoanProduct, start: date, end: date) -> Decimal:
    """The interest rate (a fraction) of the period from ``start`` to ``end``."""
    if product.interest_period is InterestPeriod.DAILY:
        return MC.multiply(_daily_rate(product), Decimal((end - start).days))
    return _one_period_rate(product)


def pmt_rate(product: LoanProduct) -> Decimal:
    """The rate of one whole period for the annuity (``periodicInterestRate(..., isForPMT)``)."""
    if product.interest_period is InterestPeriod.DAILY:
        days = 30 * product.repayment_every if product.frequency is Frequency.MONTHLY else 7 * product.repayment_every
        return MC.multiply(_daily_rate(product), Decimal(days))
    return _one_period_rate(product)


def fineract_pmt(rate: Decimal, periods: int, principal: Decimal) -> Decimal:
    """``FinanicalFunctions.pmt`` in double precision, read back as ``BigDecimal.valueOf``."""
    r = float(rate)
    pv = -float(principal)
    if r == 0:
        payment = -pv / periods
    else:
        r1 = r + 1
        payment = (pv * r1**periods) * r / (1 - r1**periods)
    return Decimal(repr(payment))


def equal_installment(product: LoanProduct, principal: Decimal, installments: int | None = None) -> Decimal:
    """The fixed installment of a declining-balance, equal-installment loan."""
    count = (installments or product.installments) - product.principal_grace
    emi = round_to_multiple(fineract_pmt(pmt_rate(product), count, principal), product.installment_multiple)
    return money(product, emi)


def _check_inputs(product: LoanProduct, principal: object, disbursed_on: date, first_due_on: date | None) -> None:
    problems: dict[str, str] = {}
    if not isinstance(principal, Decimal) or not principal.is_finite() or not ZERO < principal <= MAX_PRINCIPAL:
        problems["principal"] = "El monto debe ser mayor que cero"
    elif money(product, principal) != principal:
        problems["principal"] = f"El monto admite {product.currency_digits} decimales"
    if first_due_on is not None and first_due_on <= disbursed_on:
        problems["first_due_on"] = "La primera cuota debe vencer después del desembolso"
    if problems:
        raise LoanInvalid(problems)


def generate(
    product: LoanProduct,
    principal: Decimal,
    disbursed_on: date,
    first_due_on: date | None = None,
    *,
    installments: int | None = None,
    fixed_installment: Decimal | None = None,
) -> Schedule:
    """The schedule of ``principal`` disbursed on ``disbursed_on`` (see the module's
    docstring for the rules). ``installments`` overrides the product's count (a
    reschedule or a prepayment that lowers the installment keeps the count left);
    ``fixed_installment`` replaces the annuity (a prepayment that shortens the term
    keeps the installment, and the schedule ends when the balance is paid).
    ``LoanInvalid`` names ``principal``, ``first_due_on`` or ``installment_multiple``
    when the loan cannot amortize."""
    _check_inputs(product, principal, disbursed_on, first_due_on)
    count = installments or product.installments
    if fixed_installment is not None:
        count = MAX_OPEN_ENDED  # ends when the balance is paid
    if count <= product.principal_grace:
        raise LoanInvalid({"installments": "Quedan menos cuotas que periodos de gracia"})
    plain = due_dates(product.frequency, count, disbursed_on, first_due_on, False)
    dates = [next_business_day(d) for d in plain] if product.move_to_business_day else plain
    if product.interest_method is InterestMethod.FLAT:
        rows = _flat(product, principal, disbursed_on, dates)
        emi = ZERO
    else:
        if product.amortization is Amortization.EQUAL_INSTALLMENTS:
            emi = fixed_installment if fixed_installment is not None else equal_installment(product, principal, count)
        else:
            emi = ZERO
        rows = _declining(product, principal, disbursed_on, dates, emi, open_ended=fixed_installment is not None)
    if product.move_to_business_day:
        rows = [replace(r, scheduled_on=plain[r.number - 1]) if plain[r.number - 1] != r.due_date else r for r in rows]
    return Schedule(principal, disbursed_on, tuple(rows), emi)


def _declining(
    product: LoanProduct, principal: Decimal, disbursed_on: date, dates: list[date], emi: Decimal, *, open_ended: bool
) -> list[Installment]:
    n = len(dates)
    grace = product.principal_grace
    equal_principal = product.amortization is Amortization.EQUAL_PRINCIPAL
    fixed_principal = money(product, principal / (n - grace)) if equal_principal else ZERO
    if not equal_principal and emi <= 0:
        raise LoanInvalid({"installment_multiple": "La cuota redondeada al múltiplo queda en cero: no amortiza"})
    balance, brought, paid = principal, ZERO, ZERO
    rows: list[Installment] = []
    start = disbursed_on
    for k, end in enumerate(dates, start=1):
        before = money(product, balance * periodic_rate(product, start, end))
        free = k <= product.interest_free_grace
        after = ZERO if free or k <= product.interest_grace else before
        brought_in = brought
        if after > 0:
            interest, brought = brought + after, ZERO
        elif free:
            interest = ZERO
        else:
            interest, brought = ZERO, brought + before
        own_interest = interest - brought_in if interest > 0 else brought - brought_in
        if k <= grace:
            part = ZERO
        elif equal_principal:
            part = fixed_principal
        else:
            part = emi - own_interest
            if part < 0 and not open_ended:
                raise LoanInvalid(
                    {"installment_multiple": "La cuota no alcanza a cubrir el interés: el crédito no amortiza"}
                )
            if part < 0:
                raise LoanInvalid({"installment": "La cuota no alcanza a cubrir el interés"})
        part = _adjust_principal(part, principal, paid, last=(k == n and not open_ended))
        paid += part
        balance -= part
        rows.append(Installment(k, start, end, part, interest, balance_after=balance))
        start = end
        if balance == 0:
            break
    if balance != 0:
        raise LoanInvalid({"installment": "La cuota no alcanza para pagar el crédito en el plazo máximo"})
    return rows


def _adjust_principal(part: Decimal, principal: Decimal, paid_before: Decimal, *, last: bool) -> Decimal:
    """``adjustPrincipalIfLastRepaymentPeriod``: never overpay; the last takes the rest."""
    remaining = principal - (paid_before + part)
    if remaining < 0 or last:
        return part + remaining
    return part


def _flat(product: LoanProduct, principal: Decimal, disbursed_on: date, dates: list[date]) -> list[Installment]:
    n = len(dates)
    grace, pay_grace, free_grace = product.principal_grace, product.interest_grace, product.interest_free_grace
    if product.interest_period is InterestPeriod.DAILY:
        term_rate = _daily_rate(product) * (dates[-1] - disbursed_on).days
    else:
        term_rate = _one_period_rate(product) * n
    total_flat = money(product, principal * term_rate)
    per_installment = money(product, total_flat / n)
    # Never below zero: with a currency multiple the per-installment share rounds up,
    # and the free periods' share can then exceed a small flat total.
    total_due = max(ZERO, money(product, total_flat - per_installment * free_grace))
    interest_periods = n - pay_grace - free_grace
    per_principal = money(product, principal / (n - grace))
    multiple = product.installment_multiple
    rows: list[Installment] = []
    balance, paid, charged, brought = principal, ZERO, ZERO, ZERO
    start = disbursed_on
    for k, end in enumerate(dates, start=1):
        if product.amortization is Amortization.EQUAL_INSTALLMENTS:
            in_grace = k <= pay_grace or k <= free_grace
            interest = ZERO if in_grace or interest_periods <= 0 else money(product, total_due / interest_periods)
        elif k <= pay_grace:
            interest, brought = ZERO, brought + per_installment
        elif k <= free_grace:
            interest = ZERO
        elif k == pay_grace + 1:
            interest, brought = brought + per_installment, ZERO
        else:
            interest = per_installment
        left = total_due - (charged + interest)
        if left < 0 or k == n:
            interest += left
        part = ZERO if k <= grace else per_principal
        if multiple > 1 and k > grace:
            part = round_to_multiple(per_principal, multiple) + round_to_multiple(interest, multiple) - interest
        part = _adjust_principal(part, principal, paid, last=(k == n))
        charged += interest
        paid += part
        balance -= part
        rows.append(Installment(k, start, end, part, interest, balance_after=balance))
        start = end
        if balance == 0 and charged == total_due:
            break
    return rows
