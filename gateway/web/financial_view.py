"""What the financial statements page shows, from the income service's replies
(``ListStatements``): the statements as a table with one column per period, the
ratios' trends as chart tables (months and quarters apart), the form's values
(a period to correct, or the sales a follow-up acta offers) and the amounts a
person types (``$ 1.250.000``) as the decimal text the service reads."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.web import charts

FIELDS: dict[str, str] = {  # the form's fields, as the service names them in its errors
    "period": "Periodo",
    "sales_from_actas": "Ventas de las actas de seguimiento",
    "sales": "Ventas",
    "cost_of_sales": "Costo de ventas",
    "operating_expenses": "Gastos operacionales",
    "current_assets": "Activos corrientes",
    "non_current_assets": "Activos no corrientes",
    "current_liabilities": "Pasivos corrientes (sin créditos del programa)",
    "non_current_liabilities": "Pasivos no corrientes (sin créditos del programa)",
    "equity": "Patrimonio",
    "notes": "Notas",
}
AMOUNTS = tuple(k for k in FIELDS if k not in ("period", "sales_from_actas", "notes"))
SERIES = {"mensual": "Mensual", "trimestral": "Trimestral"}
DIRECTIONS = {"sube": "Sube", "baja": "Baja", "igual": "Igual", "": "Sin comparación"}
PERCENT_RATIOS = ("gross_margin", "net_margin", "debt_ratio")
# Each chart: its title, the ratios it draws and the unit of its axis.
CHARTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "margenes": ("Márgenes bruto y neto", ("gross_margin", "net_margin"), "Porcentaje de las ventas (%)"),
    "liquidez": ("Razón corriente", ("current_ratio",), "Veces"),
    "endeudamiento": ("Razón de endeudamiento", ("debt_ratio",), "Pasivos sobre activos (%)"),
}
_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")


def typed_amount(text: str) -> str:
    """What a person typed as pesos, as decimal text: ``$ 1.250.000`` -> ``1250000``.
    Anything else is passed on as typed, for the service to name."""
    value = text.strip().replace("$", "").replace(" ", "").replace("\u00a0", "")
    if _THOUSANDS.match(value):
        value = value.replace(".", "")
    return value


def pesos(text: str) -> str:
    """Decimal text as Colombian pesos: ``$ 1.234.567``, ``-$ 5.000``; empty: ``—``."""
    try:
        value = int(Decimal(text))
    except (InvalidOperation, ValueError):
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}$ {abs(value):,}".replace(",", ".")


def ratio_text(name: str, text: str) -> str:
    """A ratio for a person: ``40,00 %`` or ``2,50 veces``; undefined: ``No definido``."""
    if not text:
        return "No definido"
    value = Decimal(text)
    if name in PERCENT_RATIOS:
        return f"{value * 100:.2f} %".replace(".", ",")
    return f"{value:.2f} veces".replace(".", ",")


def change_text(name: str, text: str) -> str:
    """A change between periods: ``-15,00 puntos`` (percentages) or ``+0,50 veces``."""
    if not text:
        return ""
    value = Decimal(text) * (100 if name in PERCENT_RATIOS else 1)
    unit = "puntos" if name in PERCENT_RATIOS else "veces"
    return f"{value:+.2f} {unit}".replace(".", ",")


Cell = tuple[str, str]  # (the figure, a note under it: where it comes from)


def rows(statements: Sequence[Any]) -> list[tuple[str, list[Cell], bool]]:
    """The statements as rows (label, one cell per period, whether it is a total)."""
    s = statements

    def money(pick: Any) -> list[Cell]:
        return [(pesos(pick(x)), "") for x in s]

    def ratios(name: str) -> list[Cell]:
        return [(ratio_text(name, getattr(x.ratios, name)), "") for x in s]

    def sales(x: Any) -> Cell:
        return pesos(x.figures.sales), f"de acta {', '.join(x.sales_acta_ids)}" if x.sales_source == "acta" else ""

    return [
        ("Ventas", [sales(x) for x in s], False),
        ("Costo de ventas", money(lambda x: x.figures.cost_of_sales), False),
        ("Margen bruto", money(lambda x: x.gross_profit), True),
        ("Gastos operacionales", money(lambda x: x.figures.operating_expenses), False),
        ("Utilidad neta", money(lambda x: x.net_income), True),
        ("Activos corrientes", money(lambda x: x.figures.current_assets), False),
        ("Activos no corrientes", money(lambda x: x.figures.non_current_assets), False),
        ("Total activos", money(lambda x: x.total_assets), True),
        ("Pasivos corrientes (escritos por el asesor)", money(lambda x: x.figures.current_liabilities), False),
        ("Pasivos de créditos del programa", [(pesos(x.loan_liabilities), f"al {x.loans_as_of}") for x in s], False),
        ("Pasivos no corrientes", money(lambda x: x.figures.non_current_liabilities), False),
        ("Total pasivos", money(lambda x: x.total_liabilities), True),
        ("Patrimonio", money(lambda x: x.equity), True),
        ("Margen bruto (%)", ratios("gross_margin"), False),
        ("Margen neto (%)", ratios("net_margin"), False),
        ("Razón corriente", ratios("current_ratio"), False),
        ("Razón de endeudamiento (%)", ratios("debt_ratio"), False),
    ]


def series_of(trends: Sequence[Any], wanted: str) -> str:
    """The series to draw: the one asked for if present, else months, else quarters."""
    kinds = [k for k in SERIES if any(t.kind == k for t in trends)]
    if wanted in kinds:
        return wanted
    return kinds[0] if kinds else ""


def chart_tables(trends: Sequence[Any], kind: str) -> dict[str, charts.Table]:
    """Each chart of the series ``kind`` as a table (long form: one row per period
    and ratio); an undefined value is null, a gap in the line."""
    by_ratio = {t.ratio: t for t in trends if t.kind == kind}
    tables: dict[str, charts.Table] = {}
    for name, (title, ratios, unit) in CHARTS.items():
        table_rows: list[dict[str, Any]] = []
        for ratio in ratios:
            trend = by_ratio.get(ratio)
            if trend is None:
                continue
            for point in trend.points:
                value = None
                if point.value:
                    scaled = Decimal(point.value) * (100 if ratio in PERCENT_RATIOS else 1)
                    value = float(scaled.quantize(Decimal("0.01")))  # for drawing only
                table_rows.append({"period": point.period, "ratio": trend.label, "value": value})
        if any(r["value"] is not None for r in table_rows):
            columns = (("period", "Periodo"), ("ratio", "Razón"), ("value", unit))
            tables[name] = charts.Table(f"{title} ({SERIES[kind].lower()})", columns, table_rows)
    return tables


def form_values(statements: Sequence[Any], period: str, offers: Sequence[Any]) -> tuple[dict[str, str], int]:
    """The form's values and revision for ``period``: the recorded statement (to
    correct it), or the sales a complete follow-up acta offer gives; else empty."""
    for s in statements:
        if s.period == period:
            values = {name: getattr(s.figures, name) for name in AMOUNTS}
            values.update(period=s.period, notes=s.notes, sales_from_actas="1" if s.sales_source == "acta" else "")
            return values, int(s.revision)
    for offer in offers:
        if offer.period == period and offer.complete:
            return {"period": period, "sales": offer.amount, "sales_from_actas": "1"}, 0
    return ({"period": period} if period else {}), 0


def posted_values(form: Mapping[str, str]) -> dict[str, str]:
    """The form as typed (to show it again), amounts cleaned of ``$`` and dots."""
    values = {name: form.get(name, "").strip() for name in FIELDS}
    values.update({name: typed_amount(values[name]) for name in AMOUNTS})
    values["sales_from_actas"] = "1" if form.get("sales_from_actas") else ""
    return values
