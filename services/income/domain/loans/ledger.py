"""The loan ledger: every posting an immutable entry, balances derived from them.

``Loan`` is a frozen value; each operation checks everything first and returns a new
``Loan`` with one more posting, or raises (``LoanInvalid`` naming the field,
``LoanStateError`` for a closed or written-off loan): nothing is ever half-posted.

Rules (documented policies):
- Amounts are positive and at the currency's digits (``amount``).
- Dates: a posting may not be dated before the loan's latest posting nor on or before
  the last close of business (``closed_through``): the ledger refuses back-dated
  postings instead of reprocessing them (``on``). A correction is a new posting.
- Repayment: spread over the installments oldest first, and within each in the
  product's allocation order (penalties, fees, interest, principal by default), as
  Fineract's default repayment strategy. Installments not yet due are paid in advance
  once the overdue ones are paid. More than everything owed is refused, or with
  ``product.overpayment == "advance"`` the excess is kept as an advance.
- Prepayment: pays every kept installment (those due by the date, or already touched
  by a payment or a charge), then the rest goes to the principal not yet due and the
  remaining installments are recomputed from the start of the current period:
  ``"shorten"`` keeps the installment and ends sooner, ``"lower"`` keeps the number of
  installments and lowers it.
- Reschedule: a new schedule, from a date, for the principal not yet due; installments
  already due keep what they owe (arrears stay visible); the old schedules stay in
  ``state.schedules``.
- Disbursement in tranches up to the approved principal: the first builds the schedule;
  each later one adds to the principal not yet due and recomputes the installments
  left, keeping their dates.
- Charges (fees, penalties) go to an installment; waivers and the write-off need a
  reason and an approver other than the person posting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cached_property

from services.income.domain.loans.ledger_state import (
    COMPONENTS,
    ZERO,
    InstallmentState,
    LoanState,
    LoanStateError,
    LoanStatus,
    Posting,
    PostingKind,
    Share,
    derive,
)
from services.income.domain.loans.product import Allocation, Amortization, InterestMethod, LoanInvalid, LoanProduct
from services.income.domain.loans.schedule import Schedule, generate, money

PREPAYMENT_MODES = ("shorten", "lower")


def allocate(
    installments: tuple[InstallmentState, ...] | list[InstallmentState],
    amount: Decimal,
    order: tuple[Allocation, ...],
) -> tuple[tuple[Share, ...], Decimal]:
    """``amount`` spread over ``installments`` oldest first, each in ``order``; returns
    the shares and what is left over."""
    left = amount
    shares: list[Share] = []
    for row in installments:
        for component in order:
            if left <= 0:
                return tuple(shares), left
            owed = row.outstanding(component)
            if owed > 0:
                part = min(owed, left)
                shares.append((row.number, component, part))
                left -= part
    return tuple(shares), left


@dataclass(frozen=True)
class Loan:
    loan_id: str
    product: LoanProduct
    approved_principal: Decimal
    postings: tuple[Posting, ...] = ()
    closed_through: date | None = None  # the last close of business applied to this loan

    @cached_property
    def state(self) -> LoanState:
        return derive(self.product, self.postings)

    # -- checks ---------------------------------------------------------------------

    def _check(self, on: date, amount: Decimal | None = None, *, needs_disbursed: bool = True) -> LoanState:
        state = self.state
        if state.status in (LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF):
            label = "cerrado" if state.status is LoanStatus.CLOSED else "castigado"
            raise LoanStateError(f"El crédito está {label}", fields={"loan_id": f"El crédito está {label}"})
        if needs_disbursed and state.status is LoanStatus.APPROVED:
            raise LoanStateError("El crédito no ha sido desembolsado", fields={"loan_id": "Aún no hay desembolso"})
        problems: dict[str, str] = {}
        if state.last_posting_on is not None and on < state.last_posting_on:
            problems["on"] = f"La fecha es anterior al último movimiento ({state.last_posting_on:%d/%m/%Y})"
        elif self.closed_through is not None and on <= self.closed_through:
            problems["on"] = f"La fecha ya está cerrada (cierre del {self.closed_through:%d/%m/%Y})"
        if amount is not None:
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
                problems["amount"] = "El valor debe ser mayor que cero"
            elif money(self.product, amount) != amount:
                problems["amount"] = f"El valor admite {self.product.currency_digits} decimales"
        if problems:
            raise LoanInvalid(problems)
        return state

    def _post(self, posting: Posting) -> Loan:
        return replace(self, postings=(*self.postings, replace(posting, seq=len(self.postings) + 1)))

    def close_business(self, through: date) -> Loan:
        """The close of business ran through ``through``: postings on or before it are refused."""
        if self.closed_through is not None and through < self.closed_through:
            raise LoanInvalid({"through": "El cierre no puede retroceder"})
        return replace(self, closed_through=through)

    # -- disbursement and schedules --------------------------------------------------

    def disburse(self, amount: Decimal, on: date, *, first_due_on: date | None = None, by: str = "") -> Loan:
        """Disburse ``amount`` (the whole principal or a tranche) on ``on``."""
        state = self._check(on, amount, needs_disbursed=False)
        if state.disbursed + amount > self.approved_principal:
            left = self.approved_principal - state.disbursed
            raise LoanInvalid({"amount": f"El desembolso supera el monto aprobado (queda {left})"})
        if state.status is LoanStatus.APPROVED:
            schedule = generate(self.product, amount, on, first_due_on)
            return self._post(Posting(0, PostingKind.DISBURSEMENT, on, amount, by=by, schedule=schedule))
        keep = _kept(state, on)
        if keep >= len(state.installments):
            raise LoanInvalid({"on": "No quedan cuotas por vencer para este desembolso"})
        principal = _not_due_principal(state, keep) + amount
        schedule = self._rest(state, keep, principal, installments=len(state.installments) - keep)
        posting = Posting(0, PostingKind.DISBURSEMENT, on, amount, by=by, schedule=schedule, keep_through=keep)
        return self._post(posting)

    def _rest(
        self, state: LoanState, keep: int, principal: Decimal, *, installments: int, fixed: Decimal | None = None
    ) -> Schedule:
        """A schedule for ``principal`` in place of the installments after ``keep``,
        from the last kept due date (or the first disbursement) on the same dates."""
        start = state.installments[keep - 1].due_date if keep else state.schedules[0][1].disbursed_on
        first_due = state.installments[keep].grid_date if keep < len(state.installments) else None
        if principal == 0:
            return Schedule(ZERO, start, ())
        product = replace(
            self.product,
            principal_grace=max(0, self.product.principal_grace - keep),
            interest_grace=max(0, self.product.interest_grace - keep),
            interest_free_grace=max(0, self.product.interest_free_grace - keep),
            move_to_business_day=self.product.move_to_business_day,
        )
        return generate(product, principal, start, first_due, installments=installments, fixed_installment=fixed)

    def reschedule(
        self, on: date, *, installments: int | None = None, first_due_on: date | None = None, reason: str, by: str = ""
    ) -> Loan:
        """Reschedule from ``on`` the principal not yet due over ``installments`` (the
        number left by default), the first due on ``first_due_on`` (one period after
        ``on`` by default)."""
        state = self._check(on)
        if not reason.strip():
            raise LoanInvalid({"reason": "Escriba el motivo de la reprogramación"})
        keep = _kept(state, on)
        count = installments if installments is not None else len(state.installments) - keep
        if not 1 <= count <= 360:
            raise LoanInvalid({"installments": "El número de cuotas debe estar entre 1 y 360"})
        principal = _not_due_principal(state, keep)
        if principal == 0:
            raise LoanInvalid({"on": "No queda capital por vencer que reprogramar"})
        product = replace(self.product, principal_grace=0, interest_grace=0, interest_free_grace=0)
        schedule = generate(product, principal, on, first_due_on, installments=count)
        return self._post(
            Posting(
                0, PostingKind.RESCHEDULE, on, principal, by=by, schedule=schedule, keep_through=keep, reason=reason
            )
        )

    # -- money in ----------------------------------------------------------------------

    def repay(self, amount: Decimal, on: date, *, by: str = "") -> Loan:
        """A repayment spread in the product's allocation order, oldest installment first."""
        state = self._check(on, amount)
        owed = state.total_outstanding
        advance = ZERO
        if amount > owed:
            if self.product.overpayment != "advance":
                raise LoanInvalid({"amount": f"El pago supera lo adeudado ({owed})"})
            advance = amount - owed
        shares, _ = allocate(state.installments, amount - advance, self.product.allocation)
        return self._post(Posting(0, PostingKind.REPAYMENT, on, amount, by=by, shares=shares, advance=advance))

    def prepay(self, amount: Decimal, on: date, *, mode: str = "shorten", by: str = "") -> Loan:
        """Pay what is due and put the rest on the principal; ``mode`` "shorten" (keep
        the installment, fewer of them) or "lower" (keep the count, a lower installment)."""
        state = self._check(on, amount)
        if mode not in PREPAYMENT_MODES:
            raise LoanInvalid({"mode": "El prepago reduce el plazo (shorten) o la cuota (lower)"})
        keep = _kept(state, on)
        kept_owed = sum((i.total_outstanding for i in state.installments[:keep]), ZERO)
        not_due = _not_due_principal(state, keep)
        if amount <= kept_owed:
            raise LoanInvalid({"amount": f"El prepago debe superar lo exigible ({kept_owed}); registre un pago"})
        advance = ZERO
        if amount > kept_owed + not_due:
            if self.product.overpayment != "advance":
                raise LoanInvalid({"amount": f"El prepago supera lo adeudado ({kept_owed + not_due})"})
            advance = amount - kept_owed - not_due
        shares, extra = allocate(state.installments[:keep], amount - advance, self.product.allocation)
        remaining = not_due - extra
        left_count = len(state.installments) - keep
        fixed: Decimal | None = None
        count = left_count
        if mode == "shorten" and remaining > 0:
            declining = self.product.interest_method is InterestMethod.DECLINING_BALANCE
            if declining and self.product.amortization is Amortization.EQUAL_INSTALLMENTS:
                fixed = state.installment_amount
            else:
                per = state.installments[keep].due[Allocation.PRINCIPAL] or not_due / left_count
                count = max(1, min(left_count, math.ceil(remaining / per)))
        schedule = self._rest(state, keep, remaining, installments=count, fixed=fixed)
        posting = Posting(
            0, PostingKind.PREPAYMENT, on, amount, by=by, shares=shares, advance=advance,
            prepaid_principal=extra, schedule=schedule, keep_through=keep, mode=mode,
        )  # fmt: skip
        return self._post(posting)

    # -- charges, waivers, write-off --------------------------------------------------

    def charge(
        self, component: Allocation, amount: Decimal, on: date, *, installment: int | None = None, by: str = ""
    ) -> Loan:
        """A fee or penalty due with ``installment`` (by default the first due on or after ``on``)."""
        state = self._check(on, amount)
        if component not in (Allocation.FEES, Allocation.PENALTIES):
            raise LoanInvalid({"component": "Solo se cargan cargos o penalidades"})
        rows = state.installments
        number = installment or next((i.number for i in rows if i.due_date >= on), rows[-1].number if rows else 0)
        if not 1 <= number <= len(rows):
            raise LoanInvalid({"installment": "La cuota no existe"})
        posting = Posting(0, PostingKind.CHARGE, on, amount, by=by, component=component, installment=number)
        return self._post(posting)

    def waive(
        self, component: Allocation, amount: Decimal, on: date, *, reason: str, approved_by: str, by: str
    ) -> Loan:
        """Waive interest, fees or penalties, oldest installment first."""
        state = self._check(on, amount)
        _approval(reason, approved_by, by)
        if component is Allocation.PRINCIPAL:
            raise LoanInvalid({"component": "El capital no se condona: use el castigo"})
        owed = state.outstanding(component)
        if amount > owed:
            raise LoanInvalid({"amount": f"La condonación supera lo adeudado ({owed})"})
        shares, _ = allocate(state.installments, amount, (component,))
        posting = Posting(
            0, PostingKind.WAIVER, on, amount, by=by, shares=shares, reason=reason, approved_by=approved_by
        )
        return self._post(posting)

    def write_off(self, on: date, *, reason: str, approved_by: str, by: str) -> Loan:
        """Write off everything outstanding; the loan accepts no posting after it."""
        state = self._check(on)
        _approval(reason, approved_by, by)
        shares, _ = allocate(state.installments, state.total_outstanding, COMPONENTS)
        posting = Posting(
            0, PostingKind.WRITE_OFF, on, state.total_outstanding, by=by, shares=shares, reason=reason,
            approved_by=approved_by,
        )  # fmt: skip
        return self._post(posting)


