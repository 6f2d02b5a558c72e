"""NPV and IRR against published answers and, on random cash flows, against
numpy-financial: the Decimal implementation must agree with both."""

from __future__ import annotations

from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.income.domain.finance_math import irr, npv, payback_month


def flows(*values: int) -> list[Decimal]:
    return [Decimal(v) for v in values]


def test_irr_of_brealey_myers_allen_two_period_project() -> None:
    # Brealey, Myers & Allen, Principles of Corporate Finance, ch. 5 ("Internal (or
    # discounted-cash-flow) rate of return"): C0 = -4.000, C1 = +2.000, C2 = +4.000
    # has an IRR of 28,08 %.
    found = irr(flows(-4000, 2000, 4000))
    assert found.monthly is not None
    assert found.monthly.quantize(Decimal("0.0001")) == Decimal("0.2808")


def test_npv_of_brealey_myers_allen_office_building() -> None:
    # Brealey, Myers & Allen, ch. 2: an office building costing 700.000 that sells
    # for 800.000 a year later, at 7 %, has an NPV of 47.664.
    assert npv(Decimal("0.07"), flows(-700000, 800000)).quantize(Decimal(1)) == Decimal(47664)


@pytest.mark.parametrize(
    ("values", "stated"),
    [
        ((-70000, 12000, 15000, 18000, 21000), "-0.021"),
        ((-70000, 12000, 15000, 18000, 21000, 26000), "0.087"),
        ((-70000, 12000, 15000), "-0.444"),
    ],
)
def test_irr_of_the_excel_irr_function_examples(values: tuple[int, ...], stated: str) -> None:
    # Microsoft Support, "IRR function" (Excel), worked example: an investment of
    # 70.000 with five years of income has an IRR of -2,1 % after four years, 8,7 %
    # after five, and -44,4 % after two.
    found = irr(flows(*values))
    assert found.monthly is not None
    assert found.monthly.quantize(Decimal("0.001")) == Decimal(stated)


def test_npv_of_the_excel_npv_function_example() -> None:
    # Microsoft Support, "NPV function" (Excel): at 10 % a year, an initial cost of
    # 10.000 one year from today and returns of 3.000, 4.200 and 6.800 in the next
    # three years are worth 1.188,44. Excel discounts its first value, hence the 0.
    assert npv(Decimal("0.10"), flows(0, -10000, 3000, 4200, 6800)).quantize(Decimal("0.01")) == Decimal("1188.44")


# A conventional project: an investment, then income months (some may be zero)
# large enough in total to recover it, so exactly one IRR exists.
investments = st.integers(min_value=100_000, max_value=50_000_000)
incomes = st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=12, max_size=36)


@settings(max_examples=60, deadline=None)
@given(investment=investments, income=incomes)
def test_npv_agrees_with_numpy_financial(investment: int, income: list[int]) -> None:
    values = flows(-investment, *income)
    rate = Decimal("0.0094887929")
    assert float(npv(rate, values)) == pytest.approx(npf.npv(float(rate), [float(v) for v in values]), abs=1e-3)


@settings(max_examples=60, deadline=None)
@given(investment=investments, income=incomes)
def test_irr_agrees_with_numpy_financial_when_the_investment_is_recovered(investment: int, income: list[int]) -> None:
    # Recovered with some gain (IRR clearly above 0 %), and below 11 times the
    # investment, which bounds the monthly IRR below 1.000 %: (1 + r) <= income / investment.
    assume(investment * Decimal("1.001") < sum(income) < investment * 10)
    values = flows(-investment, *income)
    found = irr(values)
    assert found.monthly is not None, found.reason
    assert float(found.monthly) == pytest.approx(npf.irr([float(v) for v in values]), rel=1e-6, abs=1e-9)
    assert abs(npv(found.monthly, values)) < Decimal("0.01")


@settings(max_examples=40, deadline=None)
@given(investment=investments, income=incomes)
def test_npv_falls_as_the_rate_rises_for_a_conventional_project(investment: int, income: list[int]) -> None:
    values = flows(-investment, *income)
    assert npv(Decimal("0.01"), values) >= npv(Decimal("0.02"), values)


@settings(max_examples=40, deadline=None)
@given(investment=investments, income=incomes)
def test_payback_is_the_first_month_the_running_total_is_not_negative(investment: int, income: list[int]) -> None:
    month = payback_month(flows(-investment, *income))
    totals = [sum(income[:m]) - investment for m in range(1, len(income) + 1)]
    if month is None:
        assert all(total < 0 for total in totals)
    else:
        assert totals[month - 1] >= 0 and all(total < 0 for total in totals[: month - 1])
