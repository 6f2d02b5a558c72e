"""Créditos: the list of loans (filters by community, status, arrears bucket and
adviser, a page at a time with the service's page token, CSV/XLSX of the filtered
list) and the request of a new loan from a UP's page (product, borrower among the
UP's owners, amount, purpose), with the schedule the loan domain would generate
shown before it is sent (``Ver el plan de pagos``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as pb
from gateway.web import charts, forms
from gateway.web import income_support as inc
from gateway.web import loan_support as ls
from gateway.web.app import Staff, WebApp
from gateway.web.financial_view import pesos, typed_amount

PAGE = 25
EXPORT_MAX = 5000
FILTERS = {
    "comunidad": "community_id",
    "estado": "status",
    "tramo": "bucket",
    "asesor": "adviser_id",
    "sector": "sector",
    "unidad": "unit_id",
}
COLUMNS = (
    ("id", "Crédito"),
    ("titular", "Titular"),
    ("unidad", "Unidad productiva"),
    ("comunidad", "Comunidad"),
    ("asesor", "Asesor"),
    ("estado", "Estado"),
    ("monto", "Monto (COP)"),
    ("saldo", "Saldo de capital (COP)"),
    ("dias", "Días de atraso"),
    ("tramo", "Tramo de mora"),
)
NEW_FIELDS = {
    "product_code": "Producto de crédito",
    "borrower_id": "Titular que recibe el crédito",
    "principal": "Monto solicitado",
    "purpose": "Destino del crédito",
    "disbursed_on": "Fecha prevista del desembolso",
    "first_due_on": "Fecha prevista de la primera cuota",
    "unit_id": "Unidad productiva",
}


def register(app: FastAPI, web: WebApp) -> None:
    def query_of(request: Request) -> dict[str, str]:
        return {name: request.query_params.get(name, "").strip()[:64] for name in FILTERS}

    def fetch(staff: Staff, query: dict[str, str], limit: int, token: str) -> Any:
        request = pb.ListLoansRequest(limit=limit, page_token=token[:200], **{FILTERS[k]: v for k, v in query.items()})
        return web.backend.call(web.backend.loans.ListLoans, request, staff.user)

    def rows(staff: Staff, loans: list[Any], query: dict[str, str]) -> list[dict[str, Any]]:
        people, _ = inc.names(web, staff, [x.borrower_id for x in loans])
        units = ls.unit_names(web, staff, [x.unit_id for x in loans], query["comunidad"])
        communities = inc.communities(web, staff)
        day = ls.today()
        return [
            {
                "id": x.id,
                "titular": people.get(x.borrower_id, x.borrower_id),
                "unit_id": x.unit_id,
                "unidad": units.get(x.unit_id, x.unit_id),
                "comunidad": communities.get(x.community_id, x.community_id),
                "asesor": x.adviser_id,
                "estado": ls.STATUS.get(x.status, x.status),
                "monto": int(x.principal or 0),
                "saldo": int(x.principal_outstanding or 0),
                "dias": ls.days_late(x.oldest_unpaid_due, day) if x.status == "activo" else 0,
                "tramo": ls.bucket_label(x.bucket) if x.status == "activo" else "—",
            }
            for x in loans
        ]

    @app.get(ls.SECTION, response_class=HTMLResponse, include_in_schema=False)
    def loan_list(request: Request) -> HTMLResponse:
        staff = ls.reader(web, request)
        query = query_of(request)
        token = request.query_params.get("desde", "")[:200]
        try:
            found = fetch(staff, query, PAGE, token)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            found, token = fetch(staff, query, PAGE, ""), ""
        link = urlencode({k: v for k, v in query.items() if v})
        return web.render(
            request,
            staff,
            "creditos.html",
            title="Créditos",
            rows=rows(staff, list(found.loans), query),
            query=query,
            link=link,
            first=not token,
            next_token=found.next_page_token,
            communities=inc.communities(web, staff),
            statuses={k: v for k, v in ls.STATUS.items() if k != "cerrado"},
            buckets=ls.BUCKETS,
            pesos=pesos,
            can_products=ls.may(staff, "CreateProduct"),
        )

    @app.get(f"{ls.SECTION}/exportar.{{fmt}}", include_in_schema=False)
    def export(request: Request, fmt: str) -> Response:
        staff = ls.reader(web, request)
        if fmt not in charts.DOWNLOADS:
            return ls.not_found(web, request, staff, "Formato desconocido.")
        query = query_of(request)
        loans: list[Any] = []
        token = ""
        while len(loans) < EXPORT_MAX:
            found = fetch(staff, query, 500, token)
            loans.extend(found.loans)
            token = found.next_page_token
            if not token:
                break
        table = charts.Table("Créditos", COLUMNS, rows(staff, loans[:EXPORT_MAX], query))
        return charts.download(table, fmt, "creditos")

    # -- a new loan from a UP -------------------------------------------------------------
    def new_form(
        request: Request,
        staff: Staff,
        unit: Any,
        values: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        schedule: Any = None,
        status: int = 200,
    ) -> HTMLResponse:
        people, _ = inc.names(web, staff, unit.owner_ids)
        found = ls.products(web, staff)
        chosen = next((p for p in found if p.code == (values or {}).get("product_code")), None)
        planned = ls.schedule_rows(schedule) if schedule is not None else []
        return web.render(
            request,
            staff,
            "credito_nuevo.html",
            status=status,
            title=f"Solicitar un crédito para {unit.name}",
            unit=unit,
            owners={o: people.get(o, o) for o in unit.owner_ids},
            products={p.code: f"{p.name} ({p.code})" for p in found},
            chosen=chosen,
            terms=ls.product_terms(chosen) if chosen else [],
            values=values or {},
            problems=problems or {},
            labels=NEW_FIELDS,
            rows=planned,
            totals=ls.totals(planned) if planned else {},
            states=ls.INSTALLMENT_STATES,
            pesos=pesos,
        )

    def get_unit(staff: Staff, unit_id: str) -> Any:
        return web.backend.call(web.backend.income.GetUnit, ipb.GetUnitRequest(id=unit_id[:64]), staff.user)

    path = "/app/unidades/{unit_id}/creditos/nuevo"

    @app.get(path, response_class=HTMLResponse, include_in_schema=False)
    def new_loan(request: Request, unit_id: str) -> HTMLResponse:
        staff = ls.writer(web, request, "CreateLoan")
        try:
            unit = get_unit(staff, unit_id)
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return ls.not_found(web, request, staff, "No existe esa unidad productiva.")
            raise
        values = {"borrower_id": unit.owner_ids[0]} if len(unit.owner_ids) == 1 else {}
        return new_form(request, staff, unit, values)

    @app.post(path, include_in_schema=False)
    def create_loan(request: Request, unit_id: str, form: forms.Posted) -> Response:
        staff = ls.writer(web, request, "CreateLoan")
        web.check_csrf(staff, form.get("csrf", ""))
        try:
            unit = get_unit(staff, unit_id)
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return ls.not_found(web, request, staff, "No existe esa unidad productiva.")
            raise
        values = forms.text(form, *NEW_FIELDS)
        values["principal"] = typed_amount(values["principal"])
        if form.get("accion") == "vista":
            chosen = next((p for p in ls.products(web, staff) if p.code == values["product_code"]), None)
            if chosen is None:
                return new_form(request, staff, unit, values, {"product_code": "Elija un producto"}, status=400)
            schedule, problems = ls.preview(chosen, values["principal"], values["disbursed_on"], values["first_due_on"])
            return new_form(request, staff, unit, values, problems, schedule, 400 if problems else 200)
        message = pb.CreateLoanRequest(
            unit_id=unit.id,
            borrower_id=values["borrower_id"],
            product_code=values["product_code"],
            principal=values["principal"],
            purpose=values["purpose"],
        )
        try:
            created = web.backend.call(web.backend.loans.CreateLoan, message, staff.user)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return new_form(request, staff, unit, values, problems, status=status)
        return RedirectResponse(f"{ls.SECTION}/{created.id}?hecho=solicitado", status_code=303)
