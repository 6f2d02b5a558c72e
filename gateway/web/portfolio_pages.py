"""Cartera (``/app/cartera``): the portfolio indicators as microfinance reports them
(PAR30, PAR90, arrears rate, repayment rate) in total and grouped by community,
adviser, sector or owner's sex; each group as a table row and a bar of a server-side
SVG chart (its data as a table and CSV/XLSX/Vega-Lite downloads), drilling down to
its loans (the filtered list, and the loans the service lists first: the most late).
The roles that may close the day get "Cerrar el día" (the close of business for a
date that is over), whose result the page shows."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as pb
from gateway.web import charts, forms
from gateway.web import income_support as inc
from gateway.web import loan_support as ls
from gateway.web.app import Staff, WebApp
from gateway.web.financial_view import pesos

PATH = "/app/cartera"
GROUPS = {
    "": "Sin agrupar",
    "comunidad": "Comunidad",
    "asesor": "Asesor",
    "sector": "Sector",
    "sexo": "Sexo del titular",
}
INDICATORS = {"par30": "PAR30", "par90": "PAR90", "arrears_rate": "Tasa de mora", "repayment_rate": "Tasa de recaudo"}
DRILL = {"comunidad": "comunidad", "asesor": "asesor", "sector": "sector"}  # the list's filter of each grouping
IDS_PER_GROUP = 20


def _fraction(text: str) -> float | None:
    try:
        return float((Decimal(text) * 100).quantize(Decimal("0.01")))  # for drawing only
    except (InvalidOperation, ValueError):
        return None


def register(app: FastAPI, web: WebApp) -> None:
    def options(request: Request) -> tuple[str, str, str]:
        group = request.query_params.get("por", "comunidad")
        indicator = request.query_params.get("indicador", "par30")
        day = request.query_params.get("fecha", "")[:10]
        return (group if group in GROUPS else "comunidad", indicator if indicator in INDICATORS else "par30", day)

    def labels_of(staff: Staff, group: str) -> dict[str, str]:
        if group == "comunidad":
            return inc.communities(web, staff)
        if group == "sector":
            return inc.sectors(web, staff)
        if group == "sexo":
            return ls.SEXES
        return {}

    def fetch(staff: Staff, group: str, day: str) -> Any:
        request = pb.PortfolioRequest(as_of=day, group_by=group, ids_per_group=IDS_PER_GROUP)
        return web.backend.call(web.backend.loans.PortfolioIndicators, request, staff.user)

    def table(reply: Any, group: str, indicator: str, names: dict[str, str]) -> charts.Table:
        title = f"{INDICATORS[indicator]} por {GROUPS[group].lower()} al {reply.as_of}"
        rows = [
            {"grupo": names.get(g.key, g.key or "Sin dato"), "valor": _fraction(getattr(g.indicators, indicator)),
             "creditos": g.indicators.loans}
            for g in reply.groups
        ]  # fmt: skip
        columns = (("grupo", GROUPS[group]), ("valor", f"{INDICATORS[indicator]} (%)"), ("creditos", "Créditos"))
        return charts.Table(title, columns, rows)

    def page(
        request: Request,
        staff: Staff,
        closing: Any = None,
        problems: dict[str, str] | None = None,
        typed: str = "",
        status: int = 200,
    ) -> HTMLResponse:
        group, indicator, day = options(request)
        try:
            reply = fetch(staff, group, day)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            problems = {**(problems or {}), "fecha": "Escriba la fecha como AAAA-MM-DD"}
            reply, day, status = fetch(staff, group, ""), "", 400
        names = labels_of(staff, group)
        query = {"por": group, "indicador": indicator, **({"fecha": day} if day else {})}
        groups = [
            {
                "key": g.key,
                "label": names.get(g.key, g.key or "Sin dato"),
                "ind": g.indicators,
                "ids": list(g.loan_ids),
                "truncated": g.truncated,
                "link": f"{ls.SECTION}?{urlencode({DRILL[group]: g.key, 'estado': 'activo'})}"
                if group in DRILL and g.key else "",
            }
            for g in reply.groups
        ]  # fmt: skip
        drawn = table(reply, group, indicator, names) if group else None
        yesterday = (ls.today() - timedelta(days=1)).isoformat()
        return web.render(
            request,
            staff,
            "cartera.html",
            status=status,
            title="Cartera e indicadores",
            reply=reply,
            totals=reply.totals,
            groups=groups,
            group=group,
            indicator=indicator,
            day=day,
            group_names=GROUPS,
            indicator_names=INDICATORS,
            chart=drawn,
            drawable=drawn is not None and any(r["valor"] is not None for r in drawn.rows),
            chart_query=urlencode(query),
            percent=ls.percent,
            pesos=pesos,
            can_close=ls.may(staff, "CloseBusinessDay"),
            closing=closing,
            close_day=typed or yesterday,
            problems=problems or {},
        )

    @app.get(PATH, response_class=HTMLResponse, include_in_schema=False)
    def portfolio(request: Request) -> HTMLResponse:
        return page(request, ls.reader(web, request))

    @app.post(f"{PATH}/cierre", include_in_schema=False)
    def close_day(request: Request, form: forms.Posted) -> Response:
        staff = ls.writer(web, request, "CloseBusinessDay")
        web.check_csrf(staff, form.get("csrf", ""))
        typed = form.get("date", "").strip()[:10]
        try:
            day = date.fromisoformat(typed)
        except ValueError:
            return page(request, staff, None, {"date": "Escriba la fecha como AAAA-MM-DD"}, typed, 400)
        try:
            done = web.backend.call(
                web.backend.loans.CloseBusinessDay, pb.CloseBusinessRequest(date=day.isoformat()), staff.user
            )
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return page(request, staff, None, problems, typed, status)
        return page(request, staff, done, None, typed)

    @app.get(f"{PATH}/grafica.{{fmt}}", include_in_schema=False)
    def chart(request: Request, fmt: str) -> Response:
        staff = ls.reader(web, request)
        group, indicator, day = options(request)
        if fmt not in ("svg", "json", *charts.DOWNLOADS) or not group:
            return ls.not_found(web, request, staff, "Ese gráfico no existe.")
        try:
            reply = fetch(staff, group, day)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return ls.not_found(web, request, staff, "Ese gráfico no existe.")
        data = table(reply, group, indicator, labels_of(staff, group))
        name = f"cartera-{indicator}-{group}"
        if fmt in charts.DOWNLOADS:
            return charts.download(data, fmt, name)
        spec = charts.bar_spec(data, "grupo", "valor")
        headers = {"Cache-Control": "no-store"}
        if fmt == "json":
            headers["Content-Disposition"] = f'attachment; filename="{name}.vl.json"'
            return Response(json.dumps(spec, ensure_ascii=False), media_type="application/json", headers=headers)
        return Response(charts.svg(spec), media_type="image/svg+xml", headers=headers)
