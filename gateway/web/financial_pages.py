"""A UP's financial statements (``/app/unidades/{id}/estados-financieros``): the
recorded periods as a table (one column per period), the ratios' trends as
server-side SVG charts (months or quarters, with their data as tables and
downloads), the sales the follow-up actas offer ("de acta <id>"), and, for the
roles the income service lets record them, the form of one period (the
service's errors beside each field, the values typed kept)."""

from __future__ import annotations

import json
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway.web import charts, forms
from gateway.web import financial_view as view
from gateway.web import income_support as inc
from gateway.web.app import Staff, WebApp

PAGE = "/app/unidades/{unit_id}/estados-financieros"
NOTICES = {"guardado": "Estado financiero guardado."}


def register(app: FastAPI, web: WebApp) -> None:
    def not_found(request: Request, staff: Staff) -> HTMLResponse:
        return web.render(
            request, staff, "error.html", status=404, title="No encontrado", message="No existe esa unidad productiva."
        )

    def load(staff: Staff, unit_id: str) -> tuple[Any, Any]:
        unit = web.backend.call(web.backend.income.GetUnit, pb.GetUnitRequest(id=unit_id[:64]), staff.user)
        found = web.backend.call(
            web.backend.income.ListStatements, pb.ListStatementsRequest(unit_id=unit.id), staff.user
        )
        return unit, found

    def page(
        request: Request,
        staff: Staff,
        unit_id: str,
        values: dict[str, str] | None = None,
        revision: int = 0,
        problems: dict[str, str] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        try:
            unit, found = load(staff, unit_id)
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return not_found(request, staff)
            raise
        period = request.query_params.get("periodo", "")[:16]
        if values is None:
            values, revision = view.form_values(found.statements, period, found.offers)
        series = view.series_of(found.trends, request.query_params.get("serie", ""))
        trends = [t for t in found.trends if t.kind == series]
        return web.render(
            request,
            staff,
            "estados_financieros.html",
            status=status,
            title=f"Estados financieros de {unit.name}",
            unit=unit,
            statements=found.statements,
            rows=view.rows(found.statements),
            trends=trends,
            series=series,
            series_names=view.SERIES,
            kinds=[k for k in view.SERIES if any(t.kind == k for t in found.trends)],
            tables=view.chart_tables(found.trends, series),
            offers=found.offers,
            loans_today=view.pesos(found.loan_liabilities_today),
            pesos=view.pesos,
            ratio_text=view.ratio_text,
            change_text=view.change_text,
            directions=view.DIRECTIONS,
            values=values,
            revision=revision,
            problems=problems or {},
            labels=view.FIELDS,
            amounts=view.AMOUNTS,
            can_record=inc.may(staff, "RecordStatement"),
            notice=NOTICES.get(request.query_params.get("hecho", ""), ""),
        )

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    def statements_page(request: Request, unit_id: str) -> HTMLResponse:
        staff = web.member(request, inc.SECTION)
        return page(request, staff, unit_id)

    @app.post(PAGE, include_in_schema=False)
    def record(request: Request, unit_id: str, form: forms.Posted) -> Response:
        staff = inc.writer(web, request, "RecordStatement")
        web.check_csrf(staff, form.get("csrf", ""))
        values = view.posted_values(form)
        try:
            revision = max(0, int(form.get("revision", "0")))
        except ValueError:
            revision = 0
        message = pb.RecordStatementRequest(
            unit_id=unit_id[:64],
            period=values["period"],
            figures=pb.StatementFigures(**{name: values[name] for name in view.AMOUNTS}),
            expected_revision=revision,
            sales_from_actas=values["sales_from_actas"] == "1",
            notes=values["notes"],
        )
        try:
            saved = web.backend.call(web.backend.income.RecordStatement, message, staff.user)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            if status == 404:
                return not_found(request, staff)
            if "expected_version" in problems:  # stale: the message says what to do
                problems = {"": exc.details() or "El estado financiero cambió: vuelva a cargarlo"}
            return page(request, staff, unit_id, values, revision, problems, status)
        where = f"/app/unidades/{unit_id}/estados-financieros?hecho=guardado&periodo={saved.period}#periodos"
        return RedirectResponse(where, status_code=303)

    @app.get(f"{PAGE}/graficas/{{name}}.{{fmt}}", include_in_schema=False)
    def chart(request: Request, unit_id: str, name: str, fmt: str) -> Response:
        staff = web.member(request, inc.SECTION)
        try:
            _, found = load(staff, unit_id)
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return not_found(request, staff)
            raise
        series = view.series_of(found.trends, request.query_params.get("serie", ""))
        table = view.chart_tables(found.trends, series).get(name) if series else None
        if table is None or fmt not in ("svg", "json", *charts.DOWNLOADS):
            return web.render(
                request, staff, "error.html", status=404, title="No encontrado", message="Ese gráfico no existe."
            )
        if fmt in charts.DOWNLOADS:
            return charts.download(table, fmt, f"estados-{name}-{series}")
        spec = charts.line_spec(table, "period", "value", "ratio")
        headers = {"Cache-Control": "no-store"}
        if fmt == "json":
            headers["Content-Disposition"] = f'attachment; filename="estados-{name}-{series}.vl.json"'
            return Response(json.dumps(spec, ensure_ascii=False), media_type="application/json", headers=headers)
        return Response(charts.svg(spec), media_type="image/svg+xml", headers=headers)
