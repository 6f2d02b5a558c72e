"""The loan ledger's rules: allocation order, refusals that name the field and leave
nothing posted, prepayment modes, reschedule history, tranches, write-off, and
balances re-derived from the postings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from services.income.domain.loans.ledger import Loan, verify
from services.income.domain.loans.ledger_state import LoanStateError, LoanStatus, PostingKind, derive
from services.income.domain.loans.product import Allocation, Frequency, LoanInvalid, LoanProduct

D = Decimal
P, INT, F, PEN = Allocation.PRINCIPAL, Allocation.INTEREST, Allocation.FEES, Allocation.PENALTIES


def product(**values: object) -> LoanProduct:
    base: dict[str, object] = {
        "code": "MC",
        "name": "Microcrédito",
        "frequency": Frequency.MONTHLY,
        "installments": 3,
        "annual_rate": D(36),
    }
    return LoanProduct.checked(**{**base, **values})


def disbursed(**values: object) -> Loan:
    """300,000 at 3 % a month over 3: installments of 106,059 (9,000 + 97,059 first)."""
    return Loan("L-1", product(**values), D(300000)).disburse(D(300000), date(2026, 1, 10), by="ana")


def test_repayment_goes_penalties_fees_interest_principal_oldest_first() -> None:
    loan = (
        disbursed()
        .charge(PEN, D(2000), date(2026, 2, 15), installment=1)
        .charge(F, D(1000), date(2026, 2, 15), installment=1)
    )
    paid = loan.repay(D(12000), date(2026, 2, 16))
    assert paid.postings[-1].shares == ((1, PEN, D(2000)), (1, F, D(1000)), (1, INT, D(9000)))
    paid = paid.repay(D(100000), date(2026, 2, 17))
    # 97,059 finishes installment 1; the 2,941 left goes to installment 2's interest
    assert paid.postings[-1].shares == ((1, P, D(97059)), (2, INT, D(2941)))
    assert paid.state.installments[0].paid_off_on == date(2026, 2, 17)


def test_a_charge_goes_to_the_first_installment_due_on_or_after_its_date() -> None:
    loan = disbursed().charge(F, D(1000), date(2026, 2, 15))
    assert [i.due[F] for i in loan.state.installments] == [D(0), D(1000), D(0)]
    with pytest.raises(LoanInvalid) as caught:
        loan.charge(P, D(1000), date(2026, 2, 15))
    assert "component" in caught.value.fields


def test_a_charge_on_a_paid_installment_makes_it_owe_again() -> None:
    loan = disbursed().repay(D(106059), date(2026, 2, 10))
    assert loan.state.installments[0].paid_off_on == date(2026, 2, 10)
    charged = loan.charge(PEN, D(500), date(2026, 2, 11), installment=1)
    assert charged.state.installments[0].paid_off_on is None
    assert charged.state.unpaid_due_dates(date(2026, 2, 11)) == [date(2026, 2, 10)]
    assert charged.repay(D(500), date(2026, 2, 12)).state.installments[0].paid_off_on == date(2026, 2, 12)


def test_allocation_order_is_the_products() -> None:
    loan = disbursed(allocation=(P, INT, F, PEN)).repay(D(100000), date(2026, 2, 10))
    assert loan.postings[-1].shares == ((1, P, D(97059)), (1, INT, D(2941)))


def test_overpayment_is_refused_or_kept_as_an_advance() -> None:
    loan = disbursed()
    owed = loan.state.total_outstanding
    assert owed == D(300000 + 18177)
    with pytest.raises(LoanInvalid) as caught:
        loan.repay(owed + 1, date(2026, 2, 10))
    assert "amount" in caught.value.fields
    kept = disbursed(overpayment="advance").repay(owed + 500, date(2026, 2, 10))
    assert kept.state.advance == D(500)
    assert kept.state.status is LoanStatus.CLOSED


@pytest.mark.parametrize("amount", [D(0), D(-1), D("0.5"), D("Infinity")])
def test_bad_amounts_are_refused_and_nothing_is_posted(amount: Decimal) -> None:
    loan = disbursed()
    with pytest.raises(LoanInvalid) as caught:
        loan.repay(amount, date(2026, 2, 10))
    assert "amount" in caught.value.fields
    assert len(loan.postings) == 1


def test_closed_and_written_off_loans_take_no_posting() -> None:
    loan = disbursed()
    closed = loan.repay(loan.state.total_outstanding, date(2026, 2, 10))
    assert closed.state.status is LoanStatus.CLOSED
    with pytest.raises(LoanStateError) as caught:
        closed.repay(D(1000), date(2026, 2, 11))
    assert "loan_id" in caught.value.fields
    off = loan.write_off(date(2026, 6, 1), reason="Insolvencia", approved_by="coordinadora", by="ana")
    assert off.state.status is LoanStatus.WRITTEN_OFF
    assert off.postings[-1].amount == D(318177)
    assert off.state.total_outstanding == 0
    with pytest.raises(LoanStateError):
        off.repay(D(1000), date(2026, 6, 2))


def test_write_off_and_waiver_need_a_reason_and_another_approver() -> None:
    loan = disbursed()
    with pytest.raises(LoanInvalid) as caught:
        loan.write_off(date(2026, 6, 1), reason=" ", approved_by="ana", by="ana")
    assert set(caught.value.fields) == {"reason", "approved_by"}
    with pytest.raises(LoanInvalid) as caught:
        loan.waive(P, D(10), date(2026, 2, 1), reason="x", approved_by="luis", by="ana")
    assert "component" in caught.value.fields
    waived = loan.waive(INT, D(10000), date(2026, 2, 1), reason="Calamidad", approved_by="luis", by="ana")
    assert waived.postings[-1].shares == ((1, INT, D(9000)), (2, INT, D(1000)))
    assert waived.state.outstanding(INT) == D(18177 - 10000)


def test_back_dated_postings_are_refused() -> None:
    loan = disbursed().repay(D(1000), date(2026, 2, 10))
    with pytest.raises(LoanInvalid) as caught:
        loan.repay(D(1000), date(2026, 2, 9))
    assert "on" in caught.value.fields
    closed = loan.close_business(date(2026, 2, 28))
    with pytest.raises(LoanInvalid) as caught:
        closed.repay(D(1000), date(2026, 2, 28))
    assert "on" in caught.value.fields
    assert closed.repay(D(1000), date(2026, 3, 1)).state.last_posting_on == date(2026, 3, 1)


def test_prepayment_shortens_the_term_or_lowers_the_installment() -> None:
    base = Loan("L-2", product(installments=6, annual_rate=D(24)), D(600000)).disburse(D(600000), date(2026, 1, 10))
    emi = base.state.installment_amount
    shorter = base.prepay(D(300000), date(2026, 1, 20), mode="shorten")
    lower = base.prepay(D(300000), date(2026, 1, 20), mode="lower")
    assert len(shorter.state.installments) < 6
    assert all(i.due[P] + i.due[INT] == emi for i in shorter.state.installments[:-1])
    assert len(lower.state.installments) == 6
    assert lower.state.installment_amount < emi
    for loan in (shorter, lower):
        state = loan.state
        assert state.prepaid_principal == D(300000)
        assert sum(i.due[P] for i in state.installments) + state.prepaid_principal == D(600000)
        assert state.outstanding_principal == D(300000)
        # the same dates as before (the grid is kept)
        assert state.installments[0].due_date == date(2026, 2, 10)
        verify(loan)


def test_recomputed_installments_keep_the_grid_when_dates_moved_to_business_days() -> None:
    """Weekly from Sunday 4 Jan 2026 with dates moved off Sundays and holidays: a
    prepayment keeps the remaining dates (Mondays, Tuesday 13 Jan after Epiphany)
    instead of re-seeding the series from a moved date."""
    p = product(frequency=Frequency.WEEKLY, installments=6, annual_rate=D(24), move_to_business_day=True)
    loan = Loan("L-4", p, D(600000)).disburse(D(600000), date(2026, 1, 4))
    before = [i.due_date for i in loan.state.installments]
    assert before[0] == date(2026, 1, 13) and loan.state.installments[0].scheduled_on == date(2026, 1, 11)
    lower = loan.prepay(D(200000), date(2026, 1, 5), mode="lower")
    assert [i.due_date for i in lower.state.installments] == before


def test_prepayment_must_exceed_what_is_due() -> None:
    loan = disbursed()
    with pytest.raises(LoanInvalid) as caught:
        loan.prepay(D(106059), date(2026, 2, 12))  # only installment 1 is due
    assert "amount" in caught.value.fields
    with pytest.raises(LoanInvalid) as caught:
        loan.prepay(D(200000), date(2026, 2, 12), mode="sideways")
    assert "mode" in caught.value.fields


def test_reschedule_keeps_arrears_and_history() -> None:
    loan = disbursed()
    moved = loan.reschedule(date(2026, 2, 20), installments=6, reason="Pérdida de cosecha", by="ana")
    state = moved.state
    assert [i.number for i in state.installments] == list(range(1, 8))
    assert state.installments[0].total_outstanding == D(106059)  # still owed, still late
    assert sum(i.due[P] for i in state.installments) == D(300000)
    assert len(state.schedules) == 2
    assert state.schedules[0][1] == loan.state.schedules[0][1]
    assert moved.postings[-1].kind is PostingKind.RESCHEDULE
    with pytest.raises(LoanInvalid) as caught:
        loan.reschedule(date(2026, 2, 20), reason="")
    assert "reason" in caught.value.fields


def test_disbursement_in_tranches_up_to_the_approved_amount() -> None:
    loan = Loan("L-3", product(installments=4), D(1_000_000))
    with pytest.raises(LoanStateError):
        loan.repay(D(1000), date(2026, 1, 5))
    first = loan.disburse(D(600000), date(2026, 1, 10))
    second = first.disburse(D(400000), date(2026, 1, 25))
    state = second.state
    assert state.disbursed == D(1_000_000)
    assert sum(i.due[P] for i in state.installments) == D(1_000_000)
    assert [i.due_date for i in state.installments] == [i.due_date for i in first.state.installments]
    with pytest.raises(LoanInvalid) as caught:
        second.disburse(D(1), date(2026, 1, 26))
    assert "amount" in caught.value.fields


def test_balances_are_re_derived_from_the_postings() -> None:
    loan = disbursed().charge(F, D(3000), date(2026, 1, 20)).repay(D(50000), date(2026, 2, 10))
    assert derive(loan.product, loan.postings) == loan.state
    assert derive(loan.product, loan.postings) == derive(loan.product, list(loan.postings))
    verify(loan)
    tampered = replace(loan, postings=(*loan.postings[:-1], replace(loan.postings[-1], shares=((1, P, D(50000)),))))
    with pytest.raises(ValueError):
        verify(tampered)
    assert loan.state.total_outstanding == D(318177 + 3000 - 50000)


def test_postings_and_products_round_trip_through_plain_documents() -> None:
    import json

    from services.income.domain.loans.codec import posting_from_doc, posting_to_doc, product_from_doc, product_to_doc

    p = product(move_to_business_day=True, frequency=Frequency.WEEKLY, installments=6, annual_rate=D("24.5"))
    loan = (
        Loan("L-5", p, D(600000))
        .disburse(D(600000), date(2026, 1, 4))
        .charge(PEN, D(700), date(2026, 1, 14), installment=1)
        .repay(D(50000), date(2026, 1, 14))
        .prepay(D(300000), date(2026, 1, 15), mode="lower")
        .waive(INT, D(100), date(2026, 1, 16), reason="Calamidad", approved_by="luis", by="ana")
    )
    docs = json.loads(json.dumps([posting_to_doc(x) for x in loan.postings]))
    assert tuple(posting_from_doc(d) for d in docs) == loan.postings
    assert product_from_doc(json.loads(json.dumps(product_to_doc(p)))) == p
