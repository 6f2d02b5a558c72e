"""The loan ledger's records and the state derived from them.

A loan is its postings, in order; nothing else is stored. ``derive(product, postings)``
folds them into a ``LoanState`` (installments with what is due, paid, waived and
written off per component, outstanding balances, status); calling it again on the same
postings gives the same state (the balances are re-derivable), and
``ledger.verify`` re-runs each operation's allocation to show the stored ones agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from crm_platform import errors as vocabulary
from services.income.domain.errors import IncomeError
from services.income.domain.loans.product import Allocation, LoanProduct
from services.income.domain.loans.schedule import Schedule

ZERO = Decimal(0)
COMPONENTS: tuple[Allocation, ...] = (Allocation.PRINCIPAL, Allocation.INTEREST, Allocation.FEES, Allocation.PENALTIES)


class LoanStateError(IncomeError, vocabulary.FailedPrecondition):
    """The loan's state does not allow the posting (closed, written off, not disbursed)."""


class PostingKind(StrEnum):
    DISBURSEMENT = "desembolso"
    REPAYMENT = "pago"
    PREPAYMENT = "prepago"
    RESCHEDULE = "reprogramacion"
    CHARGE = "cargo"
    WAIVER = "condonacion"
    WRITE_OFF = "castigo"


class LoanStatus(StrEnum):
    APPROVED = "aprobado"  # nothing disbursed yet
    ACTIVE = "activo"
    CLOSED = "cerrado"  # everything paid
    WRITTEN_OFF = "castigado"


Share = tuple[int, Allocation, Decimal]  # (installment number, component, amount)


@dataclass(frozen=True)
class Posting:
    """One immutable ledger entry. ``shares`` is how a repayment, waiver or write-off
    was spread over the installments; ``schedule`` the installments a disbursement,
    prepayment or reschedule put in place of those not yet due."""

    seq: int
    kind: PostingKind
    on: date
    amount: Decimal
    by: str = ""
    shares: tuple[Share, ...] = ()
    advance: Decimal = ZERO  # part of a repayment kept as an advance
    prepaid_principal: Decimal = ZERO  # principal a prepayment paid ahead of the schedule
    schedule: Schedule | None = None
    keep_through: int = 0  # installments kept when ``schedule`` replaces the rest
    component: Allocation | None = None  # a charge's component (fees or penalties)
    installment: int = 0  # a charge's installment
    reason: str = ""
    approved_by: str = ""
    mode: str = ""  # a prepayment's: "shorten" (term) or "lower" (installment)


@dataclass(frozen=True)
class InstallmentState:
    number: int
    from_date: date
    due_date: date
    due: dict[Allocation, Decimal]
    paid: dict[Allocation, Decimal]
    waived: dict[Allocation, Decimal]
    written_off: dict[Allocation, Decimal]
    paid_off_on: date | None = None  # when nothing was left of it
    scheduled_on: date | None = None  # the due date before a move to a business day (None: not moved)

    @property
    def grid_date(self) -> date:
        """The date on the schedule's grid (before any move to a business day)."""
        return self.scheduled_on or self.due_date

    def outstanding(self, component: Allocation) -> Decimal:
        return self.due[component] - self.paid[component] - self.waived[component] - self.written_off[component]

    @property
    def total_outstanding(self) -> Decimal:
        return sum((self.outstanding(c) for c in COMPONENTS), ZERO)

    @property
    def touched(self) -> bool:
        return any(self.paid[c] or self.waived[c] or self.written_off[c] for c in COMPONENTS) or bool(
            self.due[Allocation.FEES] or self.due[Allocation.PENALTIES]
        )


