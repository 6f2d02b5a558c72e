"""Productos de crédito (``/app/creditos/productos``): the products with every term a
Fineract user sets, and for the roles that may create one (the loans access table)
the form with each field of the product; the service's messages appear beside each
field, the values typed kept."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as pb
from gateway.web import forms
from gateway.web import loan_support as ls
from gateway.web.app import Staff, WebApp
from gateway.web.financial_view import typed_amount

PATH = f"{ls.SECTION}/productos"
FIELDS = {
    "code": "Código",
    "name": "Nombre",
    "frequency": "Frecuencia de pago",
    "installments": "Número de cuotas",
    "annual_rate": "Tasa nominal anual (%)",
    "interest_method": "Método de interés",
    "amortization": "Amortización",
    "interest_period": "Periodo de cálculo del interés",
    "principal_grace": "Gracia de capital (periodos)",
    "interest_grace": "Gracia de pago de interés (periodos)",
    "installment_multiple": "Cuotas en múltiplos de (pesos)",
    "move_to_business_day": "Mover al siguiente día hábil las cuotas que caen en domingo o festivo",
    "allocation": "Orden de aplicación de los pagos",
    "arrears_grace_days": "Gracia de mora (días)",
    "buckets": "Tramos de mora (días)",
    "overpayment": "Si el pago excede lo que se debe",
    "reminder_days": "Aviso antes de cada cuota (días)",
    "min_amount": "Monto mínimo",
    "max_amount": "Monto máximo",
}
INTS = ("installments", "principal_grace", "interest_grace", "installment_multiple", "arrears_grace_days",
        "reminder_days")  # fmt: skip
DEFAULTS = {
    "frequency": "mensual", "interest_method": "saldo_decreciente", "amortization": "cuotas_iguales",
    "interest_period": "igual_al_periodo", "principal_grace": "0", "interest_grace": "0", "installment_multiple": "1",
    "arrears_grace_days": "0", "buckets": "1-30, 31-60, 61-90, 91-180, 181-", "overpayment": "refuse",
    "reminder_days": "0", "allocation.1": "penalidades", "allocation.2": "cargos", "allocation.3": "interes",
    "allocation.4": "capital",
}  # fmt: skip


def buckets_of(text: str) -> list[pb.Bucket] | None:
    """``1-30, 31-60, 181-`` as buckets (an open end as 0); None when unreadable."""
    out = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        low, _, high = part.rstrip("+").partition("-")
        if not low.strip().isdigit() or (high.strip() and not high.strip().isdigit()):
            return None
        out.append(pb.Bucket(from_days=int(low), to_days=int(high) if high.strip() else 0))
    return out


def product_request(values: dict[str, str]) -> tuple[pb.LoanProduct | None, dict[str, str]]:
    problems: dict[str, str] = {}
    ints: dict[str, Any] = {}
    for name in INTS:
        text = values[name] or "0"
        if not text.isdigit() or int(text) > 100_000:
            problems[name] = "Escriba un número entero, 0 o más"
        else:
            ints[name] = int(text)
    buckets = buckets_of(values["buckets"])
    if buckets is None:
        problems["buckets"] = "Escriba los tramos como 1-30, 31-60, 61-90, 91-180, 181-"
    if problems:
        return None, problems
    message = pb.LoanProduct(
        code=values["code"], name=values["name"], frequency=values["frequency"], annual_rate=values["annual_rate"],
        interest_method=values["interest_method"], amortization=values["amortization"],
        interest_period=values["interest_period"], overpayment=values["overpayment"],
        move_to_business_day=values["move_to_business_day"] == "1",
        allocation=[values[f"allocation.{n}"] for n in range(1, 5)], buckets=buckets or [],
        min_amount=typed_amount(values["min_amount"]), max_amount=typed_amount(values["max_amount"]), **ints,
    )  # fmt: skip
    return message, {}


def register(app: FastAPI, web: WebApp) -> None:
    def listing(request: Request, staff: Staff) -> HTMLResponse:
        found = ls.products(web, staff)
        return web.render(
            request,
            staff,
            "productos_credito.html",
            title="Productos de crédito",
            products=[(p, ls.product_terms(p)) for p in found],
            can_create=ls.may(staff, "CreateProduct"),
            notice="Producto de crédito creado." if request.query_params.get("hecho") == "creado" else "",
        )

    def form_page(
        request: Request,
        staff: Staff,
        values: dict[str, str],
        problems: dict[str, str] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "producto_nuevo.html",
            status=status,
            title="Crear un producto de crédito",
            values=values,
            problems=problems or {},
            labels=FIELDS,
            choices={
                "frequency": ls.FREQUENCIES,
                "interest_method": ls.METHODS,
                "amortization": ls.AMORTIZATIONS,
                "interest_period": ls.PERIODS,
                "overpayment": ls.OVERPAYMENTS,
                "allocation": ls.ALLOCATION,
            },
        )

    @app.get(PATH, response_class=HTMLResponse, include_in_schema=False)
    def product_list(request: Request) -> HTMLResponse:
        return listing(request, ls.reader(web, request))

    @app.get(f"{PATH}/nuevo", response_class=HTMLResponse, include_in_schema=False)
    def new_product(request: Request) -> HTMLResponse:
        staff = ls.writer(web, request, "CreateProduct")
        return form_page(request, staff, dict(DEFAULTS))

    @app.post(f"{PATH}/nuevo", include_in_schema=False)
    def create_product(request: Request, form: forms.Posted) -> Response:
        staff = ls.writer(web, request, "CreateProduct")
        web.check_csrf(staff, form.get("csrf", ""))
        names = [n for n in FIELDS if n != "allocation"] + [f"allocation.{n}" for n in range(1, 5)]
        values = forms.text(form, *names)
        values["move_to_business_day"] = "1" if form.get("move_to_business_day") else ""
        message, problems = product_request(values)
        if message is None:
            return form_page(request, staff, values, problems, 400)
        try:
            web.backend.call(web.backend.loans.CreateProduct, message, staff.user)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return form_page(request, staff, values, problems, status)
        return RedirectResponse(f"{PATH}?hecho=creado", status_code=303)
