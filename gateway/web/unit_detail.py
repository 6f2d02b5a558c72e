"""One productive unit (UP): owners and household, stage and its history, the
stage change (one form per allowed transition; a guard that fails shows the
service's message), follow-ups from sealed actas, trainings with each person's
compliance, and the Fluye plan's figures, verdict and charts (value curves and
cash flow: SVG, table and downloads, as on Inicio)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.access import allows
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway.web import charts, forms, loan_support, plan_document, unit_tasks
from gateway.web import income_support as inc
from gateway.web.app import Staff, WebApp
from gateway.web.unit_pages import PostedLists
from services.actas.access import ACCESS as ACTAS
from services.income.domain import charts as plan_charts
from services.income.domain.errors import PlanInvalid
from services.income.domain.finance_math import analyse
from services.income.domain.followups import FOLLOWUP_TEMPLATE
from services.income.domain.plan_io import content_from_mapping

NOTICES = {
    "registrada": "Unidad productiva registrada en la etapa de diagnóstico.",
    "etapa": "Etapa actualizada.",
    "diagnostico": "Diagnóstico guardado.",
    "firma": "Firma conjunta registrada.",
    "capacitacion": "Sesión de capacitación registrada.",
}
# Each chart of a plan: how it is drawn (a line per curve, or bars by month).
CHARTS = {
    "perfil": ("line", "factor", "score", "curve"),
    "propuesta": ("line", "factor", "score", "curve"),
    "flujo": ("bar", "month", "flow", ""),
}


def plan_tables(plan: Any) -> dict[str, charts.Table]:
    """The plan's charts as tables, from the domain's rows; a part that is absent
    or unreadable has no chart."""
    try:
        content = content_from_mapping(json.loads(plan.content_json or "{}"))
    except (PlanInvalid, ValueError):
        return {}
    rows: dict[str, plan_charts.ChartRows] = {}
    if content.profile is not None:
        rows["perfil"] = plan_charts.profile_curve(content.profile)
    if content.proposal is not None:
        rows["propuesta"] = plan_charts.proposal_curve(content.proposal)
    if content.finance is not None:
        rows["flujo"] = plan_charts.cash_flow(analyse(content.finance))
    return {name: charts.Table(**asdict(r)) for name, r in rows.items()}


def pesos(text: str) -> str:
    """Decimal text as Colombian pesos: ``$ 1.234.568`` (rounded to the peso)."""
    try:
        value = round(Decimal(text))
    except (InvalidOperation, ValueError):
        return text or "—"
    return f"$ {value:,}".replace(",", ".")


def percent(text: str) -> str:
    """A fraction as text (``0.1234``) as a percent: ``12,34 %``; empty: does not exist."""
    try:
        value = Decimal(text) * 100
    except (InvalidOperation, ValueError):
        return "No existe"
    return f"{value:.2f} %".replace(".", ",")


def figure_rows(plan: Any) -> list[tuple[str, str]]:
    """The plan's figures, labelled in Spanish, as the page shows them."""
    f = plan.figures
    return [
        ("Valor presente neto (VPN)", pesos(f.npv)),
        ("Tasa interna de retorno (mensual)", percent(f.irr_monthly)),
        ("Tasa interna de retorno (anual)", percent(f.irr_annual)),
        ("Periodo de recuperación", f"Mes {f.payback_month}" if f.payback_month else "No se recupera en el horizonte"),
        ("Punto de equilibrio (unidades al mes)", f.break_even_units or "—"),
        ("Punto de equilibrio (ventas al mes)", pesos(f.break_even_sales)),
        ("Ventas totales del horizonte", pesos(f.total_sales)),
        ("Margen operativo", percent(f.operating_margin)),
    ]


def spec(name: str, table: charts.Table) -> dict[str, Any]:
    kind, x, y, color = CHARTS[name]
    return charts.line_spec(table, x, y, color) if kind == "line" else charts.bar_spec(table, x, y)


def followup_link(staff: Staff, unit: Any) -> str:
    """The desk form of a follow-up acta for this UP (its owners as participants), for
    the roles that capture actas; the acta, once sealed, is attached to the UP."""
    if not allows(ACTAS, staff.user.role, "CreateActa"):
        return ""
    query = [("plantilla", FOLLOWUP_TEMPLATE), ("comunidad", unit.community_id), ("unidad", unit.id)]
    query += [("participante", owner) for owner in unit.owner_ids]
    return "/app/actas/nueva?" + urlencode(query)


