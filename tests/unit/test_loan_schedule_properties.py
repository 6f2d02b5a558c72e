"""Properties every generated schedule keeps, over random products and amounts
(hypothesis): the principal adds up to the amount, balances never go negative and
only fall, the interest total is the sum of the installments' interest, the last
installment clears the balance, and equal installments are multiples of the
product's multiple except the last."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.income.domain.loans.product import (
    Amortization,
    Frequency,
    InterestMethod,
    InterestPeriod,
    LoanInvalid,
    LoanProduct,
)
from services.income.domain.loans.schedule import generate


@st.composite
def loans(draw: st.DrawFn) -> tuple[LoanProduct, Decimal, date]:
    installments = draw(st.integers(1, 60))
    grace = st.integers(0, max(0, installments - 1))
    product = LoanProduct(
        code="P",
        name="Propiedad",
        frequency=draw(st.sampled_from(list(Frequency))),
        installments=installments,
        annual_rate=Decimal(draw(st.integers(0, 1200))) / 10,
        interest_method=draw(st.sampled_from(list(InterestMethod))),
        amortization=draw(st.sampled_from(list(Amortization))),
        interest_period=draw(st.sampled_from(list(InterestPeriod))),
        principal_grace=draw(grace),
        interest_grace=draw(st.sampled_from([0, 0, draw(grace)])),
        interest_free_grace=draw(st.sampled_from([0, 0, 0, draw(grace)])),
        installment_multiple=draw(st.sampled_from([1, 1, 100, 1000])),
        move_to_business_day=draw(st.booleans()),
        currency_multiple=draw(st.sampled_from([1, 1, 1, 50, 100])),
    )
    principal = Decimal(draw(st.integers(1_000, 500_000)) * 100)
    disbursed = date(2026, 1, 1).fromordinal(date(2026, 1, 1).toordinal() + draw(st.integers(0, 900)))
    return product, principal, disbursed


@settings(max_examples=300, deadline=None)
@given(loans())
def test_schedule_invariants(case: tuple[LoanProduct, Decimal, date]) -> None:
    product, principal, disbursed = case
    try:
        schedule = generate(product, principal, disbursed)
    except LoanInvalid as refused:
        # the only refusal for valid terms: a rounded installment that cannot amortize
        assert set(refused.fields) <= {"installment_multiple", "installment"}
        return
    items = schedule.installments
    assert 1 <= len(items) <= product.installments
    assert sum(i.principal for i in items) == principal
    assert schedule.total_interest == sum(i.interest for i in items)
    assert items[-1].balance_after == 0
    balance = principal
    for item in items:
        assert item.principal >= 0 and item.interest >= 0
        assert item.balance_after == balance - item.principal >= 0
        balance = item.balance_after
    assert all(a.due_date < b.due_date for a, b in itertools.pairwise(items))
    assert items[0].due_date > disbursed


@settings(max_examples=200, deadline=None)
@given(loans())
def test_equal_installments_are_multiples_except_the_last(case: tuple[LoanProduct, Decimal, date]) -> None:
    product, principal, disbursed = case
    if product.interest_method is not InterestMethod.DECLINING_BALANCE:
        return
    if product.amortization is not Amortization.EQUAL_INSTALLMENTS or product.interest_grace:
        return
    try:
        schedule = generate(product, principal, disbursed)
    except LoanInvalid:
        return
    grace = product.principal_grace
    free = product.interest_free_grace
    regular = [i for i in schedule.installments[:-1] if i.number > max(grace, free)]
    for item in regular:
        assert item.total == schedule.installment_amount
        assert item.total % product.installment_multiple == 0


def test_a_small_flat_total_with_interest_free_periods_in_multiples_never_turns_negative() -> None:
    """Found by the property above: 100,000 flat over 6 biweekly periods at a low rate,
    4 interest-free, currency in multiples of 100. The flat total (300) rounds to 300,
    each period's share (50) rounds up to 100, so the four free shares (400) exceeded
    the total and the first installment charged -100 of interest."""
    product = LoanProduct(
        code="P", name="Plano", frequency=Frequency.BIWEEKLY, installments=6, annual_rate=Decimal("1.3"),
        interest_method=InterestMethod.FLAT, interest_free_grace=4, currency_multiple=100,
    )  # fmt: skip
    schedule = generate(product, Decimal(100_000), date(2026, 1, 1))
    assert all(i.interest >= 0 and i.principal >= 0 for i in schedule.installments)
    assert sum(i.principal for i in schedule.installments) == 100_000
    assert schedule.total_interest == 0  # the free periods took the whole flat interest
