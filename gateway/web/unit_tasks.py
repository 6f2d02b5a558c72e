"""The tasks a UP's workflow created (follow-ups, notices, co-signatures), on its
page, and the co-signature button: shown to a person of the task's role while it
is open; the engine refuses the person who made the stage change (four eyes)."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway.catalogs import CATALOGS
from gateway.web import forms
from gateway.web import income_support as inc
from gateway.web.app import Staff, WebApp

KINDS = {"follow_up": "Seguimiento", "cosignature": "Firma conjunta", "notice": "Aviso"}


def role_label(role: str) -> str:
    entry = next((e for e in CATALOGS["rol"].entries if e.code == role), None)
    return entry.label if entry else role


def rows(web: WebApp, staff: Staff, unit_id: str) -> list[dict[str, Any]]:
    """The UP's tasks as the page lists them, or none for a role that may not list them."""
    if not inc.may(staff, "ListTasks"):
        return []
    reply = web.backend.call(web.backend.income.ListTasks, pb.ListTasksRequest(unit_id=unit_id), staff.user)
    when = "%d/%m/%Y"
    return [
        {
            "id": t.id,
            "tipo": KINDS.get(t.kind, t.kind),
            "titulo": t.title,
            "rol": role_label(t.assignee_role),
            "vence": t.due_at.ToDatetime(tzinfo=inc.COLOMBIA).strftime(when) if t.HasField("due_at") else "—",
            "estado": (
                f"Firmada por {t.done_by} el {t.done_at.ToDatetime(tzinfo=inc.COLOMBIA).strftime(when)}"
                if t.done_by
                else "Pendiente"
            ),
            "firmar": t.kind == "cosignature"
            and not t.done_by
            and t.assignee_role == staff.user.role
            and t.requested_by != staff.user.username
            and inc.may(staff, "CosignTask"),
        }
        for t in reply.tasks
    ]


def register(app: FastAPI, web: WebApp) -> None:
    @app.post("/app/unidades/{unit_id}/tareas/{task_id}/firma", include_in_schema=False)
    def cosign(request: Request, unit_id: str, task_id: str, form: forms.Posted) -> Response:
        staff = inc.writer(web, request, "CosignTask")
        web.check_csrf(staff, form.get("csrf", ""))
        try:
            request_ = pb.CosignTaskRequest(unit_id=unit_id[:64], task_id=task_id[:200])
            web.backend.call(web.backend.income.CosignTask, request_, staff.user)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return web.render(
                request,
                staff,
                "error.html",
                status=status,
                title="No se pudo firmar",
                message=exc.details() or next(iter(problems.values()), "No se pudo dar la firma conjunta."),
            )
        return RedirectResponse(f"/app/unidades/{unit_id}?hecho=firma", status_code=303)
