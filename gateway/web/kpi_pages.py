"""Indicadores: the KPIs the reports service defines as data (``services/reports/kpis``).

One page serves every KPI (``/app/indicadores/{code}``): its value at a cut-off date,
broken down by one of its disaggregations (``?por=comunidad|gestor|sexo|edad``) as a
chart, its table and CSV/XLSX/Vega-Lite downloads, and the records behind a group
(``?clave=...``), a page at a time, each linked to its household, person or acta.
A KPI added as a YAML file appears here and on Inicio with no code. Values come
from the service's snapshots; the page says when they were computed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from crm_platform.access import allows
from crm_platform.grpc_support import field_errors
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2 as rpb
from gateway import auth
from gateway.web import charts
from gateway.web.app import Staff, WebApp
from services.income.access import ACCESS as INCOME
from services.reports.access import ACCESS as REPORTS

log = logging.getLogger(__name__)
COLOMBIA = ZoneInfo("America/Bogota")
PATH = "/app/indicadores"
PAGE = 25
DIMENSIONS = {
    "": "Sin desagregar",
    "comunidad": "Comunidad",
    "gestor": "Gestor",
    "sexo": "Sexo",
    "edad": "Edad",
    "sector": "Sector",
    "tipo": "Tipo de unidad",
}
FIELD_LABELS = {
    "name": "Nombre",
    "community": "Comunidad",
    "registered_on": "Registrado el",
    "last_visit": "Última visita",
    "head_id": "Jefe de hogar",
    "family_id": "Hogar",
    "sex": "Sexo",
    "birth_date": "Fecha de nacimiento",
    "acta_id": "Acta",
    "beneficiary_id": "Persona",
    "gestor_id": "Gestor",
    "template": "Tipo de acta",
    "day": "Fecha del acta",
    # productive units: the acta is the follow-up that evidences the value
    "sector": "Sector",
    "kind": "Tipo",
    "stage": "Etapa",
    "implemented_on": "En implementación desde",
    "followup_day": "Fecha del seguimiento",
    "operating": "Opera",
    "monthly_sales": "Ventas del mes (COP)",
}
LINKS = {
    "households": "/app/hogares/",
    "people": "/app/personas/",
    "participations": "/app/actas/",
    "productive_units": "/app/unidades/",
}
SEXES = {
    "female": "Mujer",
    "male": "Hombre",
    "intersex": "Intersexual",
    "mixto": "Mixto (propietarios de distinto sexo)",
    "sin_dato": "Sin dato",
}
KINDS = {"emprendimiento": "Emprendimiento", "fortalecimiento": "Fortalecimiento"}


def shown(value: float, unit: str) -> str:
    """A value as Colombians write it: ``45,5 %`` or ``1.234``."""
    if unit == "percent":
        return f"{value:.1f}".replace(".", ",") + "\u00a0%"  # no line break before the sign
    return f"{int(value):,}".replace(",", ".")


def local_day(iso: str) -> str:
    """``2026-12-06`` -> ``06/12/2026``."""
    return "/".join(reversed(iso.split("-"))) if iso.count("-") == 2 else iso


def computed_label(value: rpb.KpiValue) -> str:
    at = value.computed_at.ToDatetime(tzinfo=UTC).astimezone(COLOMBIA)
    return at.strftime("%d/%m/%Y %H:%M")


@dataclass(frozen=True)
class Card:
    code: str
    name: str
    value: str
    detail: str
    as_of: str
    computed_at: str
    alert: bool


def cards(web: WebApp, user: auth.User) -> list[Card] | None:
    """Inicio's KPI cards (every KPI's value today); None when the role may not read
    them, [] when the reports service does not answer."""
    if not allows(REPORTS, user.role, "ListKpis"):
        return None
    try:
        reply = web.backend.call(web.backend.reports.ListKpis, rpb.ListKpisRequest(), user)
    except grpc.RpcError as exc:
        if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise
        log.warning("reports service unavailable: Inicio shows no KPI cards (%s)", exc.code())
        return []  # Inicio still opens; the section says the figures are unavailable
    out = []
    for kpi, value in zip(reply.kpis, reply.values, strict=True):
        total = value.total
        of = f"{shown(total.numerator, 'count')} de {shown(total.denominator, 'count')}"
        detail = of if kpi.unit == "percent" else kpi.numerator_label
        out.append(
            Card(
                kpi.code,
                kpi.name,
                shown(total.value, kpi.unit),
                detail,
                local_day(value.as_of),
                computed_label(value),
                kpi.alert and total.value > 0,
            )
        )
    return out


@dataclass
class Query:
    por: str
    fecha: str
    clave: str
    parte: str
    despues: str

    @classmethod
    def read(cls, request: Request) -> Query:
        q = request.query_params
        parte = q.get("parte", "numerator")
        return cls(
            q.get("por", "")[:20],
            q.get("fecha", "")[:10],
            q.get("clave", "")[:200],
            parte if parte in ("numerator", "denominator") else "numerator",
            q.get("despues", "")[:200],
        )

    def link(self, **changes: str) -> str:
        values = {"por": self.por, "fecha": self.fecha, **changes}
        return urlencode({k: v for k, v in values.items() if v})


def table_of(value: rpb.KpiValue, names: dict[str, str]) -> charts.Table:
    kpi = value.kpi
    label = DIMENSIONS.get(value.by, "Grupo")
    columns: list[tuple[str, str]] = [("grupo", label), ("valor", "Valor (%)" if kpi.unit == "percent" else "Valor")]
    if kpi.unit == "percent":
        columns += [("numerador", kpi.numerator_label), ("denominador", kpi.denominator_label)]
    groups = value.groups if value.by else [value.total]
    rows = [
        {
            "grupo": names.get(g.key) or g.label or g.key,
            "valor": round(g.value, 1),
            "numerador": int(g.numerator),
            "denominador": int(g.denominator),
        }
        for g in groups
    ]
    return charts.Table(f"{kpi.name} por {label.lower()}" if value.by else kpi.name, tuple(columns), rows)


def register(app: FastAPI, web: WebApp) -> None:
    def fetch(staff: Staff, code: str, query: Query) -> rpb.KpiValue:
        request = rpb.GetKpiValueRequest(code=code, as_of=query.fecha, by=query.por)
        return web.backend.call(web.backend.reports.GetKpiValue, request, staff.user)

    def gestor_names(staff: Staff, value: rpb.KpiValue) -> dict[str, str]:
        """Names of the groups the service labels by key: gestores and sectors."""
        if value.by == "sector":
            return sector_names(staff)
        return web.users.full_names([g.key for g in value.groups]) if value.by == "gestor" else {}

    def sector_names(staff: Staff) -> dict[str, str]:
        if not allows(INCOME, staff.user.role, "ListSectors"):
            return {}
        reply = web.backend.call(web.backend.income.ListSectors, ipb.ListSectorsRequest(), staff.user)
        return {s.code: s.label for s in reply.sectors}

    def refused(request: Request, staff: Staff, exc: grpc.RpcError, code: str) -> HTMLResponse:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return web.render(
                request, staff, "error.html", status=404, title="No encontrado", message="Ese indicador no existe."
            )
        if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise exc
        problems = field_errors(exc) or {"": exc.details() or "Solicitud inválida"}
        errors = {{"as_of": "fecha", "by": "por"}.get(k, k): v for k, v in problems.items()}
        query = Query.read(request)
        return web.render(
            request, staff, "indicador.html", status=400, title="Indicador", code=code, value=None,
            query=query, errors=errors, dimensions={"": DIMENSIONS[""]},
        )  # fmt: skip

    @app.get(PATH, response_class=HTMLResponse, include_in_schema=False)
    def kpi_list(request: Request) -> HTMLResponse:
        staff = web.member(request, PATH)
        return web.render(request, staff, "indicadores.html", title="Indicadores", cards=cards(web, staff.user))

    @app.get(PATH + "/{code}", response_class=HTMLResponse, include_in_schema=False)
    def kpi_page(request: Request, code: str) -> HTMLResponse:
        staff = web.member(request, PATH)
        query = Query.read(request)
        try:
            value = fetch(staff, code, query)
            names = gestor_names(staff, value)
            records = drill(staff, code, query, value, names) if query.clave or not query.por else None
        except grpc.RpcError as exc:
            return refused(request, staff, exc, code)
        dims = {k: v for k, v in DIMENSIONS.items() if not k or k in value.kpi.disaggregations}
        return web.render(
            request, staff, "indicador.html", title=value.kpi.name, code=code, value=value, query=query,
            errors={}, dimensions=dims, table=table_of(value, names), names=names, records=records,
            shown=shown, as_of=local_day(value.as_of), computed_at=computed_label(value),
        )  # fmt: skip

    def drill(staff: Staff, code: str, query: Query, value: rpb.KpiValue, names: dict[str, str]) -> dict[str, Any]:
        request = rpb.DrillDownRequest(
            code=code, as_of=query.fecha, by=query.por, key=query.clave, part=query.parte,
            after=query.despues, limit=PAGE,
        )  # fmt: skip
        reply = web.backend.call(web.backend.reports.DrillDown, request, staff.user)
        fields = [f for f in FIELD_LABELS if any(f in r.fields for r in reply.records)]
        gestores = web.users.full_names([r.fields["gestor_id"] for r in reply.records if "gestor_id" in r.fields])
        sectors = sector_names(staff) if "sector" in fields else {}
        rows = []
        for r in reply.records:
            cells = {f: r.fields.get(f, "") for f in fields}
            links = {}
            if reply.source == "productive_units":
                cells["sector"] = sectors.get(cells["sector"], cells["sector"])
                cells["kind"] = KINDS.get(cells["kind"], cells["kind"])
                if cells.get("monthly_sales"):
                    cells["monthly_sales"] = shown(float(cells["monthly_sales"]), "count")
                if cells.get("acta_id"):
                    links["acta_id"] = "/app/actas/" + cells["acta_id"]
            if "head_id" in cells:
                cells["head_id"] = "Sí" if cells["head_id"] else "No"
            if "sex" in cells:
                cells["sex"] = SEXES.get(cells["sex"], cells["sex"])
            if "gestor_id" in cells:
                cells["gestor_id"] = gestores.get(cells["gestor_id"]) or cells["gestor_id"]
            for f in ("registered_on", "last_visit", "birth_date", "day", "implemented_on", "followup_day"):
                if cells.get(f):
                    cells[f] = local_day(cells[f])
            href = LINKS[reply.source] + _target(reply.source, r)
            rows.append({"id": r.id, "href": href, "cells": cells, "links": links})
        label = names.get(query.clave) or next((g.label for g in value.groups if g.key == query.clave), query.clave)
        more = query.link(clave=query.clave, parte=query.parte, despues=reply.next_after) if reply.next_after else ""
        return {
            "columns": [(f, FIELD_LABELS[f]) for f in fields],
            "rows": rows,
            "group": label or "Total",
            "part": value.kpi.numerator_label if query.parte == "numerator" else value.kpi.denominator_label,
            "more": more,
        }

    @app.get(PATH + "/{code}/datos.{fmt}", include_in_schema=False)
    def kpi_data(request: Request, code: str, fmt: str) -> Response:
        staff = web.member(request, PATH)
        query = Query.read(request)
        if fmt not in ("svg", "json", *charts.DOWNLOADS):
            return web.render(request, staff, "error.html", status=404, title="No encontrado", message="No existe.")
        try:
            value = fetch(staff, code, query)
        except grpc.RpcError as exc:
            return refused(request, staff, exc, code)
        table = table_of(value, gestor_names(staff, value))
        name = f"{code}-{query.por or 'total'}-{value.as_of}"
        if fmt in charts.DOWNLOADS:
            return charts.download(table, fmt, name)
        spec = charts.bar_spec(table, "grupo", "valor")
        headers = {"Cache-Control": "no-store"}
        if fmt == "json":
            headers["Content-Disposition"] = f'attachment; filename="{name}.vl.json"'
            return Response(json.dumps(spec, ensure_ascii=False), media_type="application/json", headers=headers)
        return Response(charts.svg(spec), media_type="image/svg+xml", headers=headers)


def _target(source: str, record: rpb.Record) -> str:
    return record.fields.get("acta_id", record.id) if source == "participations" else record.id
