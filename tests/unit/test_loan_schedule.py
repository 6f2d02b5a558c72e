"""The loan schedule generator against cases derived independently of it:

- two schedules published in Apache Fineract's own integration tests
  (``integration-tests/.../ClientLoanIntegrationTest.java``), reproduced digit for digit;
- loans computed by hand here, step by step, from the rules Fineract's
  ``LoanApplicationTerms`` states (rate / periods, interest = balance * rate rounded
  half-even, principal = installment - interest, the last takes the rest);
- the equal installment against ``numpy_financial.pmt``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy_financial as npf
import pytest

from services.income.domain.loans.dates import add_months, due_dates
from services.income.domain.loans.product import (
    Amortization,
    Frequency,
    InterestMethod,
    InterestPeriod,
    LoanInvalid,
    LoanProduct,
)
from services.income.domain.loans.schedule import Schedule, equal_installment, generate

D = Decimal


def product(**values: object) -> LoanProduct:
    base: dict[str, object] = {"code": "MC", "name": "Microcrédito", "frequency": Frequency.MONTHLY}
    return LoanProduct.checked(**{**base, **values})


def rows(schedule: Schedule) -> list[tuple[str, str, str]]:
    return [(i.due_date.isoformat(), str(i.principal), str(i.interest)) for i in schedule.installments]


def test_fineract_published_monthly_declining_balance_schedule() -> None:
    """ClientLoanIntegrationTest.checkClientLoanCreateAndDisburseFlow /
    verifyLoanRepaymentSchedule: 12,000.00 disbursed 20 Sep 2011, 4 monthly repayments,
    2 % a month (24 % a year), declining balance, equal installments, interest
    calculated same as the repayment period, 2 decimals."""
    p = product(installments=4, annual_rate=D(24), currency_digits=2)
    schedule = generate(p, D("12000.00"), date(2011, 9, 20))
    assert rows(schedule) == [
        ("2011-10-20", "2911.49", "240.00"),
        ("2011-11-20", "2969.72", "181.77"),
        ("2011-12-20", "3029.11", "122.38"),
        ("2012-01-20", "3089.68", "61.79"),
    ]


def test_fineract_published_weekly_declining_balance_schedule() -> None:
    """ClientLoanIntegrationTest.testLoanScheduleWithInterestRecalculation_WITH_REST_
    SAME_AS_REPAYMENT_INTEREST_COMPOUND_NONE_STRATEGY_REDUCE_EMI, the schedule before
    approval: 10,000.00, 4 weekly repayments, 2 % a month as annual 24 %, same as
    repayment period: principal 2482.76 / 2494.22 / 2505.73 / 2517.29, interest
    46.15 / 34.69 / 23.18 / 11.62, due every 7 days."""
    p = product(frequency=Frequency.WEEKLY, installments=4, annual_rate=D(24), currency_digits=2)
    schedule = generate(p, D("10000.00"), date(2026, 1, 5))
    assert [(r[1], r[2]) for r in rows(schedule)] == [
        ("2482.76", "46.15"),
        ("2494.22", "34.69"),
        ("2505.73", "23.18"),
        ("2517.29", "11.62"),
    ]
    assert [i.due_date for i in schedule.installments] == [date(2026, 1, d) for d in (12, 19, 26)] + [date(2026, 2, 2)]


def test_hand_computed_three_installment_loan_in_pesos() -> None:
    """300,000 COP, 3 months, 36 % a year: r = 0.03. Installment = 300000 * 0.03 /
    (1 - 1.03^-3) = 106,059.11 -> 106,059. Month 1: interest 9,000, principal 97,059,
    balance 202,941. Month 2: interest 6,088.23 -> 6,088, principal 99,971, balance
    102,970. Month 3: interest 3,089.10 -> 3,089, principal takes the 102,970 left."""
    schedule = generate(product(installments=3, annual_rate=D(36)), D(300000), date(2026, 1, 10))
    assert rows(schedule) == [
        ("2026-02-10", "97059", "9000"),
        ("2026-03-10", "99971", "6088"),
        ("2026-04-10", "102970", "3089"),
    ]
    assert schedule.installment_amount == D(106059)
    assert schedule.total_interest == D(18177)


@pytest.mark.parametrize(
    ("frequency", "periods_per_year", "rate", "count", "principal"),
    [
        (Frequency.MONTHLY, 12, 24, 12, 2_000_000),
        (Frequency.MONTHLY, 12, 41, 36, 15_000_000),
        (Frequency.WEEKLY, 52, 30, 20, 800_000),
        (Frequency.BIWEEKLY, 26, 18, 10, 1_250_000),
        (Frequency.MONTHLY, 12, 0, 6, 600_001),
    ],
)
def test_equal_installment_agrees_with_numpy_financial_pmt(
    frequency: Frequency, periods_per_year: int, rate: int, count: int, principal: int
) -> None:
    p = product(frequency=frequency, installments=count, annual_rate=D(rate))
    expected = -npf.pmt(rate / 100 / periods_per_year, count, principal)
    assert equal_installment(p, D(principal)) == D(round(expected))


def test_principal_grace_pays_interest_only_then_amortizes_over_the_rest() -> None:
    """600,000 at 2 % a month over 6, 2 of grace: 12,000 of interest in each grace
    month, then pmt(0.02, 4, 600000) = 157,574.25 -> 157,574."""
    schedule = generate(product(installments=6, annual_rate=D(24), principal_grace=2), D(600000), date(2026, 1, 10))
    assert [(i.principal, i.interest) for i in schedule.installments[:3]] == [
        (D(0), D(12000)),
        (D(0), D(12000)),
        (D(145574), D(12000)),
    ]
    assert schedule.installment_amount == D(round(-npf.pmt(0.02, 4, 600000)))


def test_interest_payment_grace_carries_interest_to_the_first_installment_after() -> None:
    """Fineract's graceOnInterestPayment: 600,000, 6 months, 2 %, 2 periods of grace.
    Installment pmt(0.02, 6) = 107,115. Month 1: 12,000 accrues (not due), principal
    107,115 - 12,000 = 95,115. Month 2: 504,885 * 0.02 = 10,097.70 -> 10,098 accrues,
    principal 97,017. Month 3: own interest 407,868 * 0.02 = 8,157 plus the 22,098
    carried = 30,255; principal 107,115 - 8,157 = 98,958."""
    p = product(installments=6, annual_rate=D(24), interest_grace=2)
    schedule = generate(p, D(600000), date(2026, 1, 10))
    assert [(i.principal, i.interest) for i in schedule.installments[:3]] == [
        (D(95115), D(0)),
        (D(97017), D(0)),
        (D(98958), D(30255)),
    ]


def test_interest_free_grace_charges_no_interest() -> None:
    p = product(installments=4, annual_rate=D(24), interest_free_grace=1)
    schedule = generate(p, D(400000), date(2026, 1, 10))
    assert schedule.installments[0].interest == 0
    assert schedule.installments[1].interest == (schedule.installments[0].balance_after * D("0.02")).quantize(D(1))


def test_equal_principal_and_flat_by_hand() -> None:
    """1,000,000 over 4 months at 2 %: equal principal 250,000 with interest 20,000,
    15,000, 10,000, 5,000; flat 1,000,000 * 0.02 * 4 = 80,000, 20,000 a month."""
    start = date(2026, 1, 31)
    ep = generate(
        product(installments=4, annual_rate=D(24), amortization=Amortization.EQUAL_PRINCIPAL), D(10**6), start
    )
    assert [(i.principal, i.interest) for i in ep.installments] == [
        (D(250000), D(v)) for v in (20000, 15000, 10000, 5000)
    ]
    flat = generate(product(installments=4, annual_rate=D(24), interest_method=InterestMethod.FLAT), D(10**6), start)
    assert [(i.principal, i.interest) for i in flat.installments] == [(D(250000), D(20000))] * 4
    assert [i.due_date for i in flat.installments] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_flat_interest_grace_by_hand() -> None:
    """Flat, 1,000,000 over 4 months at 2 %: 80,000 of interest. Equal installments with
    one period of interest-payment grace spread it over the 3 other installments
    (Fineract averages it out): 26,666.67 -> 26,667 twice and 26,666 last. Equal
    principal carries the grace period's 20,000 to installment 2: 0, 40,000, 20,000, 20,000."""
    start = date(2026, 1, 31)
    flat = {"installments": 4, "annual_rate": D(24), "interest_method": InterestMethod.FLAT, "interest_grace": 1}
    averaged = generate(product(**flat), D(10**6), start)
    assert [i.interest for i in averaged.installments] == [D(0), D(26667), D(26667), D(26666)]
    carried = generate(product(**flat, amortization=Amortization.EQUAL_PRINCIPAL), D(10**6), start)
    assert [i.interest for i in carried.installments] == [D(0), D(40000), D(20000), D(20000)]
    assert all(i.principal == D(250000) for i in carried.installments)


