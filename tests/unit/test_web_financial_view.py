"""What the financial statements page makes of the service's replies: amounts as
a person types them, ratios and changes in Spanish, the chart tables of a
series (an undefined ratio is a gap, a chart without values is left out), the
form's values for a period to correct or a sales offer, and the statements as
rows with the sales marked "de acta"."""

from __future__ import annotations

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway.web import financial_view as view


def trend(ratio: str, label: str, kind: str, values: list[tuple[str, str]]) -> pb.RatioTrend:
    return pb.RatioTrend(
        ratio=ratio, label=label, kind=kind, points=[pb.RatioTrendPoint(period=p, value=v) for p, v in values]
    )


def test_amounts_typed_as_pesos_become_decimal_text_and_anything_else_is_passed_on() -> None:
    assert view.typed_amount(" $ 1.250.000 ") == "1250000"
    assert view.typed_amount("-6.000.000") == "-6000000"
    assert view.typed_amount("1250000") == "1250000"
    assert view.typed_amount("12.5") == "12.5"  # not thousands: the service names the cents
    assert view.typed_amount("1.25.000") == "1.25.000"  # not a number: the service names it
    assert view.pesos("1250000") == "$ 1.250.000" and view.pesos("-5000") == "-$ 5.000" and view.pesos("") == "—"


def test_ratios_and_changes_read_in_spanish_and_undefined_says_so() -> None:
    assert view.ratio_text("gross_margin", "0.4000") == "40,00 %"
    assert view.ratio_text("current_ratio", "2.5000") == "2,50 veces"
    assert view.ratio_text("net_margin", "") == "No definido"
    assert view.change_text("debt_ratio", "-0.1500") == "-15,00 puntos"
    assert view.change_text("current_ratio", "0.5") == "+0,50 veces"
    assert view.change_text("net_margin", "") == ""


def test_chart_tables_of_a_series_leave_gaps_and_drop_a_chart_without_values() -> None:
    trends = [
        trend("gross_margin", "Margen bruto", "mensual", [("2026-09", "0.4000"), ("2026-10", "")]),
        trend("net_margin", "Margen neto", "mensual", [("2026-09", "0.1500"), ("2026-10", "")]),
        trend("current_ratio", "Razón corriente", "mensual", [("2026-09", ""), ("2026-10", "")]),
        trend("debt_ratio", "Razón de endeudamiento", "mensual", [("2026-09", "0.3000"), ("2026-10", "0.3500")]),
        trend("debt_ratio", "Razón de endeudamiento", "trimestral", [("2026-T3", "0.2000")]),
    ]
    tables = view.chart_tables(trends, "mensual")
    assert list(tables) == ["margenes", "endeudamiento"]  # no current ratio defined: no chart
    margins = tables["margenes"]
    assert margins.title == "Márgenes bruto y neto (mensual)"
    assert [(r["period"], r["ratio"], r["value"]) for r in margins.rows] == [
        ("2026-09", "Margen bruto", 40.0),
        ("2026-10", "Margen bruto", None),
        ("2026-09", "Margen neto", 15.0),
        ("2026-10", "Margen neto", None),
    ]
    assert [r["value"] for r in tables["endeudamiento"].rows] == [30.0, 35.0]
    assert list(view.chart_tables(trends, "trimestral")) == ["endeudamiento"]
    assert view.series_of(trends, "trimestral") == "trimestral"
    assert view.series_of(trends, "anual") == "mensual"
    assert view.series_of([], "") == ""


def statement(period: str, revision: int, **kw: object) -> pb.FinancialStatement:
    figures = pb.StatementFigures(sales="100", cost_of_sales="60", current_assets="10", equity="")
    return pb.FinancialStatement(period=period, revision=revision, figures=figures, **kw)  # type: ignore[arg-type]


def test_the_form_offers_a_period_to_correct_or_the_sales_of_a_complete_acta_offer() -> None:
    recorded = [statement("2026-10", 2, notes="Cierre", sales_source="asesor")]
    offers = [
        pb.ActaSalesOffer(period="2026-11", amount="1250000", complete=True),
        pb.ActaSalesOffer(period="2026-T4", amount="1250000", complete=False),
    ]
    values, revision = view.form_values(recorded, "2026-10", offers)
    assert revision == 2 and values["sales"] == "100" and values["notes"] == "Cierre" and values["equity"] == ""
    assert view.form_values(recorded, "2026-11", offers) == (
        {"period": "2026-11", "sales": "1250000", "sales_from_actas": "1"},
        0,
    )
    assert view.form_values(recorded, "2026-T4", offers) == ({"period": "2026-T4"}, 0)  # incomplete: not offered
    assert view.form_values(recorded, "", offers) == ({}, 0)
    posted = view.posted_values({"period": " 2026-09 ", "sales": "$ 1.000", "sales_from_actas": "1", "x": "y"})
    assert (posted["period"], posted["sales"], posted["sales_from_actas"], posted["cost_of_sales"]) == (
        "2026-09",
        "1000",
        "1",
        "",
    )
    assert "x" not in posted


def test_rows_mark_the_sales_taken_from_actas_and_the_day_of_the_loans_balance() -> None:
    s = statement(
        "2026-11",
        1,
        sales_source="acta",
        sales_acta_ids=["acta-1"],
        loan_liabilities="500000",
        loans_as_of="2026-11-30",
        ratios=pb.StatementRatios(gross_margin="0.4000", current_ratio=""),
    )
    found = {label: cells for label, cells, _ in view.rows([s])}
    assert found["Ventas"] == [("$ 100", "de acta acta-1")]
    assert found["Pasivos de créditos del programa"] == [("$ 500.000", "al 2026-11-30")]
    assert found["Margen bruto (%)"] == [("40,00 %", "")]
    assert found["Razón corriente"] == [("No definido", "")]
    assert [total for _, _, total in view.rows([s]) if total] == [True] * 5
