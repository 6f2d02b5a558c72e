"""The viability rule is data; its verdict says, check by check and in Spanish,
why a plan is or is not viable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.income.domain.errors import PlanInvalid
from services.income.domain.finance_math import analyse
from services.income.domain.viability import ViabilityRule, evaluate
from tests.unit.income_builders import model, month

RATE = Decimal("0.12")


def test_the_bakery_is_viable_under_the_default_rule_with_every_reason() -> None:
    verdict = evaluate(analyse(model()), ViabilityRule(), RATE)
    assert verdict.viable and verdict.label == "Viable"
    assert [check.code for check in verdict.checks] == ["min_npv", "max_payback_months", "min_operating_margin"]
    assert any("se recupera en el mes 12" in reason for reason in verdict.reasons)
    assert any("20,83 %" in reason for reason in verdict.reasons)


def test_a_payback_beyond_the_maximum_makes_the_plan_not_viable() -> None:
    verdict = evaluate(analyse(model()), ViabilityRule(max_payback_months=10), RATE)
    assert not verdict.viable and verdict.label == "No viable"
    assert verdict.reasons == ("La inversión se recupera en el mes 12; después del máximo de 10 meses",)


def test_a_negative_npv_and_a_thin_margin_are_both_reported() -> None:
    months = [month(units=60) for _ in range(12)]  # 60 x 5.000 - 250.000 = 50.000 a month
    verdict = evaluate(analyse(model(months=months)), ViabilityRule(), RATE)
    assert not verdict.viable
    codes = {check.code for check in verdict.checks if not check.passed}
    assert codes == {"min_npv", "max_payback_months", "min_operating_margin"}
    assert any("no alcanza el mínimo de $ 0" in reason for reason in verdict.reasons)
    assert any("no se recupera" in reason for reason in verdict.reasons)


def test_an_irr_threshold_uses_the_annual_irr_against_the_discount_rate() -> None:
    analysis = analyse(model())
    assert evaluate(analysis, ViabilityRule(irr_above_discount_rate=True), RATE).viable
    high = evaluate(analysis, ViabilityRule(irr_above_discount_rate=True), Decimal(4))
    assert not high.viable
    assert "no supera la tasa de descuento de 400,00 %" in high.reasons[0]


def test_without_an_irr_the_irr_threshold_fails_with_the_irr_reason() -> None:
    losing = analyse(model(months=[month(price=5000) for _ in range(12)]))
    only_irr = ViabilityRule(None, None, None, irr_above_discount_rate=True)
    verdict = evaluate(losing, only_irr, RATE)
    assert not verdict.viable
    assert verdict.reasons == ("No hay TIR: los flujos no cambian de signo (nunca se recupera la inversión)",)


def test_a_rule_comes_from_configuration_data_and_null_disables_a_check() -> None:
    rule = ViabilityRule.from_mapping({"min_npv": "1000000", "max_payback_months": None, "min_operating_margin": "0.2"})
    assert rule == ViabilityRule(Decimal(1000000), None, Decimal("0.2"), False)
    verdict = evaluate(analyse(model()), rule, RATE)
    assert [check.code for check in verdict.checks] == ["min_npv", "min_operating_margin"]


def test_a_bad_rule_names_each_bad_setting() -> None:
    with pytest.raises(PlanInvalid) as caught:
        ViabilityRule.from_mapping(
            {"min_npv": "mucho", "max_payback_months": 2.5, "irr_above_discount_rate": "sí", "tope": 1}
        )
    assert set(caught.value.fields) == {"min_npv", "max_payback_months", "irr_above_discount_rate", "tope"}


@pytest.mark.parametrize(
    ("field", "rule"),
    [("max_payback_months", {"max_payback_months": 0}), ("min_operating_margin", {"min_operating_margin": "15"})],
)
def test_out_of_range_thresholds_are_refused(field: str, rule: dict[str, object]) -> None:
    with pytest.raises(PlanInvalid) as caught:
        ViabilityRule.from_mapping(rule)
    assert list(caught.value.fields) == [field]