def test_daily_interest_uses_actual_days_over_365() -> None:
    """36.5 % a year is 0.1 % a day: 28 days of February on 1,000,000 = 28,000; the
    installment uses a 30-day month (Fineract's DAYS_30 for the pmt): pmt(0.03, 3)."""
    p = product(installments=3, annual_rate=D("36.5"), interest_period=InterestPeriod.DAILY)
    schedule = generate(p, D(10**6), date(2026, 1, 31))
    assert schedule.installments[0].interest == D(28000)
    assert schedule.installment_amount == D(round(-npf.pmt(0.03, 3, 10**6)))
    first = schedule.installments[0].balance_after
    assert schedule.installments[1].interest == (first * D("0.031")).quantize(D(1))  # 31 days of March


def test_installment_in_multiples_of_1000() -> None:
    """pmt(0.025, 12, 2,500,000) = 243,717.6: the nearest multiple of 1,000 is 244,000."""
    p = product(installments=12, annual_rate=D(30), installment_multiple=1000)
    schedule = generate(p, D(2_500_000), date(2026, 1, 31))
    totals = [i.total for i in schedule.installments]
    assert totals[:-1] == [D(244000)] * 11
    assert sum(i.principal for i in schedule.installments) == D(2_500_000)


def test_monthly_dates_keep_the_day_and_clamp_at_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert due_dates(Frequency.MONTHLY, 3, date(2026, 1, 31), None, False) == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert due_dates(Frequency.BIWEEKLY, 2, date(2026, 1, 1), None, False) == [date(2026, 1, 15), date(2026, 1, 29)]
    assert due_dates(Frequency.MONTHLY, 2, date(2026, 1, 1), date(2026, 2, 20), False) == [
        date(2026, 2, 20),
        date(2026, 3, 20),
    ]


