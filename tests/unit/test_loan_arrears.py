"""Days past due, arrears grace, delinquency buckets and pausing the clock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.income.domain.loans.arrears import (
    Pause,
    arrears,
    bucket_index,
    bucket_label,
    check_pauses,
    days_past_due,
    pause,
    paused_days,
    resume,
)
from services.income.domain.loans.ledger import Loan
from services.income.domain.loans.product import DEFAULT_BUCKETS, Frequency, LoanInvalid, LoanProduct


def product(**values: object) -> LoanProduct:
    base: dict[str, object] = {
        "code": "MC",
        "name": "Microcrédito",
        "frequency": Frequency.MONTHLY,
        "installments": 3,
        "annual_rate": Decimal(36),
    }
    return LoanProduct.checked(**{**base, **values})


def test_days_past_due_count_from_the_oldest_unpaid_due_date() -> None:
    dues = [date(2026, 3, 10), date(2026, 2, 10)]
    assert days_past_due(dues, date(2026, 2, 10)) == 0  # due today is not late
    assert days_past_due(dues, date(2026, 2, 11)) == 1
    assert days_past_due(dues, date(2026, 3, 12)) == 30
    assert days_past_due([], date(2026, 3, 12)) == 0


@pytest.mark.parametrize(
    ("days", "label"),
    [(0, None), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"),
     (91, "91-180"), (180, "91-180"), (181, "181+"), (5000, "181+")],
)  # fmt: skip
def test_default_buckets_at_their_edges(days: int, label: str | None) -> None:
    index = bucket_index(days, DEFAULT_BUCKETS)
    assert (None if index is None else bucket_label(DEFAULT_BUCKETS[index])) == label


def test_arrears_grace_delays_the_ageing_and_custom_buckets_apply() -> None:
    p = product(arrears_grace_days=5, buckets=((1, 7), (8, None)))
    found = arrears(p, [date(2026, 2, 10)], date(2026, 2, 14))
    assert (found.days_past_due, found.aged_days, found.bucket, found.overdue) == (4, 0, None, False)
    found = arrears(p, [date(2026, 2, 10)], date(2026, 2, 20))
    assert (found.days_past_due, found.aged_days, found.bucket) == (10, 5, "1-7")
    assert arrears(p, [date(2026, 2, 10)], date(2026, 3, 1)).bucket == "8+"


def test_paused_days_do_not_count() -> None:
    pauses = pause((), date(2026, 2, 15))
    assert days_past_due([date(2026, 2, 10)], date(2026, 2, 20), pauses) == 4  # clock stopped on the 15th
    pauses = resume(pauses, date(2026, 2, 25))
    assert pauses == (Pause(date(2026, 2, 15), date(2026, 2, 25)),)
    assert paused_days(pauses, date(2026, 2, 10), date(2026, 3, 2)) == 10
    assert days_past_due([date(2026, 2, 10)], date(2026, 3, 2), pauses) == 20 - 10
    # a pause before the installment was due does not reduce its lateness
    assert days_past_due([date(2026, 3, 10)], date(2026, 3, 20), pauses) == 10


def test_pause_rules() -> None:
    open_ = pause((), date(2026, 2, 15))
    with pytest.raises(LoanInvalid):
        pause(open_, date(2026, 2, 16))
    with pytest.raises(LoanInvalid):
        resume((), date(2026, 2, 16))
    with pytest.raises(LoanInvalid):
        resume(open_, date(2026, 2, 15))
    with pytest.raises(LoanInvalid):
        check_pauses([Pause(date(2026, 1, 1), date(2026, 1, 10)), Pause(date(2026, 1, 5), date(2026, 1, 20))])
    check_pauses([Pause(date(2026, 1, 1), date(2026, 1, 10)), Pause(date(2026, 1, 10))])


def test_arrears_of_a_ledger_loan() -> None:
    loan = Loan("L", product(), Decimal(300000)).disburse(Decimal(300000), date(2026, 1, 10))
    loan = loan.repay(Decimal(106059), date(2026, 2, 10))  # installment 1 on time
    as_of = date(2026, 4, 20)
    found = arrears(loan.product, loan.state.unpaid_due_dates(as_of), as_of)
    assert found.oldest_unpaid_due == date(2026, 3, 10)
    assert (found.days_past_due, found.bucket) == (41, "31-60")
