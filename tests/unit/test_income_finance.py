"""The Fluye financial model: validation that names each bad field, and the
figures (cash flows, NPV, IRR, payback, break-even) in exact Decimal pesos."""

from __future__ import annotations

from decimal import Decimal

import numpy_financial as npf
import pytest

from services.income.domain.errors import FinancialModelInvalid
from services.income.domain.finance import FinancialModel, Funding, MonthProjection
from services.income.domain.finance_math import analyse, annualise, irr, monthly_rate, npv, payback_month
from services.income.domain.money import format_cop, format_percent, to_decimal, whole_pesos
from tests.unit.income_builders import model, month


def invalid(**overrides: object) -> dict[str, str]:
    with pytest.raises(FinancialModelInvalid) as caught:
        model(**overrides)
    return caught.value.fields


def test_a_parsed_model_holds_exact_decimals() -> None:
    parsed = model()
    assert parsed.investment == Decimal(3000000)
    assert all(isinstance(m.price, Decimal) for m in parsed.months)
    assert parsed.funding == Funding(Decimal(1000000), Decimal(2000000), Decimal(0))


def test_a_negative_price_is_named_with_its_month() -> None:
    months = [month() for _ in range(12)]
    months[3] = month(price="-1")
    problems = invalid(months=months)
    assert list(problems) == ["months[3].price"]
    assert "mes 4" in problems["months[3].price"] and "negativo" in problems["months[3].price"]


@pytest.mark.parametrize("count", [0, 11, 37])
def test_months_outside_12_to_36_are_refused(count: int) -> None:
    problems = invalid(months=[month() for _ in range(count)])
    assert "entre 12 y 36 meses" in problems["months"]
    assert f"tiene {count}" in problems["months"]


def test_months_missing_altogether_are_refused() -> None:
    assert "months" in invalid(months=None)


def test_sources_that_do_not_add_up_to_the_investment_are_refused() -> None:
    problems = invalid(funding={"own_funds": "1000000", "seed_capital": "1500000", "microcredit": "400000"})
    assert list(problems) == ["funding"]
    assert "$ 2.900.000" in problems["funding"] and "$ 3.000.000" in problems["funding"]


def test_sources_must_match_to_the_cent_not_only_after_rounding() -> None:
    assert "funding" in invalid(funding={"own_funds": "1000000.4", "seed_capital": "2000000"})


def test_a_negative_source_is_named() -> None:
    problems = invalid(funding={"own_funds": "-1000000", "seed_capital": "4000000"})
    assert list(problems) == ["funding.own_funds"]


def test_zero_investment_is_refused() -> None:
    problems = invalid(investment="0", funding={})
    assert "mayor que cero" in problems["investment"]


def test_every_bad_field_is_reported_at_once() -> None:
    months = [month() for _ in range(12)]
    months[0] = month(units="muchas", fixed_costs=None)
    problems = invalid(months=months, annual_discount_rate="7", investment=1.5)
    assert {"months[0].units", "months[0].fixed_costs", "annual_discount_rate", "investment"} <= set(problems)
    assert "punto flotante" in problems["investment"]
    assert "no es un número válido" in problems["months[0].units"]


def test_a_model_built_directly_is_validated_too() -> None:
    good = model()
    with pytest.raises(FinancialModelInvalid) as caught:
        FinancialModel(good.investment, good.funding, good.months[:5], good.annual_discount_rate)
    assert "months" in caught.value.fields


@pytest.mark.parametrize("raw", ["NaN", "Infinity", True, [1]])
def test_non_finite_and_non_numbers_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        to_decimal(raw)


def test_the_monthly_rate_compounds_exactly_to_the_annual_rate() -> None:
    rate = monthly_rate(Decimal("0.12"))
    assert abs(annualise(rate) - Decimal("0.12")) < Decimal("1e-25")
    assert rate.quantize(Decimal("1e-10")) == Decimal("0.0094887929")


def test_cash_flows_start_with_the_investment_then_operating_flows() -> None:
    result = analyse(model())
    assert result.flows[0] == Decimal(-3000000)
    assert result.flows[1:] == (Decimal(250000),) * 24
    assert result.cumulative[-1] == Decimal(3000000)
    assert all(isinstance(value, Decimal) for value in (*result.flows, result.npv, result.monthly_rate))


def varied_model() -> FinancialModel:
    months = [month(units=40 + 5 * i, price=11000 + 100 * i, fixed_costs=300000 + (i % 3) * 20000) for i in range(30)]
    return model(months=months, investment="4500000.50", funding={"own_funds": "500000.50", "microcredit": "4000000"})