def test_due_dates_on_sundays_and_colombian_holidays_move_to_the_next_business_day() -> None:
    """Weekly from Sunday 4 Jan 2026: Sunday 11 Jan moves past Monday 12 Jan (Epiphany,
    observed) to Tuesday 13; the series continues on Sundays 18 and 25 -> Mondays."""
    moved = due_dates(Frequency.WEEKLY, 3, date(2026, 1, 4), None, True)
    assert moved == [date(2026, 1, 13), date(2026, 1, 19), date(2026, 1, 26)]
    p = product(frequency=Frequency.WEEKLY, installments=3, annual_rate=D(24), move_to_business_day=True)
    same = product(frequency=Frequency.WEEKLY, installments=3, annual_rate=D(24))
    a, b = generate(p, D(300000), date(2026, 1, 4)), generate(same, D(300000), date(2026, 1, 4))
    assert [i.due_date for i in a.installments] == moved
    # same-as-repayment interest: moving a date changes no amount
    assert [(i.principal, i.interest) for i in a.installments] == [(i.principal, i.interest) for i in b.installments]


@pytest.mark.parametrize(
    ("principal", "field"),
    [(D(0), "principal"), (D(-5), "principal"), (D("10.5"), "principal"), (D("NaN"), "principal")],
)
def test_bad_principal_is_refused_naming_the_field(principal: Decimal, field: str) -> None:
    with pytest.raises(LoanInvalid) as caught:
        generate(product(installments=3, annual_rate=D(24)), principal, date(2026, 1, 1))
    assert field in caught.value.fields


def test_schedule_that_cannot_amortize_is_refused() -> None:
    p = product(installments=12, annual_rate=D(24), installment_multiple=100_000)
    with pytest.raises(LoanInvalid) as caught:
        generate(p, D(400_000), date(2026, 1, 1))
    assert "installment_multiple" in caught.value.fields
    with pytest.raises(LoanInvalid) as caught:
        generate(product(installments=3, annual_rate=D(24)), D(1000), date(2026, 1, 1), date(2025, 12, 1))
    assert "first_due_on" in caught.value.fields


@pytest.mark.parametrize(
    ("grace", "expected"),
    [
        (
            0,
            {1: (416700, 200000), 2: (416700, 191700), 3: (416700, 183300), 4: (416700, 175000), 5: (416700, 166700),
             6: (416700, 158300), 10: (416700, 125000), 20: (416700, 41700), 24: (415900, 8300)},
        ),
        (
            5,
            {1: (0, 200000), 2: (0, 200000), 5: (0, 200000), 6: (526300, 200000), 7: (526300, 189500),
             10: (526300, 157900), 20: (526300, 52600), 24: (526600, 10500)},
        ),
    ],
)  # fmt: skip
def test_fineract_published_equal_principal_schedule_with_currency_multiples(
    grace: int, expected: dict[int, tuple[int, int]]
) -> None:
    """ClientLoanIntegrationTest.testClientLoanScheduleWithCurrencyDetails (and
    ``_with_grace``, 5 periods of principal grace), verifyLoanRepaymentScheduleForEqual
    Principal(WithGrace): 10,000,000 disbursed 2 Jun 2014, 24 monthly repayments, 2 % a
    month, declining balance, equal principal, currency with 0 digits in multiples of 100."""
    p = product(
        installments=24,
        annual_rate=D(24),
        amortization=Amortization.EQUAL_PRINCIPAL,
        currency_multiple=100,
        principal_grace=grace,
    )
    schedule = generate(p, D(10_000_000), date(2014, 6, 2))
    found = {i.number: (int(i.principal), int(i.interest)) for i in schedule.installments if i.number in expected}
    assert found == expected
    assert schedule.installments[19].due_date == date(2016, 2, 2)
    assert schedule.installments[23].due_date == date(2016, 6, 2)
