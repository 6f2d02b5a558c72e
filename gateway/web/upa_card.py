"""Inicio's UPA section: the headline indicator of income generation (% active
productive units, ``services/reports/kpis/upa.yaml``) today, beside the two
figures it is read against (the case study's 43 % and the usual 10 to 15 %), and
its monthly series as a line chart with those references drawn in (SVG from the
server, its table and downloads, like every chart of the app)."""

from __future__ import annotations

import logging
from typing import Any

import altair as alt
import grpc

from crm_platform.access import allows
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2 as rpb
from gateway import auth
from gateway.web import charts, kpi_pages
from gateway.web.app import WebApp
from services.reports.access import ACCESS as REPORTS

log = logging.getLogger(__name__)
CODE = "upa"
CHART = "upa-mensual"
CASE_STUDY = 43.0  # % UPA the case study reports
USUAL = (10.0, 15.0)  # % UPA such programmes usually reach
COLUMNS = (("mes", "Mes"), ("upa", "UPA (%)"), ("activas", "UP activas"), ("implementadas", "UP en implementación"))


def series(web: WebApp, user: auth.User) -> rpb.KpiSeries | None:
    """The UPA series, None for a role that may not read it or without a UPA definition;
    raises ``grpc.RpcError`` when the reports service does not answer."""
    if not allows(REPORTS, user.role, "GetKpiSeries"):
        return None
    try:
        return web.backend.call(web.backend.reports.GetKpiSeries, rpb.GetKpiSeriesRequest(code=CODE), user)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def table_of(reply: rpb.KpiSeries) -> charts.Table:
    rows = [
        {
            "mes": p.month,
            "upa": round(p.total.value, 1),
            "activas": int(p.total.numerator),
            "implementadas": int(p.total.denominator),
        }
        for p in reply.points
    ]
    return charts.Table("UPA mes a mes (último día de cada mes; hoy en el mes en curso)", COLUMNS, rows)


def card(web: WebApp, user: auth.User) -> dict[str, Any] | None:
    """What the section shows; None when it is not shown, ``unavailable`` when the
    reports service does not answer (Inicio still opens)."""
    try:
        reply = series(web, user)
    except grpc.RpcError as exc:
        if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise
        log.warning("reports service unavailable: Inicio shows no UPA (%s)", exc.code())
        return {"unavailable": True}
    if reply is None or not reply.points:
        return None
    today = reply.points[-1]
    return {
        "unavailable": False,
        "name": reply.kpi.name,
        "value": kpi_pages.shown(today.total.value, "percent"),
        "numerator": int(today.total.numerator),
        "denominator": int(today.total.denominator),
        "numerator_label": reply.kpi.numerator_label,
        "denominator_label": reply.kpi.denominator_label,
        "as_of": kpi_pages.local_day(today.as_of),
        "case_study": kpi_pages.shown(CASE_STUDY, "percent"),
        "usual": f"{USUAL[0]:.0f} a {USUAL[1]:.0f}\u00a0%",
        "table": table_of(reply),
        "chart": CHART,
        "months": len(reply.points),
    }


def spec(table: charts.Table) -> dict[str, Any]:
    """The series as a line, over a band at the usual 10-15 % and a dashed rule at
    the case study's 43 %, each labelled (Vega-Lite)."""
    labels = dict(table.columns)
    order = [row["mes"] for row in table.rows]
    top = max([CASE_STUDY + 7, *(float(r["upa"]) for r in table.rows)])
    y = alt.Y("upa:Q", title=labels["upa"], scale=alt.Scale(domain=[0, min(100.0, top)]))
    line = (
        alt.Chart(alt.Data(values=list(table.rows)))
        .mark_line(point=True, color=charts.ACCENT)
        .encode(
            x=alt.X("mes:O", title=labels["mes"], sort=order, axis=alt.Axis(labelAngle=-45)),
            y=y,
            tooltip=[alt.Tooltip(f"{k}:{'N' if k == 'mes' else 'Q'}", title=v) for k, v in table.columns],
        )
    )
    band_data = alt.Data(values=[{"upa": USUAL[0], "hasta": USUAL[1], "texto": "Habitual: 10 a 15 %"}])
    band = alt.Chart(band_data).mark_rect(color="#8a8a8a", opacity=0.2).encode(y=y, y2="hasta:Q")
    band_text = (
        alt.Chart(band_data)
        .mark_text(align="left", dx=4, dy=-4, color="#444")
        .encode(y=alt.Y("hasta:Q"), x=alt.value(0), text="texto:N")
    )
    rule_data = alt.Data(values=[{"upa": CASE_STUDY, "texto": "Caso de estudio: 43 %"}])
    rule = alt.Chart(rule_data).mark_rule(color="#9b2c2c", strokeDash=[6, 4]).encode(y=y)
    rule_text = (
        alt.Chart(rule_data)
        .mark_text(align="left", dx=4, dy=-6, color="#9b2c2c")
        .encode(y=alt.Y("upa:Q"), x=alt.value(0), text="texto:N")
    )
    chart = alt.layer(band, band_text, rule, rule_text, line, title=table.title).properties(
        width=charts.WIDTH, height=charts.HEIGHT
    )
    out: dict[str, Any] = chart.to_dict()
    return out