@pytest.mark.parametrize("build", [model, varied_model])
def test_npv_and_irr_agree_with_numpy_financial(build: object) -> None:
    result = analyse(build())  # type: ignore[operator]
    floats = [float(flow) for flow in result.flows]
    expected_npv = npf.npv(float(result.monthly_rate), floats)
    assert float(result.npv) == pytest.approx(expected_npv, rel=1e-9)
    assert result.irr.monthly is not None and result.irr.annual is not None
    assert float(result.irr.monthly) == pytest.approx(npf.irr(floats), rel=1e-9)
    assert float(result.irr.annual) == pytest.approx((1 + npf.irr(floats)) ** 12 - 1, rel=1e-9)


def test_npv_at_the_irr_is_zero() -> None:
    result = analyse(varied_model())
    assert result.irr.monthly is not None
    assert abs(npv(result.irr.monthly, result.flows)) < Decimal("0.001")


def test_the_bakery_figures() -> None:
    result = analyse(model())
    assert whole_pesos(result.npv) == Decimal(round(npf.npv(float(result.monthly_rate), [-3e6] + [2.5e5] * 24)))
    assert result.payback_month == 12
    assert result.discounted_payback_month == 13
    assert result.operating_margin is not None
    assert format_percent(result.operating_margin) == "20,83 %"
    assert result.average_break_even.units == Decimal(50)
    assert result.average_break_even.sales == Decimal(600000)
    assert all(b.units == Decimal(50) for b in result.monthly_break_even)


def test_break_even_weights_the_average_by_units_sold() -> None:
    months = [month(units=100, price=10000, variable_cost=6000, fixed_costs=200000) for _ in range(6)]
    months += [month(units=300, price=8000, variable_cost=6000, fixed_costs=400000) for _ in range(6)]
    result = analyse(model(months=months))
    # Average fixed 300.000; sales 6.000.000 + 14.400.000 over 2.400 units = 8.500 average price,
    # variable 6.000 a unit: margin 2.500, so 120 units and 1.020.000 pesos a month.
    assert result.average_break_even.units == Decimal(120)
    assert result.average_break_even.sales == Decimal(1020000)
    assert result.monthly_break_even[0].units == Decimal(50)
    assert result.monthly_break_even[6].units == Decimal(200)


def test_a_price_below_the_variable_cost_has_no_break_even_nor_irr_nor_payback() -> None:
    months = [month(price=6000, variable_cost=7000) for _ in range(12)]
    result = analyse(model(months=months))
    assert result.average_break_even.units is None
    assert "no cubre el costo variable" in result.average_break_even.reason
    assert result.irr.monthly is None and result.irr.annual is None
    assert "no cambian de signo" in result.irr.reason
    assert result.payback_month is None
    assert result.npv < 0


def test_no_sales_means_no_margin_and_no_break_even() -> None:
    result = analyse(model(months=[month(units=0) for _ in range(12)]))
    assert result.operating_margin is None
    assert result.average_break_even.units is None


def test_several_irrs_are_not_reported_as_one() -> None:
    # -100 + 230/(1+r) - 132/(1+r)^2 is zero at 10 % and at 20 %.
    found = irr([Decimal(-100), Decimal(230), Decimal(-132)])
    assert found.monthly is None
    assert "única" in found.reason


def test_a_non_conventional_flow_with_a_single_root_in_range_still_has_an_irr() -> None:
    # Roots at 49,5 % and at -99,33 %, the second outside the search range.
    flows = [Decimal(v) for v in (-1000, 1500, -10)]
    found = irr(flows)
    assert found.monthly is not None
    assert float(found.monthly) == pytest.approx(npf.irr([float(v) for v in flows]), rel=1e-9)


def test_an_irr_beyond_the_search_range_is_absent_with_its_reason() -> None:
    found = irr([Decimal(-1), Decimal(100000)])  # 9.999.900 % a month
    assert found.monthly is None
    assert "1.000 %" in found.reason


def test_payback_is_none_when_the_investment_is_never_recovered() -> None:
    assert payback_month([Decimal(-100), Decimal(10), Decimal(10)]) is None
    assert payback_month([Decimal(-100), Decimal(50), Decimal(50)]) == 2


def test_money_is_shown_in_whole_pesos_rounding_half_up() -> None:
    assert format_cop(Decimal("1234567.5")) == "$ 1.234.568"
    assert format_cop(Decimal("-5000.49")) == "-$ 5.000"
    assert format_cop(Decimal(0)) == "$ 0"
    assert format_percent(Decimal("0.123456")) == "12,35 %"


def test_a_month_projection_computes_its_flow() -> None:
    projection = MonthProjection(Decimal("2.5"), Decimal(1000), Decimal(400), Decimal(100))
    assert projection.cash_flow == Decimal(1400)
