"""The loans' stored format: the ledger survives the JSON book unchanged, and the
close of business' one-pass ageing from the summary fields agrees with the domain's
arrears and indicator row computed from the full ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.income.domain.loans.arrears import Pause, arrears
from services.income.domain.loans.ledger import Loan
from services.income.domain.loans.portfolio import loan_row
from services.income.domain.loans.product import parse_product
from services.income.service_layer.loan_ageing import Terms, age
from services.income.service_layer.loan_codec import (
    book_json,
    loan_of,
    pauses_doc,
    postings_of,
    product_doc,
    product_of,
    summary,
)

PRODUCT = parse_product(
    {"code": "m6", "name": "Micro", "frequency": "mensual", "installments": 6, "annual_rate": "30",
     "installment_multiple": 100, "arrears_grace_days": 3}
)  # fmt: skip


def _ledger() -> Loan:
    loan = Loan("L1", PRODUCT, Decimal(1_000_000)).disburse(Decimal(600_000), date(2024, 1, 10), by="a")
    loan = loan.disburse(Decimal(400_000), date(2024, 1, 20), by="a")  # a tranche
    first = loan.state.installments[0]
    loan = loan.repay(first.total_outstanding, date(2024, 2, 10), by="b")
    loan = loan.repay(Decimal(12_345), date(2024, 3, 15), by="b")
    return loan.reschedule(date(2024, 4, 1), installments=5, reason="cosecha", by="c")


def test_the_book_and_the_product_round_trip() -> None:
    loan = _ledger()
    assert product_of(product_doc(PRODUCT)) == PRODUCT
    doc: dict[str, Any] = {
        "_id": "L1", "product": product_doc(PRODUCT), "principal": "1000000", "book": book_json(loan, {})
    }  # fmt: skip
    back = loan_of(doc, None)
    assert back.postings == loan.postings
    assert back.state == loan.state
    _, rows = postings_of(doc["book"])
    assert [r["kind"] for r in rows] == ["desembolso", "desembolso", "pago", "pago", "reprogramacion"]


@pytest.mark.parametrize("days_after", [0, 20, 45, 95, 200])
def test_ageing_from_the_summary_agrees_with_the_domain_on_the_whole_ledger(days_after: int) -> None:
    loan = _ledger()
    state = loan.state
    as_of = date(2024, 4, 1) + timedelta(days=days_after)
    pauses = (Pause(date(2024, 5, 1), date(2024, 5, 11)),)
    doc = {"_id": "L1", **summary(state), "pauses": pauses_doc(pauses), "community_id": "c", "owner_sex": "female"}
    aged = age(doc, as_of, Terms(PRODUCT, 3))
    expected = arrears(PRODUCT, state.unpaid_due_dates(as_of), as_of, pauses)
    assert (aged.days_past_due, aged.bucket) == (expected.days_past_due, expected.bucket or "")
    row = loan_row("L1", state, as_of, aged.row.dims, pauses)
    assert aged.row.outstanding_principal == row.outstanding_principal
    assert aged.row.overdue == row.overdue == state.overdue(as_of)
    assert aged.row.due_to_date == row.due_to_date
    assert aged.row.days_late == row.days_late


def test_reminders_come_once_per_installment_within_the_lead_time() -> None:
    state = _ledger().state
    doc = {"_id": "L1", **summary(state), "pauses": []}
    unpaid_future = [i for i in state.installments if i.total_outstanding > 0 and i.due_date > date(2024, 4, 1)]
    due = unpaid_future[0].due_date
    early = age(doc, due - timedelta(days=4), Terms(PRODUCT, 3))
    assert early.reminders == ()
    on_time = age(doc, due - timedelta(days=3), Terms(PRODUCT, 3))
    assert [r[1] for r in on_time.reminders] == [due.toordinal()]
    doc["reminded"] = due.toordinal()
    assert age(doc, due - timedelta(days=2), Terms(PRODUCT, 3)).reminders == ()
