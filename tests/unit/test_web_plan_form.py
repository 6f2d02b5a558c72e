"""The Fluye editor's form and the plan's content, both ways, read back by the
income service's own reader; the figures shown as pesos and percents; a value
curve drawn as one line per curve."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from gateway.web import charts, plan_form
from gateway.web.unit_detail import percent, pesos
from services.income.domain import charts as plan_charts
from services.income.domain.errors import PlanInvalid
from services.income.domain.plan_io import content_from_mapping, content_to_mapping
from tests.unit.income_builders import content, profile


def test_a_plan_shown_in_the_form_and_posted_back_unchanged_is_the_same_plan() -> None:
    values = plan_form.values_of(content_to_mapping(content()))
    assert values["canvas.channels"] == "Venta en la puerta\nPedidos por WhatsApp"  # one entry per line
    assert values["finance.months[23].price"] == "12000"
    posted = {**values, "finance.months[30].units": "  ", "profile.factors[7].name": ""}  # blank rows offered
    assert content_from_mapping(plan_form.content_of(posted)) == content()


def test_blank_parts_are_absent_and_a_bad_value_keeps_its_row_and_name() -> None:
    assert plan_form.content_of({}) == {}
    form = {"profile.factors[0].name": "Oficio", "profile.factors[0].score": "8", "profile.factors[0].target": "9"}
    form |= {"profile.factors[2].name": "Cuentas", "profile.factors[2].score": "11", "profile.factors[2].target": "7"}
    drafted = plan_form.content_of(form)
    assert set(drafted) == {"profile"} and len(drafted["profile"]["factors"]) == 3  # the blank middle row stays
    with pytest.raises(PlanInvalid) as refused:
        content_from_mapping(drafted)
    assert {"profile.factors[1].name", "profile.factors[2].score"} <= set(refused.value.fields)
    assert all(name in form or name.startswith("profile.factors[1]") for name in refused.value.fields)


def test_the_form_offers_two_more_rows_than_are_filled_within_bounds() -> None:
    assert plan_form.rows_shown({}, "profile.factors[", 12) == plan_form.MIN_ROWS
    assert plan_form.rows_shown({"profile.factors[5].name": "x"}, "profile.factors[", 12) == 8
    assert plan_form.rows_shown({"profile.factors[11].name": "x"}, "profile.factors[", 12) == 12


def test_figures_read_as_pesos_and_percents() -> None:
    assert pesos("2343306.87") == "$ 2.343.307"
    assert percent("0.2083") == "20,83 %"
    assert percent("") == "No existe"  # no IRR


def test_a_value_curve_is_one_line_per_curve_in_the_factors_order() -> None:
    table = charts.Table(**asdict(plan_charts.profile_curve(profile())))
    spec = charts.line_spec(table, "factor", "score", "curve")
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["color"]["field"] == "curve"
    assert spec["encoding"]["x"]["sort"] == ["Conocimiento del oficio", "Manejo de cuentas", "Red de clientes"]
