"""The Fluye editor of a UP (``/app/unidades/{id}/plan``): the six parts as one
form (see ``plan_form``), saving the draft (the service's errors beside each
field, the values typed kept), submitting it, and approving or returning a
submitted plan for the roles the income service allows (it also enforces the
four-eyes rule: whoever submitted may not decide)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import grpc
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway.web import forms, plan_document, plan_form
from gateway.web import income_support as inc
from gateway.web.app import Staff, WebApp
from services.income.domain.fluye import MAX_FACTORS

NOTICES = {
    "guardado": "Borrador guardado.",
    "enviado": "Plan enviado a aprobación.",
    "aprobado": "Plan aprobado.",
    "devuelto": "Plan devuelto para ajustes.",
}
DECISIONS = {  # the form's action: (operation, notice)
    "envio": ("SubmitPlan", "enviado"),
    "aprobacion": ("ApprovePlan", "aprobado"),
    "devolucion": ("ReturnPlan", "devuelto"),
}


def labels() -> dict[str, str]:
    """What the error summary calls each field of the form."""
    out: dict[str, str] = {}
    for i in range(MAX_FACTORS):
        for key, what in (("name", "factor"), ("score", "puntaje actual"), ("target", "puntaje objetivo")):
            out[f"profile.factors[{i}].{key}"] = f"Perfil, fila {i + 1}: {what}"
        out[f"proposal.factors[{i}]"] = f"Propuesta, fila {i + 1}: factor"
        out[f"proposal.proposal[{i}]"] = f"Propuesta, fila {i + 1}: puntaje de la propuesta"
        for j in range(plan_form.COMPETITORS):
            out[f"proposal.competitors[{j}].scores[{i}]"] = f"Propuesta, fila {i + 1}: competidor {j + 1}"
    for j in range(plan_form.COMPETITORS):
        out[f"proposal.competitors[{j}].name"] = f"Nombre del competidor {j + 1}"
    out.update({f"canvas.{k}": f"Lienzo: {v}" for k, v in plan_form.CANVAS.items()})
    out["archetype.description"] = "Arquetipo: descripción"
    out.update({f"archetype.{k}": f"Arquetipo: {v}" for k, v in plan_form.ARCHETYPE.items()})
    out.update({f"exploration.paths.{k}": f"Ruta: {v}" for k, v in plan_form.PATHS.items()})
    out.update({f"exploration.errc.{k}": f"Matriz ERIC: {v}" for k, v in plan_form.ERRC.items()})
    out["finance.investment"] = "Inversión inicial"
    out["finance.annual_discount_rate"] = "Tasa de descuento anual"
    out.update({f"finance.funding.{k}": f"Aporte de {v}" for k, v in plan_form.FUNDING.items()})
    for i in range(plan_form.MONTHS):
        out.update({f"finance.months[{i}].{k}": f"Mes {i + 1}: {v}" for k, v in plan_form.MONTH_FIELDS.items()})
    out.update({k: v for k, v in plan_form.PARTS.items()})
    out["reason"] = "Motivo de la devolución"
    return out


LABELS = labels()
# A list field holds up to 20 entries of 300 characters, one per line: cut longer
# (what is cut the service would refuse anyway), never at a single field's 300.
LONG_TEXT = 7000


async def posted(request: Request) -> dict[str, str]:
    """The posted plan's fields, read in a dependency (off the page's thread)."""
    form = await request.form()
    return {name: value[:LONG_TEXT] for name, value in form.items() if isinstance(value, str)}


PlanPosted = Annotated[dict[str, str], Depends(posted)]


def register(app: FastAPI, web: WebApp) -> None:
    def load(staff: Staff, unit_id: str) -> tuple[Any, Any]:
        """The UP and its latest plan (None before the first draft); NOT_FOUND for no UP."""
        unit = web.backend.call(web.backend.income.GetUnit, pb.GetUnitRequest(id=unit_id[:64]), staff.user)
        try:
            plan = web.backend.call(web.backend.income.GetPlan, pb.GetPlanRequest(unit_id=unit.id), staff.user)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            plan = None
        return unit, plan

    def editor(
        request: Request,
        staff: Staff,
        unit_id: str,
        values: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        try:
            unit, plan = load(staff, unit_id)
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return web.render(
                    request, staff, "error.html", status=404, title="No encontrado", message="No existe esa unidad."
                )
            raise
        if values is None:
            values = plan_form.values_of(json.loads(plan.content_json or "{}")) if plan else {}
        return web.render(
            request,
            staff,
            "plan.html",
            status=status,
            title=f"Plan de acción de {unit.name}",
            unit=unit,
            plan=plan,
            plan_status=inc.PLAN_STATUS.get(plan.status, plan.status) if plan else "Sin plan",
            plan_pdf=plan_document.offer(web, staff, unit.id, plan),
            values=values,
            problems=problems or {},
            labels=LABELS,
            form=plan_form,
            profile_rows=plan_form.rows_shown(values, "profile.factors[", MAX_FACTORS),
            proposal_rows=plan_form.rows_shown(values, "proposal.factors[", MAX_FACTORS),
            notice=NOTICES.get(request.query_params.get("hecho", ""), ""),
            editable=plan is None or plan.status != "submitted",
            can_submit=bool(plan) and plan.status in ("draft", "returned") and inc.may(staff, "SubmitPlan"),
            can_decide=bool(plan) and plan.status == "submitted" and inc.may(staff, "ApprovePlan"),
        )

    def revision(form: dict[str, str]) -> int:
        try:
            return max(0, int(form.get("revision", "0")))
        except ValueError:
            return 0

    @app.get("/app/unidades/{unit_id}/plan", response_class=HTMLResponse, include_in_schema=False)
    def plan_page(request: Request, unit_id: str) -> HTMLResponse:
        staff = inc.writer(web, request, "SavePlan")
        return editor(request, staff, unit_id)

    @app.post("/app/unidades/{unit_id}/plan", include_in_schema=False)
    def save(request: Request, unit_id: str, form: PlanPosted) -> Response:
        staff = inc.writer(web, request, "SavePlan")
        web.check_csrf(staff, form.get("csrf", ""))
        values = {k: v for k, v in form.items() if k not in ("csrf", "revision")}
        content = json.dumps(plan_form.content_of(values), ensure_ascii=False)
        message = pb.SavePlanRequest(unit_id=unit_id[:64], content_json=content, expected_revision=revision(form))
        try:
            web.backend.call(web.backend.income.SavePlan, message, staff.user)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return editor(request, staff, unit_id, values, problems, status)
        return RedirectResponse(f"/app/unidades/{unit_id}/plan?hecho=guardado", status_code=303)

    @app.post("/app/unidades/{unit_id}/plan/{action}", include_in_schema=False)
    def decide(request: Request, unit_id: str, action: str, form: forms.Posted) -> Response:
        if action not in DECISIONS:
            staff = web.member(request, inc.SECTION)
            return web.render(request, staff, "error.html", status=404, title="No encontrado", message="No existe.")
        operation, done = DECISIONS[action]
        staff = inc.writer(web, request, operation)
        web.check_csrf(staff, form.get("csrf", ""))
        message = pb.PlanDecisionRequest(
            unit_id=unit_id[:64], expected_revision=revision(form), reason=form.get("reason", "").strip()
        )
        try:
            web.backend.call(getattr(web.backend.income, operation), message, staff.user)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return editor(request, staff, unit_id, None, problems, status)
        return RedirectResponse(f"/app/unidades/{unit_id}/plan?hecho={done}", status_code=303)