def register(app: FastAPI, web: WebApp) -> None:
    def not_found(request: Request, staff: Staff) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "error.html",
            status=404,
            title="Unidad productiva no encontrada",
            message="No existe esa unidad productiva.",
        )

    def get_unit(staff: Staff, unit_id: str) -> Any:
        return web.backend.call(web.backend.income.GetUnit, pb.GetUnitRequest(id=unit_id[:64]), staff.user)

    def get_plan(staff: Staff, unit_id: str) -> Any:
        try:
            return web.backend.call(web.backend.income.GetPlan, pb.GetPlanRequest(unit_id=unit_id), staff.user)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def page(
        request: Request,
        staff: Staff,
        unit: Any,
        status: int = 200,
        refused: str = "",
        problems: Any = None,
        typed: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        trainings = web.backend.call(
            web.backend.income.ListTrainings, pb.ListTrainingsRequest(unit_id=unit.id), staff.user
        )
        plan = get_plan(staff, unit.id) if unit.plan_version else None
        people, families = inc.names(
            web,
            staff,
            [*unit.owner_ids, *(c.beneficiary_id for c in trainings.compliance)],
            [unit.family_id],
        )
        transitions = [  # labels from the workflow definition the UP runs on
            {"name": t.name, "label": t.label or t.name, "reason": t.requires_reason} for t in unit.transition_options
        ]
        history = [
            {
                "cuando": h.at.ToDatetime(tzinfo=inc.COLOMBIA).strftime("%d/%m/%Y %H:%M"),
                "quien": h.by,
                "desde": inc.STAGES.get(h.from_stage, h.from_stage) if h.from_stage else "—",
                "hacia": inc.STAGES.get(h.to_stage, h.to_stage),
                "motivo": h.reason,
                "acta": h.acta_id,
            }
            for h in unit.history
        ]
        return web.render(
            request,
            staff,
            "unidad.html",
            status=status,
            title=unit.name,
            unit=unit,
            stage=inc.STAGES.get(unit.stage, unit.stage),
            kind=inc.KINDS.get(unit.kind, unit.kind),
            sector=inc.sectors(web, staff).get(unit.sector, unit.sector),
            community=inc.communities(web, staff).get(unit.community_id, unit.community_id),
            people=people,
            families=families,
            history=history,
            tasks=unit_tasks.rows(web, staff, unit.id),
            followup_link=followup_link(staff, unit),
            transitions=transitions if inc.may(staff, "ChangeStage") else [],
            refused=refused,
            problems=problems or {},
            trainings=trainings,
            bands=inc.BANDS,
            plan=plan,
            plan_status=inc.PLAN_STATUS.get(plan.status, plan.status) if plan else "",
            plan_pdf=plan_document.offer(web, staff, unit.id, plan),
            tables=plan_tables(plan) if plan else {},
            figures=figure_rows(plan) if plan and plan.has_figures else [],
            notice=NOTICES.get(request.query_params.get("hecho", ""), ""),
            can_plan=inc.may(staff, "SavePlan"),
            can_diagnose=inc.may(staff, "RecordDiagnosis") and unit.stage == "diagnostico",
            can_train=inc.may(staff, "RecordTraining"),
            typed=typed or {},
            loans=loan_support.unit_loans(web, staff, unit.id),
            can_loan=loan_support.may(staff, "CreateLoan"),
        )

    @app.get("/app/unidades/{unit_id}", response_class=HTMLResponse, include_in_schema=False)
    def unit_page(request: Request, unit_id: str) -> HTMLResponse:
        staff = web.member(request, inc.SECTION)
        try:
            unit = get_unit(staff, unit_id)
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return not_found(request, staff)
            raise
        return page(request, staff, unit)

    @app.post("/app/unidades/{unit_id}/etapa", include_in_schema=False)
    def change_stage(request: Request, unit_id: str, form: forms.Posted) -> Response:
        staff = inc.writer(web, request, "ChangeStage")
        web.check_csrf(staff, form.get("csrf", ""))
        try:
            version = int(form.get("version", "0"))
        except ValueError:
            version = 0
        transition = form.get("transition", "")
        try:
            web.backend.call(
                web.backend.income.ChangeStage,
                pb.ChangeStageRequest(
                    unit_id=unit_id[:64],
                    transition=transition,
                    expected_version=version,
                    reason=form.get("reason", "").strip(),
                ),
                staff.user,
            )
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            try:
                unit = get_unit(staff, unit_id)
            except grpc.RpcError as again:
                if inc.missing(again):
                    return not_found(request, staff)
                raise
            message = exc.details() or "No se pudo cambiar la etapa."
            fields = {f"{transition}.{k}": v for k, v in problems.items() if k == "reason"}
            return page(request, staff, unit, status, "" if fields else message, fields)
        return RedirectResponse(f"/app/unidades/{unit_id}?hecho=etapa", status_code=303)

    @app.post("/app/unidades/{unit_id}/diagnostico", include_in_schema=False)
    def record_diagnosis(request: Request, unit_id: str, form: forms.Posted) -> Response:
        """The diagnosis a UP needs before its plan is formulated (the workflow's guard)."""
        staff = inc.writer(web, request, "RecordDiagnosis")
        web.check_csrf(staff, form.get("csrf", ""))
        diagnosis = pb.RecordDiagnosisRequest(
            unit_id=unit_id[:64], complete=form.get("completo") == "si", notes=form.get("notas", "").strip()[:2000]
        )
        try:
            web.backend.call(web.backend.income.RecordDiagnosis, diagnosis, staff.user)
        except grpc.RpcError as exc:
            try:
                unit = get_unit(staff, unit_id)
            except grpc.RpcError as again:
                if inc.missing(again):
                    return not_found(request, staff)
                raise
            status, _ = forms.refusal(exc)
            return page(request, staff, unit, status, exc.details() or "No se pudo guardar el diagnóstico.", {})
        return RedirectResponse(f"/app/unidades/{unit_id}?hecho=diagnostico", status_code=303)

    @app.post("/app/unidades/{unit_id}/capacitaciones", include_in_schema=False)
    def record_training(request: Request, unit_id: str, form: PostedLists) -> Response:
        """A training session of the UP: topic, date and who of its owners attended."""
        staff = inc.writer(web, request, "RecordTraining")

        def one(name: str) -> str:
            return (form.get(name) or [""])[0].strip()

        web.check_csrf(staff, one("csrf"))
        present = set(form.get("asistio") or [])
        topic, day = one("tema")[:300], one("fecha")
        try:
            unit = get_unit(staff, unit_id)
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return not_found(request, staff)
            raise
        typed = {"tema": topic, "fecha": day, "asistio": present}
        try:
            held = datetime.combine(date.fromisoformat(day), time(12), inc.COLOMBIA)
        except ValueError:
            problems = {"training.held_at": "Indique la fecha de la sesión (aaaa-mm-dd)"}
            return page(request, staff, unit, 400, "", problems, typed)
        training = pb.RecordTrainingRequest(
            unit_id=unit.id,
            topic=topic,
            attendance=[pb.Attendance(beneficiary_id=o, present=o in present) for o in unit.owner_ids],
        )
        training.held_at.FromDatetime(held)
        try:
            web.backend.call(web.backend.income.RecordTraining, training, staff.user)
        except grpc.RpcError as exc:
            status, found = forms.refusal(exc)
            problems = {f"training.{k}": v for k, v in found.items()}
            return page(request, staff, unit, status, "", problems, typed)
        return RedirectResponse(f"/app/unidades/{unit_id}?hecho=capacitacion#capacitaciones", status_code=303)

    @app.get("/app/unidades/{unit_id}/graficas/{name}.{fmt}", include_in_schema=False)
    def plan_chart(request: Request, unit_id: str, name: str, fmt: str) -> Response:
        staff = web.member(request, inc.SECTION)
        try:
            plan = get_plan(staff, unit_id[:64])
        except grpc.RpcError as exc:
            if inc.missing(exc):
                return not_found(request, staff)
            raise
        table = plan_tables(plan).get(name) if plan else None
        if table is None or fmt not in ("svg", "json", *charts.DOWNLOADS):
            return web.render(
                request, staff, "error.html", status=404, title="No encontrado", message="Ese gráfico no existe."
            )
        if fmt in charts.DOWNLOADS:
            return charts.download(table, fmt, f"plan-{name}")
        headers = {"Cache-Control": "no-store"}
        chart = spec(name, table)
        if fmt == "json":
            headers["Content-Disposition"] = f'attachment; filename="plan-{name}.vl.json"'
            return Response(json.dumps(chart, ensure_ascii=False), media_type="application/json", headers=headers)
        return Response(charts.svg(chart), media_type="image/svg+xml", headers=headers)
