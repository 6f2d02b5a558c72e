"""The signed PDF "Plan de Acción" on a UP's pages: which approved version's PDF
the page offers and whether it is stored or still being produced
(``offer``, shown by ``_plan_pdf.html``), and ``/app/unidades/{id}/plan/pdf``,
which sends the browser to a fresh time-limited link (as an acta's PDF)."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from crm_platform.access import allows
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as dpb
from gateway.web import income_support as inc
from gateway.web.app import Forbidden, Staff, WebApp
from gateway.web.pdf_links import open_pdf
from services.documents.access import ACCESS as DOCUMENTS

PDF_LINK_SECONDS = 300


def approved_version(plan: Any) -> int:
    """The approved version a page's plan is or revises (0: none approved yet)."""
    if plan is None:
        return 0
    return int(plan.version) if plan.status == "approved" else int(plan.based_on or 0)


def _document(web: WebApp, staff: Staff, unit_id: str, version: int, ttl: int = 0) -> Any:
    request = dpb.GetPlanDocumentRequest(unit_id=unit_id[:64], plan_version=version, link_ttl_seconds=ttl)
    return web.backend.call(web.backend.documents.GetPlanDocument, request, staff.user)


def offer(web: WebApp, staff: Staff, unit_id: str, plan: Any) -> dict[str, Any] | None:
    """``{"version": n, "stored": bool}`` for the page's approved version, or None
    (no approved version, or a role that may not read it). An approved version
    without a record yet is being produced: its event is on its way."""
    version = approved_version(plan)
    if not version or not allows(DOCUMENTS, staff.user.role, "GetPlanDocument"):
        return None
    try:
        document = _document(web, staff, unit_id, version)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return {"version": version, "stored": False}
    return {"version": version, "stored": document.status == "stored"}


def register(app: FastAPI, web: WebApp) -> None:
    @app.get("/app/unidades/{unit_id}/plan/pdf", include_in_schema=False)
    def plan_pdf(request: Request, unit_id: str, version: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
        staff = web.member(request, inc.SECTION)
        if not allows(DOCUMENTS, staff.user.role, "GetPlanDocument"):
            raise Forbidden()
        return open_pdf(
            web,
            request,
            staff,
            lambda: _document(web, staff, unit_id, version, PDF_LINK_SECONDS),
            "Esa versión del plan no tiene PDF: solo se genera cuando la versión es aprobada.",
            "El PDF del Plan de Acción se está generando. Vuelva a intentarlo en unos segundos.",
        )