@dataclass(frozen=True)
class LoanState:
    status: LoanStatus
    disbursed: Decimal
    installments: tuple[InstallmentState, ...]
    advance: Decimal
    prepaid_principal: Decimal
    last_posting_on: date | None
    installment_amount: Decimal
    schedules: tuple[tuple[date, Schedule], ...] = field(default=())  # every schedule put in place, in order

    def outstanding(self, component: Allocation) -> Decimal:
        return sum((i.outstanding(component) for i in self.installments), ZERO)

    @property
    def outstanding_principal(self) -> Decimal:
        return self.outstanding(Allocation.PRINCIPAL)

    @property
    def total_outstanding(self) -> Decimal:
        return sum((i.total_outstanding for i in self.installments), ZERO)

    def overdue(self, as_of: date) -> Decimal:
        """What was due on or before ``as_of`` and is still unpaid."""
        return sum((i.total_outstanding for i in self.installments if i.due_date <= as_of), ZERO)

    def due_to_date(self, as_of: date) -> Decimal:
        """Everything scheduled (and charged) due on or before ``as_of``."""
        return sum((sum(i.due.values(), ZERO) for i in self.installments if i.due_date <= as_of), ZERO)

    def unpaid_due_dates(self, as_of: date) -> list[date]:
        """Due dates on or before ``as_of`` of installments with something unpaid."""
        return [i.due_date for i in self.installments if i.due_date <= as_of and i.total_outstanding > 0]


class _Row:
    """A mutable installment while folding the postings."""

    __slots__ = (
        "due", "due_date", "from_date", "number", "paid", "paid_off_on", "scheduled_on", "waived", "written_off",
    )  # fmt: skip

    def __init__(
        self,
        number: int,
        from_date: date,
        due_date: date,
        principal: Decimal,
        interest: Decimal,
        scheduled_on: date | None,
    ) -> None:
        self.number, self.from_date, self.due_date, self.scheduled_on = number, from_date, due_date, scheduled_on
        self.due = {Allocation.PRINCIPAL: principal, Allocation.INTEREST: interest, Allocation.FEES: ZERO}
        self.due[Allocation.PENALTIES] = ZERO
        self.paid = dict.fromkeys(COMPONENTS, ZERO)
        self.waived = dict.fromkeys(COMPONENTS, ZERO)
        self.written_off = dict.fromkeys(COMPONENTS, ZERO)
        self.paid_off_on: date | None = None

    def left(self) -> Decimal:
        return sum((self.due[c] - self.paid[c] - self.waived[c] - self.written_off[c] for c in COMPONENTS), ZERO)

    def freeze(self) -> InstallmentState:
        return InstallmentState(
            self.number,
            self.from_date,
            self.due_date,
            dict(self.due),
            dict(self.paid),
            dict(self.waived),
            dict(self.written_off),
            self.paid_off_on,
            self.scheduled_on,
        )


def derive(product: LoanProduct, postings: Iterable[Posting]) -> LoanState:
    """The loan's state after ``postings`` (a pure fold: same postings, same state)."""
    rows: list[_Row] = []
    disbursed = advance = prepaid = emi = ZERO
    last: date | None = None
    written_off = False
    schedules: list[tuple[date, Schedule]] = []
    for p in postings:
        last = p.on
        if p.kind is PostingKind.DISBURSEMENT:
            disbursed += p.amount
        if p.schedule is not None:
            del rows[p.keep_through :]
            for i in p.schedule.installments:
                number = p.keep_through + i.number
                rows.append(_Row(number, i.from_date, i.due_date, i.principal, i.interest, i.scheduled_on))
            emi = p.schedule.installment_amount
            schedules.append((p.on, p.schedule))
        if p.kind is PostingKind.CHARGE and p.component is not None:
            charged = rows[p.installment - 1]
            charged.due[p.component] += p.amount
            charged.paid_off_on = None  # owes again
        book = {
            PostingKind.WAIVER: "waived",
            PostingKind.WRITE_OFF: "written_off",
        }.get(p.kind, "paid")
        for number, component, amount in p.shares:
            row = rows[number - 1]
            getattr(row, book)[component] += amount
            if row.paid_off_on is None and row.left() == 0:
                row.paid_off_on = p.on
        advance += p.advance
        prepaid += p.prepaid_principal
        written_off = written_off or p.kind is PostingKind.WRITE_OFF
    frozen = tuple(r.freeze() for r in rows)
    left = sum((r.left() for r in rows), ZERO)
    if written_off:
        status = LoanStatus.WRITTEN_OFF
    elif disbursed == 0:
        status = LoanStatus.APPROVED
    elif left == 0:
        status = LoanStatus.CLOSED
    else:
        status = LoanStatus.ACTIVE
    return LoanState(status, disbursed, frozen, advance, prepaid, last, emi, tuple(schedules))
