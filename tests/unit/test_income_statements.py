"""The financial statements' domain: periods, figures and their validation, the
income statement and balance sheet of one period, ratios (None where a
denominator is zero), the equity check, trends, and the sales that follow-up
actas offer. Expected figures are worked out by hand in each test."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crm_platform import errors as vocabulary
from services.income.domain.statements.period import Period, PeriodInvalid, PeriodKind, parse_period, quarter_of
from services.income.domain.statements.sales import acta_sales, offers
from services.income.domain.statements.statement import (
    StatementInvalid,
    build_statement,
    figures_from,
    in_order,
    ratio,
)
from services.income.domain.statements.trends import trends

D = Decimal
AS_OF = date(2026, 11, 30)


def typed(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sales": "10000000",
        "cost_of_sales": "6000000",
        "operating_expenses": "2500000",
        "current_assets": "3000000",
        "non_current_assets": "7000000",
        "current_liabilities": "1000000",
        "non_current_liabilities": "2000000",
    }
    values.update(overrides)
    return values


def statement(period: str = "2026-11", loans: str = "0", **overrides: Any) -> Any:
    return build_statement(parse_period(period), figures_from(typed(**overrides)), D(loans), AS_OF)


# -- periods -----------------------------------------------------------------------------
def test_a_month_and_a_quarter_are_read_with_their_days_and_months() -> None:
    month = parse_period("2026-11")
    assert (month.key, month.kind, month.start, month.end) == ("2026-11", PeriodKind.MONTHLY, date(2026, 11, 1), AS_OF)
    assert month.months() == ("2026-11",) and month.label() == "noviembre de 2026"
    quarter = parse_period(" 2026-t4 ")
    assert (quarter.key, quarter.kind, quarter.start, quarter.end) == (
        "2026-T4",
        PeriodKind.QUARTERLY,
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert quarter.months() == ("2026-10", "2026-11", "2026-12") and quarter.label() == "4.º trimestre de 2026"
    assert parse_period("2028-02").end == date(2028, 2, 29)  # a leap year
    assert parse_period("2026-T1").end == date(2026, 3, 31)
    assert quarter_of("2026-05") == parse_period("2026-T2")
    assert sorted(parse_period(p) for p in ("2026-T4", "2026-11", "2026-T3", "2026-10", "2026-09", "2026-12")) == [
        parse_period(p) for p in ("2026-09", "2026-T3", "2026-10", "2026-11", "2026-12", "2026-T4")
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "obligatorio"),
        ("2026-13", "no existe"),
        ("2026-00", "no existe"),
        ("2026-Q4", "No se reconoce"),
        ("2026-T5", "No se reconoce"),
        ("11-2026", "No se reconoce"),
        ("2026-1", "No se reconoce"),
        ("1999-12", "año"),
    ],
)
def test_an_unknown_period_format_names_the_period_field(text: str, words: str) -> None:
    with pytest.raises(PeriodInvalid) as caught:
        parse_period(text)
    assert isinstance(caught.value, vocabulary.InvalidArgument)
    assert list(caught.value.fields) == ["period"] and words in caught.value.fields["period"]


# -- figures -----------------------------------------------------------------------------
def test_negative_missing_fractional_and_float_amounts_are_each_named() -> None:
    with pytest.raises(StatementInvalid) as caught:
        figures_from(typed(sales="-1", cost_of_sales="", current_assets="12.5", non_current_assets=1.0))
    fields = caught.value.fields
    assert set(fields) == {"sales", "cost_of_sales", "current_assets", "non_current_assets"}
    assert "no puede ser negativo" in fields["sales"] and fields["sales"].startswith("Ventas")
    assert "escriba el monto" in fields["cost_of_sales"]
    assert "sin centavos" in fields["current_assets"]
    assert "punto flotante" in fields["non_current_assets"]
    with pytest.raises(StatementInvalid) as too_big:
        figures_from(typed(operating_expenses="10000000000000"))
    assert "demasiado grande" in too_big.value.fields["operating_expenses"]
    with pytest.raises(StatementInvalid) as text:
        figures_from(typed(current_liabilities="mucho"))
    assert "no es un número" in text.value.fields["current_liabilities"]


def test_equity_is_optional_and_may_be_negative_and_amounts_may_be_zero() -> None:
    figures = figures_from(typed(sales=0, equity="-500000", cost_of_sales="0.000"))
    assert figures.equity == D(-500000) and figures.sales == 0 and str(figures.cost_of_sales) == "0"
    assert figures_from(typed(equity="  ")).equity is None


# -- one period's statements and ratios ------------------------------------------------------
def test_the_income_statement_balance_sheet_and_ratios_of_a_period() -> None:
    # Sales 10 M, cost 6 M, expenses 2.5 M: gross profit 4 M (40 %), net income 1.5 M (15 %).
    # Assets 3 M + 7 M = 10 M; liabilities typed 1 M + 2 M, loans 0.5 M (current):
    # current liabilities 1.5 M, total 3.5 M, equity 6.5 M; current ratio 3 / 1.5 = 2; debt 3.5 / 10.
    s = statement(loans="500000", equity="6500000")
    assert (s.gross_profit, s.net_income) == (D(4_000_000), D(1_500_000))
    assert (s.total_assets, s.current_liabilities_total, s.total_liabilities, s.equity) == (
        D(10_000_000),
        D(1_500_000),
        D(3_500_000),
        D(6_500_000),
    )
    r = s.ratios
    assert (r.gross_margin, r.net_margin, r.current_ratio, r.debt_ratio) == (D("0.4"), D("0.15"), D(2), D("0.35"))
    assert s.sales_source == "asesor"
    # A loss: expenses above the gross profit give a negative net margin.
    loss = statement(operating_expenses="5000000")
    assert (loss.net_income, loss.ratios.net_margin) == (D(-1_000_000), D("-0.1"))


def test_ratios_are_none_where_the_denominator_is_zero_and_rounded_to_four_places() -> None:
    empty = statement(
        sales="0", cost_of_sales="0", operating_expenses="0", current_assets="0", non_current_assets="0",
        current_liabilities="0", non_current_liabilities="0",
    )  # fmt: skip
    assert set(empty.ratios.as_dict().values()) == {None}
    assert list(empty.ratios.as_dict()) == ["gross_margin", "net_margin", "current_ratio", "debt_ratio"]
    # No current liabilities but a loan: the loan makes the current ratio defined.
    assert statement(current_liabilities="0", loans="1500000").ratios.current_ratio == D(2)
    assert statement(current_liabilities="0").ratios.current_ratio is None
    assert (ratio(D(1), D(3)), ratio(D(2), D(3)), ratio(D(1), D(0))) == (D("0.3333"), D("0.6667"), None)


def test_a_typed_equity_that_does_not_add_up_is_refused_naming_equity() -> None:
    # Without the loan of 500,000 the equity would be 7 M: the adviser forgot the loans.
    with pytest.raises(StatementInvalid) as caught:
        statement(loans="500000", equity="7000000")
    message = caught.value.fields["equity"]
    assert "no cuadra" in message and "$ 6.500.000" in message and "$ 500.000 de créditos" in message
    with pytest.raises(StatementInvalid) as notes:
        build_statement(parse_period("2026-11"), figures_from(typed()), D(0), AS_OF, notes="x" * 2001)
    assert "notes" in notes.value.fields


def test_the_same_period_twice_is_refused_naming_the_period() -> None:
    with pytest.raises(StatementInvalid) as caught:
        in_order([statement("2026-11"), statement("2026-10"), statement("2026-11")])
    assert "2026-11 está repetido" in caught.value.fields["period"]
    assert [s.period.key for s in in_order([statement("2026-11"), statement("2026-T4"), statement("2026-10")])] == [
        "2026-10",
        "2026-11",
        "2026-T4",
    ]


# -- trends ------------------------------------------------------------------------------
def test_trends_follow_each_kind_of_period_and_skip_undefined_values() -> None:
    # Gross margins: Sept 40 %, Oct 35 %, Nov no sales (undefined), Dec 50 %; a quarter apart.
    found = trends(
        [
            statement("2026-12", sales="2000000", cost_of_sales="1000000", operating_expenses="0"),
            statement("2026-09", sales="1000000", cost_of_sales="600000", operating_expenses="0"),
            statement("2026-T4", sales="3000000", cost_of_sales="1500000", operating_expenses="0"),
            statement("2026-11", sales="0", cost_of_sales="0", operating_expenses="0"),
            statement("2026-10", sales="1000000", cost_of_sales="650000", operating_expenses="0"),
        ]
    )
    assert [(t.kind, t.ratio) for t in found][:4] == [
        (PeriodKind.MONTHLY, "gross_margin"),
        (PeriodKind.MONTHLY, "net_margin"),
        (PeriodKind.MONTHLY, "current_ratio"),
        (PeriodKind.MONTHLY, "debt_ratio"),
    ]
    assert len(found) == 8
    gross = found[0]
    assert [(p.period.key, p.value, p.change, p.direction) for p in gross.points] == [
        ("2026-09", D("0.4"), None, ""),
        ("2026-10", D("0.35"), D("-0.05"), "baja"),
        ("2026-11", None, None, ""),
        ("2026-12", D("0.5"), D("0.15"), "sube"),
    ]
    assert gross.last_direction == "sube" and gross.label == "Margen bruto"
    debt = found[3]  # the balance sheet is the same each month: the debt ratio stays
    assert {p.direction for p in debt.points[1:]} == {"igual"} and debt.last_direction == "igual"
    quarter = found[4]
    assert quarter.kind == PeriodKind.QUARTERLY and [p.value for p in quarter.points] == [D("0.5")]
    assert quarter.last_direction == ""
    assert trends([]) == []
    with pytest.raises(StatementInvalid):
        trends([statement("2026-11"), statement("2026-11")])


# -- sales from follow-up actas --------------------------------------------------------------
FOLLOWUPS = [
    {"acta_id": "a-oct", "visited_at": "2026-10-05", "monthly_sales": "1000000"},
    {"acta_id": "a-nov-late", "visited_at": "2026-11-25", "monthly_sales": "2500000"},
    {"acta_id": "a-nov-early", "visited_at": "2026-11-03", "monthly_sales": "2000000"},
    {"acta_id": "a-dec", "visited_at": "2026-12-10", "monthly_sales": "3000000"},
    {"acta_id": "a-aug", "visited_at": "2026-08-14", "monthly_sales": "700000"},
    {"acta_id": "a-bad", "visited_at": "sin fecha", "monthly_sales": "9"},
]


def test_a_months_sales_come_from_its_latest_followup_and_a_quarter_needs_all_three() -> None:
    november = acta_sales(FOLLOWUPS, parse_period("2026-11"))
    assert november is not None
    assert (november.amount, november.acta_ids, november.complete) == (D(2_500_000), ("a-nov-late",), True)
    assert november.source() == "de acta a-nov-late"
    q4 = acta_sales(FOLLOWUPS, parse_period("2026-T4"))
    assert q4 is not None and (q4.amount, q4.acta_ids, q4.complete) == (
        D(6_500_000),
        ("a-oct", "a-nov-late", "a-dec"),
        True,
    )
    assert q4.source() == "de actas a-oct, a-nov-late, a-dec"
    q3 = acta_sales(FOLLOWUPS, parse_period("2026-T3"))
    assert q3 is not None and (q3.amount, q3.missing_months, q3.complete) == (D(700_000), ("2026-07", "2026-09"), False)
    assert acta_sales(FOLLOWUPS, parse_period("2026-T1")) is None
    assert acta_sales([], parse_period("2026-11")) is None


def test_offers_list_the_months_then_the_quarters_with_a_followup_newest_first() -> None:
    found = [(o.period.key, o.amount, o.complete) for o in offers(FOLLOWUPS)]
    assert found == [
        ("2026-12", D(3_000_000), True),
        ("2026-11", D(2_500_000), True),
        ("2026-10", D(1_000_000), True),
        ("2026-08", D(700_000), True),
        ("2026-T4", D(6_500_000), True),
        ("2026-T3", D(700_000), False),
    ]
    assert Period(date(2026, 10, 1), 3) == parse_period("2026-T4")
