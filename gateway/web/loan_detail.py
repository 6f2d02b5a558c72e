"""One loan (``/app/creditos/{id}``): its terms, the repayment schedule as a Fineract
user reads it (number, due date, principal, interest, fees, penalties, total, paid,
outstanding, state, with the column totals), the ledger, balances and arrears, and
the forms of what may happen next, each only for the roles the loans access table
allows and only in the states the service accepts: approve (not by the person who
registered it), disburse, repayment (with an idempotency key generated into the
form, so a double submit posts once), prepayment, reschedule, write-off request and
approval, pause and resume of the delinquency clock. A refusal shows the service's
message beside its field, the values typed kept; a success redirects back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.income.v1 import loans_pb2 as pb
from gateway.web import forms
from gateway.web import income_support as inc
from gateway.web import loan_support as ls
from gateway.web.app import Staff, WebApp
from gateway.web.financial_view import pesos, typed_amount

NOTICES = {
    "solicitado": "Crédito solicitado. Otra persona de coordinación debe aprobarlo.",
    "aprobar": "Crédito aprobado.",
    "desembolso": "Desembolso registrado.",
    "pago": "Pago registrado.",
    "prepago": "Prepago registrado.",
    "reprogramar": "Crédito reprogramado; el plan anterior queda en el historial.",
    "castigo": "Castigo solicitado. Otra persona debe aprobarlo.",
    "castigo-aprobar": "Castigo aprobado.",
    "pausa": "Conteo de mora actualizado.",
}
LABELS = {
    "desembolso.amount": "Monto del desembolso",
    "desembolso.on": "Fecha del desembolso",
    "desembolso.first_due_on": "Fecha de la primera cuota",
    "pago.amount": "Monto del pago",
    "pago.on": "Fecha del pago",
    "pago.note": "Nota del pago",
    "prepago.amount": "Monto del prepago",
    "prepago.on": "Fecha del prepago",
    "prepago.mode": "Qué reducir",
    "reprogramar.from_date": "Vencimiento de la primera cuota nueva",
    "reprogramar.installments": "Número de cuotas nuevas",
    "reprogramar.reason": "Motivo de la reprogramación",
    "castigo.reason": "Motivo del castigo",
    "pausa.on": "Desde qué fecha",
    "pausa.reason": "Motivo",
}
Builder = Callable[[str, dict[str, str], int], Any]


def _int(text: str) -> int:
    try:
        return max(0, min(int(text), 1000))
    except ValueError:
        return -1


# Each form: the operation it calls, and the request it sends (loan id, the form's
# values by field, the revision the page showed).
ACTIONS: dict[str, tuple[str, Builder]] = {
    "aprobar": ("ApproveLoan", lambda i, v, r: pb.LoanDecisionRequest(loan_id=i, expected_revision=r)),
    "desembolso": ("DisburseLoan", lambda i, v, r: pb.DisburseRequest(
        loan_id=i, amount=typed_amount(v["amount"]), on=v["on"], first_due_on=v["first_due_on"],
        expected_revision=r)),
    "pago": ("RecordRepayment", lambda i, v, r: pb.RepaymentRequest(
        loan_id=i, amount=typed_amount(v["amount"]), on=v["on"], idempotency_key=v["key"], note=v["note"])),
    "prepago": ("Prepay", lambda i, v, r: pb.PrepaymentRequest(
        loan_id=i, amount=typed_amount(v["amount"]), on=v["on"], mode=v["mode"], idempotency_key=v["key"])),
    "reprogramar": ("Reschedule", lambda i, v, r: pb.RescheduleRequest(
        loan_id=i, from_date=v["from_date"], installments=_int(v["installments"] or "0"), expected_revision=r,
        reason=v["reason"])),
    "castigo": ("RequestWriteOff", lambda i, v, r: pb.LoanDecisionRequest(
        loan_id=i, expected_revision=r, reason=v["reason"])),
    "castigo-aprobar": ("ApproveWriteOff", lambda i, v, r: pb.LoanDecisionRequest(loan_id=i, expected_revision=r)),
    "pausa": ("SetDelinquencyPause", lambda i, v, r: pb.DelinquencyPauseRequest(
        loan_id=i, paused=v["paused"] == "1", on=v["on"], expected_revision=r, reason=v["reason"])),
}  # fmt: skip


def offered(staff: Staff, loan: Any) -> dict[str, bool]:
    """The forms this user sees on this loan: their role may call it, the loan's state
    admits it (the service decides in the end), and nobody decides on their own request."""
    me = staff.user.username
    status = loan.status
    undisbursed = Decimal(loan.balances.disbursed or "0") < Decimal(loan.principal or "0")
    open_loan = status == "activo"
    return {
        "aprobar": ls.may(staff, "ApproveLoan") and status == "solicitado" and loan.created_by != me,
        "desembolso": ls.may(staff, "DisburseLoan") and (status == "aprobado" or (open_loan and undisbursed)),
        "pago": ls.may(staff, "RecordRepayment") and open_loan,
        "prepago": ls.may(staff, "Prepay") and open_loan,
        "reprogramar": ls.may(staff, "Reschedule") and open_loan,
        "castigo": ls.may(staff, "RequestWriteOff") and open_loan and not loan.write_off_requested_by,
        "castigo-aprobar": ls.may(staff, "ApproveWriteOff") and open_loan and bool(loan.write_off_requested_by)
        and loan.write_off_requested_by != me,
        "pausa": ls.may(staff, "SetDelinquencyPause") and open_loan,
    }  # fmt: skip


def register(app: FastAPI, web: WebApp) -> None:
    def load(staff: Staff, loan_id: str) -> Any:
        return web.backend.call(web.backend.loans.GetLoan, pb.GetLoanRequest(id=loan_id[:64]), staff.user)

    def page(
        request: Request,
        staff: Staff,
        loan: Any,
        values: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        product = web.backend.call(
            web.backend.loans.GetProduct, pb.GetProductRequest(code=loan.product_code), staff.user
        )
        people, _ = inc.names(web, staff, [loan.borrower_id])
        try:
            unit_name = web.backend.call(
                web.backend.income.GetUnit, ipb.GetUnitRequest(id=loan.unit_id), staff.user
            ).name
        except grpc.RpcError as exc:
            if not inc.missing(exc):
                raise
            unit_name = loan.unit_id
        rows: list[Any] = list(loan.installments)
        planned = False
        if not rows and loan.status in ("solicitado", "aprobado"):
            schedule, _ = ls.preview(product, loan.principal, "", "")
            rows, planned = (ls.schedule_rows(schedule) if schedule else []), True
        shown = dict(values or {})
        for name in ("pago", "prepago"):  # a fresh key per page: one submit, one posting
            shown.setdefault(f"{name}.key", uuid.uuid4().hex)
        return web.render(
            request,
            staff,
            "credito.html",
            status=status,
            title=f"Crédito de {people.get(loan.borrower_id, 'la unidad')}",
            loan=loan,
            product=product,
            terms=ls.product_terms(product),
            borrower=people.get(loan.borrower_id, loan.borrower_id),
            unit_name=unit_name,
            community=inc.communities(web, staff).get(loan.community_id, loan.community_id),
            status_label=ls.STATUS.get(loan.status, loan.status),
            rows=rows,
            planned=planned,
            totals=ls.totals(rows) if rows else {},
            states=ls.INSTALLMENT_STATES,
            postings=ls.POSTINGS,
            bucket=ls.bucket_label(loan.arrears.bucket),
            offer=offered(staff, loan),
            modes=ls.MODES,
            values=shown,
            problems=problems or {},
            labels=LABELS,
            pesos=pesos,
            today=ls.today().isoformat(),
            notice=NOTICES.get(request.query_params.get("hecho", ""), ""),
        )

    @app.get(f"{ls.SECTION}/{{loan_id}}", response_class=HTMLResponse, include_in_schema=False)
    def loan_page(request: Request, loan_id: str) -> HTMLResponse:
        staff = ls.reader(web, request)
        try:
            loan = load(staff, loan_id)
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return ls.not_found(web, request, staff)
            raise
        return page(request, staff, loan)

    @app.post(f"{ls.SECTION}/{{loan_id}}/{{action}}", include_in_schema=False)
    def act(request: Request, loan_id: str, action: str, form: forms.Posted) -> Response:
        if action not in ACTIONS:
            staff = ls.reader(web, request)
            return ls.not_found(web, request, staff, "Esa acción no existe.")
        operation, build = ACTIONS[action]
        staff = ls.writer(web, request, operation)
        web.check_csrf(staff, form.get("csrf", ""))
        names = (*ls.FORM_FIELDS[action], "key", "paused")
        values = {name: form.get(f"{action}.{name}", "").strip() for name in names}
        try:
            revision = max(0, int(form.get("revision", "0")))
        except ValueError:
            revision = 0
        try:
            web.backend.call(getattr(web.backend.loans, operation), build(loan_id[:64], values, revision), staff.user)
        except grpc.RpcError as exc:
            status, problems = ls.refusal(exc, action)
            try:
                loan = load(staff, loan_id)
            except grpc.RpcError as again:
                if inc.missing(again):
                    return ls.not_found(web, request, staff)
                raise
            typed = {f"{action}.{k}": v for k, v in values.items() if v}
            return page(request, staff, loan, typed, problems, status)
        return RedirectResponse(f"{ls.SECTION}/{loan_id}?hecho={action}#resumen", status_code=303)
