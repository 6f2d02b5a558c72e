"""Signing a desk acta in the web app: each participant signs on the signature pad
(``static/firma.js`` posts the drawing as a PNG, as ``handwritten_png`` of
``SignActa``) or the gestor records why they do not sign; then the gestor signs
with their session and seals. A fingerprint needs a paired reader, which a browser
is not: such participants sign at their community's kiosk. Also the acta's PDF."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated

import grpc
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.access import allows
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.documents.v1 import documents_pb2 as dpb
from gateway.web.actas_pages import METHODS
from gateway.web.app import Forbidden, Staff, WebApp
from gateway.web.pdf_links import open_pdf
from services.documents.access import ACCESS as DOCUMENTS

# A drawn signature is a small PNG; base64 makes it a third larger.
MAX_PNG_BASE64 = 400_000
PDF_LINK_SECONDS = 300

Writer = Callable[[WebApp, Request, str], Staff]
Problem = Callable[[grpc.RpcError], tuple[int, dict[str, str]]]


def register(app: FastAPI, web: WebApp, writer: Writer, rpc_problem: Problem) -> None:
    A = web.backend.actas

    def load(staff: Staff, acta_id: str) -> apb.Acta | None:
        try:
            acta: apb.Acta = web.backend.call(A.GetActa, apb.GetActaRequest(id=acta_id[:64]), staff.user)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise
        return acta

    def missing(request: Request, staff: Staff) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "error.html",
            status=404,
            title="Acta no encontrada",
            message="No existe un acta con ese número.",
        )

    def signing_page(
        request: Request,
        staff: Staff,
        acta: apb.Acta,
        *,
        status: int = 200,
        problems: dict[str, dict[str, str]] | None = None,
        typed: dict[str, str] | None = None,
    ) -> HTMLResponse:
        signed = {s.signer_id: METHODS.get(s.method, s.method) for s in acta.signatures if s.role == "participante"}
        pending = [p for p in acta.participants if p.beneficiary_id not in signed]
        return web.render(
            request,
            staff,
            "acta_firmas.html",
            status=status,
            title=f"Firmas: {acta.title}",
            acta=acta,
            pending=pending,
            signed=[(p, signed[p.beneficiary_id]) for p in acta.participants if p.beneficiary_id in signed],
            gestor_signed=any(s.role == "gestor" for s in acta.signatures),
            problems=problems or {},
            typed=typed or {},
        )

    @app.get("/app/actas/{acta_id}/firmas", response_class=HTMLResponse, include_in_schema=False)
    def signatures(request: Request, acta_id: str) -> Response:
        staff = writer(web, request, "SignActa")
        acta = load(staff, acta_id)
        if acta is None:
            return missing(request, staff)
        if acta.status == "sealed":
            return RedirectResponse(f"/app/actas/{acta.id}", status_code=303)
        return signing_page(request, staff, acta)

    @app.post("/app/actas/{acta_id}/firmas", response_class=HTMLResponse, include_in_schema=False)
    def sign(
        request: Request,
        acta_id: str,
        csrf: Annotated[str, Form(max_length=128)] = "",
        firmante: Annotated[str, Form(max_length=64)] = "",
        metodo: Annotated[str, Form(max_length=16)] = "",
        png: Annotated[str, Form(max_length=MAX_PNG_BASE64)] = "",
        motivo: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        staff = writer(web, request, "SignActa")
        web.check_csrf(staff, csrf)
        acta = load(staff, acta_id)
        if acta is None:
            return missing(request, staff)
        message = apb.SignActaRequest(acta_id=acta.id, signer_id=firmante)
        problem = ""
        if metodo == "manuscrita":
            try:
                message.handwritten_png = base64.b64decode(png.removeprefix("data:image/png;base64,"), validate=True)
            except (binascii.Error, ValueError):
                problem = "La firma no se pudo leer; bórrela y dibújela de nuevo"
            if not png:
                problem = "Dibuje la firma en el recuadro antes de guardarla"
        elif metodo == "negativa":
            message.refusal_reason = motivo.strip() or " "  # blank: the service's own message
        else:
            problem = "Elija firma manuscrita o negativa a firmar"
        if not problem:
            try:
                web.backend.call(A.SignActa, message, staff.user)
            except grpc.RpcError as exc:
                status, found = rpc_problem(exc)
                return signing_page(
                    request, staff, acta, status=status, problems={firmante: found}, typed={firmante: motivo}
                )
            return RedirectResponse(f"/app/actas/{acta.id}/firmas", status_code=303)
        field = "png" if metodo == "manuscrita" else "metodo"
        return signing_page(request, staff, acta, status=400, problems={firmante: {field: problem}})

    @app.post("/app/actas/{acta_id}/sellar", response_class=HTMLResponse, include_in_schema=False)
    def seal(request: Request, acta_id: str, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
        staff = writer(web, request, "SealActa")
        web.check_csrf(staff, csrf)
        acta = load(staff, acta_id)
        if acta is None:
            return missing(request, staff)
        try:
            if not any(s.role == "gestor" for s in acta.signatures):
                # The gestor signs with their own session (an empty signer_id).
                acta = web.backend.call(A.SignActa, apb.SignActaRequest(acta_id=acta.id), staff.user)
            web.backend.call(A.SealActa, apb.SealActaRequest(acta_id=acta.id), staff.user)
        except grpc.RpcError as exc:
            status, found = rpc_problem(exc)
            fresh = load(staff, acta.id) or acta
            return signing_page(request, staff, fresh, status=status, problems={"gestor": found})
        return RedirectResponse(f"/app/actas/{acta.id}", status_code=303)

    @app.get("/app/actas/{acta_id}/pdf", include_in_schema=False)
    def pdf(request: Request, acta_id: str) -> Response:
        staff = web.member(request, "/app/actas")
        if not allows(DOCUMENTS, staff.user.role, "GetActaDocument"):
            raise Forbidden()
        message = dpb.GetActaDocumentRequest(acta_id=acta_id[:64], link_ttl_seconds=PDF_LINK_SECONDS)
        return open_pdf(
            web,
            request,
            staff,
            lambda: web.backend.call(web.backend.documents.GetActaDocument, message, staff.user),
            "Esta acta no tiene PDF: solo se genera cuando el acta está sellada.",
            "El PDF del acta todavía se está generando. Vuelva a intentarlo en unos segundos.",
        )
