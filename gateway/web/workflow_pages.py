"""Flujos de trabajo (coordinators and admin): the published workflow definitions
with their state graph (SVG) and their transitions as a table, and an editor: a
YAML text area whose "Vista previa" checks the definition and draws its graph
without storing anything, and whose "Publicar" stores it as the next version.
A refused definition comes back with each problem and its place (a state or a
transition, and the field) beside the text area. Roles: the income service's
access table (``ListDefinitions`` to see, ``PublishDefinition`` to publish)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import grpc
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.access import allows
from crm_platform.grpc_support import field_errors
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as pb
from gateway.web.app import Forbidden, Staff, WebApp
from services.income.access import ACCESS as INCOME

PAGE = "/app/flujos"
EDITOR = f"{PAGE}/editor"
ACTIONS = {
    "notify": "notificar",
    "create_task": "crear tarea",
    "emit_event": "emitir evento",
    "require_cosignature": "pedir firma conjunta",
}
MAX_YAML = 100_000


def shown(definition: pb.WorkflowDefinition) -> dict[str, Any]:
    """A definition as the templates show it."""
    labels = {s.name: s.label for s in definition.states}
    return {
        "component": definition.component,
        "version": definition.version,
        "label": definition.label,
        "svg": definition.svg,
        "versions": list(definition.versions),
        "states": [
            {"label": s.label, "name": s.name, "due_days": s.due_days, "terminal": s.terminal}
            for s in definition.states
        ],
        "transitions": [
            {
                "label": t.label,
                "name": t.name,
                "from": ", ".join(labels.get(s, s) for s in t.sources),
                "to": labels.get(t.target, t.target),
                "guards": [(g.name, g.expression) for g in t.guards],
                "actions": [ACTIONS.get(a, a) for a in t.actions],
                "needs": [n for n, on in (("motivo", t.requires_reason), ("acta", t.requires_acta)) if on],
            }
            for t in definition.transitions
        ],
    }


def register(app: FastAPI, web: WebApp) -> None:
    def call(staff: Staff, method: str, request: Any) -> Any:
        return web.backend.call(getattr(web.backend.income, method), request, staff.user)

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    def definitions_page(request: Request) -> HTMLResponse:
        staff = web.member(request, PAGE)
        found = call(staff, "ListDefinitions", pb.ListDefinitionsRequest()).definitions
        published = request.query_params.get("publicada", "")[:80]
        return web.render(
            request,
            staff,
            "flujos.html",
            title="Flujos de trabajo",
            definitions=[shown(d) for d in found],
            can_publish=allows(INCOME, staff.user.role, "PublishDefinition"),
            notice=f"Publicada la versión {published}." if published else "",
        )

    def editor(
        request: Request,
        staff: Staff,
        source: str,
        *,
        status: int = 200,
        preview: dict[str, Any] | None = None,
        problems: dict[str, str] | None = None,
    ) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "flujo_editor.html",
            status=status,
            title="Editar un flujo de trabajo",
            source=source,
            preview=preview,
            problems=problems or {},
        )

    @app.get(EDITOR, response_class=HTMLResponse, include_in_schema=False)
    def editor_page(request: Request) -> HTMLResponse:
        staff = web.member(request, PAGE)
        if not allows(INCOME, staff.user.role, "PublishDefinition"):
            raise Forbidden()
        component = request.query_params.get("componente", "gi.unidad_productiva")[:64]
        try:
            source = call(staff, "GetDefinition", pb.GetDefinitionRequest(component=component)).yaml
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            source = ""
        return editor(request, staff, source)

    @app.post(EDITOR, response_class=HTMLResponse, include_in_schema=False)
    def editor_submit(
        request: Request,
        csrf: Annotated[str, Form(max_length=128)] = "",
        definicion: Annotated[str, Form(max_length=MAX_YAML)] = "",
        accion: Annotated[str, Form(max_length=20)] = "previsualizar",
    ) -> Response:
        staff = web.member(request, PAGE)
        web.check_csrf(staff, csrf)
        if not allows(INCOME, staff.user.role, "PublishDefinition"):
            raise Forbidden()
        method = "PublishDefinition" if accion == "publicar" else "CheckDefinition"
        try:
            found = call(staff, method, pb.DefinitionSource(yaml=definicion))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            problems = field_errors(exc) or {"documento": exc.details() or "La definición no es válida"}
            return editor(request, staff, definicion, status=400, problems=problems)
        if method == "PublishDefinition":
            target = f"{PAGE}?publicada={quote(f'{found.component} v{found.version}')}"
            return RedirectResponse(target, status_code=303)
        return editor(request, staff, definicion, preview=shown(found))
