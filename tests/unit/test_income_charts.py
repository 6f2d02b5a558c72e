"""Chart rows of a Fluye plan: plain tables the web app's chart module draws."""

from __future__ import annotations

from services.income.domain import charts
from services.income.domain.finance_math import analyse
from tests.unit.income_builders import model, profile, proposal


def test_the_profile_curve_has_today_and_target_per_factor() -> None:
    table = charts.profile_curve(profile())
    assert table.rows[:2] == (
        {"factor": "Conocimiento del oficio", "curve": "Actual", "score": 8},
        {"factor": "Conocimiento del oficio", "curve": "Objetivo", "score": 9},
    )
    assert len(table.rows) == 6
    assert dict(table.columns)["score"] == "Puntaje (0 a 10)"


def test_the_proposal_curve_scores_the_proposal_and_each_competitor_on_every_factor() -> None:
    table = charts.proposal_curve(proposal())
    assert len(table.rows) == 3 * 3
    freshness = {row["curve"]: row["score"] for row in table.rows if row["factor"] == "Frescura"}
    assert freshness == {"Propuesta": 9, "Panadería del centro": 6, "Tienda de barrio": 4}


def test_the_cash_flow_table_is_in_whole_pesos_from_month_zero() -> None:
    table = charts.cash_flow(analyse(model()))
    assert table.rows[0] == {"month": 0, "flow": -3000000, "cumulative": -3000000}
    assert table.rows[12] == {"month": 12, "flow": 250000, "cumulative": 0}
    assert len(table.rows) == 25
    assert all(type(row["flow"]) is int and type(row["cumulative"]) is int for row in table.rows)


def test_chart_rows_fit_the_web_apps_table() -> None:
    from dataclasses import asdict

    from gateway.web.charts import Table

    table = Table(**asdict(charts.cash_flow(analyse(model()))))
    assert table.header() == ["Mes", "Flujo de caja (COP)", "Flujo acumulado (COP)"]
    assert table.values()[1] == [1, 250000, -2750000]