def _approval(reason: str, approved_by: str, by: str) -> None:
    problems: dict[str, str] = {}
    if not reason.strip():
        problems["reason"] = "Escriba el motivo"
    if not approved_by.strip():
        problems["approved_by"] = "Falta quien aprueba"
    elif approved_by == by:
        problems["approved_by"] = "Quien aprueba debe ser otra persona"
    if problems:
        raise LoanInvalid(problems)


def _kept(state: LoanState, on: date) -> int:
    """How many installments stay as they are when the rest is recomputed on ``on``:
    those due on or before it and any touched by a payment or a charge."""
    keep = 0
    for index, row in enumerate(state.installments, start=1):
        if row.due_date <= on or row.touched:
            keep = index
    return keep


def _not_due_principal(state: LoanState, keep: int) -> Decimal:
    return sum((i.outstanding(Allocation.PRINCIPAL) for i in state.installments[keep:]), ZERO)


def verify(loan: Loan) -> None:
    """Re-run every repayment, waiver and write-off on the state before it and check
    the stored shares agree (the ledger is re-derivable); ``ValueError`` otherwise."""
    for index, posting in enumerate(loan.postings):
        before = derive(loan.product, loan.postings[:index])
        if posting.kind is PostingKind.REPAYMENT:
            expected, _ = allocate(before.installments, posting.amount - posting.advance, loan.product.allocation)
        elif posting.kind is PostingKind.WAIVER and posting.shares:
            expected, _ = allocate(before.installments, posting.amount, (posting.shares[0][1],))
        elif posting.kind is PostingKind.WRITE_OFF:
            expected, _ = allocate(before.installments, before.total_outstanding, COMPONENTS)
        else:
            continue
        if expected != posting.shares:
            raise ValueError(f"posting {posting.seq} does not re-derive")
