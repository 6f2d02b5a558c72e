"""Quioscos: the paired kiosks and desk readers, pairing approval (a one-time code
for one community, shown once, typed on the device), revocation, and the rejected
submissions with their reasons and resolution. Who sees and does what comes from
the actas service's access table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import grpc
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.access import allows
from crm_platform.grpc_support import field_errors
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from gateway.web.app import Forbidden, Staff, WebApp
from services.actas.access import ACCESS as ACTAS

PAGE = "/app/quioscos"
COLOMBIA = ZoneInfo("America/Bogota")
SILENT_AFTER = timedelta(days=7)
REASONS = {
    "unknown_device": "Quiosco desconocido",
    "revoked_device": "Quiosco revocado",
    "bad_signature": "Firma del envío inválida",
    "malformed": "Envío ilegible",
    "invalid_fields": "Campos inválidos",
    "unknown_participant": "Participante desconocido",
    "bad_evidence": "Evidencia de huella inválida",
    "idempotency_conflict": "Envío repetido con otro contenido",
}


def _when(stamp: Any) -> str:
    return stamp.ToDatetime(tzinfo=COLOMBIA).strftime("%Y-%m-%d %H:%M") if stamp.seconds else ""


def last_sync(device: Any) -> str:
    """When the kiosk's newest sealed submission was sealed, and how many it sent."""
    if not device.submissions:
        return "Nunca ha enviado actas"
    return f"{_when(device.last_submission_at)} · {device.submissions} actas"


def silent(device: Any, now: datetime | None = None) -> bool:
    """An active kiosk with no sealed submission for ``SILENT_AFTER``: worth a call."""
    if device.revoked:
        return False
    since = device.last_submission_at if device.submissions else device.registered_at
    return bool(since.seconds) and (now or datetime.now(UTC)) - since.ToDatetime(tzinfo=UTC) > SILENT_AFTER


def register(app: FastAPI, web: WebApp) -> None:
    def allowed(request: Request) -> Staff:
        return web.member(request, PAGE)

    def may(staff: Staff, operation: str) -> bool:
        return allows(ACTAS, staff.user.role, operation)

    def page(
        request: Request,
        staff: Staff,
        *,
        status: int = 200,
        issued: Any = None,
        problems: dict[str, str] | None = None,
        notice: str = "",
    ) -> HTMLResponse:
        call = web.backend.call
        communities = {
            c.id: c.name
            for c in call(
                web.backend.beneficiaries.ListCommunities, bpb.ListCommunitiesRequest(), staff.user
            ).communities
        }
        devices = [
            {
                "id": d.id,
                "comunidad": communities.get(d.community_id, d.community_id or "Sin comunidad (emparejar de nuevo)"),
                "descripcion": d.description,
                "por": d.registered_by,
                "desde": _when(d.registered_at),
                "estado": "Revocado" if d.revoked else "Activo",
                "revocado": d.revoked,
                "ultimo_envio": last_sync(d),
                "sin_envios": silent(d),
            }
            for d in call(web.backend.actas.ListDevices, apb.ListDevicesRequest(), staff.user).devices
        ]
        rejected = [
            {
                "id": r.id,
                "motivo": REASONS.get(r.reason, r.reason),
                "detalle": r.detail,
                "quiosco": r.device_id,
                "cuando": _when(r.received_at),
                "campos": dict(r.field_errors),
            }
            for r in call(
                web.backend.actas.ListRejectedSubmissions, apb.ListRejectedSubmissionsRequest(limit=100), staff.user
            ).rejected
        ]
        return web.render(
            request,
            staff,
            "quioscos.html",
            status=status,
            title="Quioscos",
            devices=devices,
            rejected=rejected,
            communities=sorted(communities.items(), key=lambda c: c[1].casefold()),
            can_pair=may(staff, "IssuePairingCode"),
            can_revoke=may(staff, "RevokeDevice"),
            can_resolve=may(staff, "ResolveRejectedSubmission"),
            issued=issued,
            problems=problems or {},
            notice=notice,
        )

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    def fleet(request: Request) -> HTMLResponse:
        staff = allowed(request)
        done = {
            "revocado": "Quiosco revocado: sus envíos y su sesión se rechazan desde ahora.",
            "resuelto": "Envío rechazado marcado como resuelto.",
        }
        return page(request, staff, notice=done.get(request.query_params.get("hecho", ""), ""))

    def refused(request: Request, staff: Staff, exc: grpc.RpcError) -> HTMLResponse:
        codes = {
            grpc.StatusCode.INVALID_ARGUMENT: 400,
            grpc.StatusCode.NOT_FOUND: 404,
            grpc.StatusCode.PERMISSION_DENIED: 403,
            grpc.StatusCode.FAILED_PRECONDITION: 409,
        }
        if exc.code() not in codes:
            raise exc
        problems = field_errors(exc) or {"": exc.details() or "Solicitud inválida"}
        return page(request, staff, status=codes[exc.code()], problems=problems)

    @app.post(f"{PAGE}/codigos", response_class=HTMLResponse, include_in_schema=False)
    def issue_code(
        request: Request,
        csrf: Annotated[str, Form(max_length=128)] = "",
        comunidad: Annotated[str, Form(max_length=64)] = "",
        descripcion: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        staff = allowed(request)
        web.check_csrf(staff, csrf)
        if not may(staff, "IssuePairingCode"):
            raise Forbidden()
        if not comunidad:
            return page(request, staff, status=400, problems={"community_id": "Elija la comunidad del quiosco"})
        try:
            issued = web.backend.call(
                web.backend.actas.IssuePairingCode,
                apb.IssuePairingCodeRequest(community_id=comunidad, description=descripcion.strip()),
                staff.user,
            )
        except grpc.RpcError as exc:
            return refused(request, staff, exc)
        # Shown once, in this response only (the service keeps a hash of it).
        return page(request, staff, issued={"code": issued.code, "vence": _when(issued.expires_at)})

    @app.post(f"{PAGE}/{{device_id}}/revocacion", include_in_schema=False)
    def revoke(request: Request, device_id: str, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
        staff = allowed(request)
        web.check_csrf(staff, csrf)
        if not may(staff, "RevokeDevice"):
            raise Forbidden()
        try:
            web.backend.call(web.backend.actas.RevokeDevice, apb.RevokeDeviceRequest(id=device_id[:64]), staff.user)
        except grpc.RpcError as exc:
            return refused(request, staff, exc)
        return RedirectResponse(f"{PAGE}?hecho=revocado", status_code=303)

    @app.post(f"{PAGE}/rechazos/{{rejection_id}}", include_in_schema=False)
    def resolve(
        request: Request,
        rejection_id: str,
        csrf: Annotated[str, Form(max_length=128)] = "",
        nota: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        staff = allowed(request)
        web.check_csrf(staff, csrf)
        if not may(staff, "ResolveRejectedSubmission"):
            raise Forbidden()
        try:
            web.backend.call(
                web.backend.actas.ResolveRejectedSubmission,
                apb.ResolveRejectedSubmissionRequest(id=rejection_id[:64], note=nota),
                staff.user,
            )
        except grpc.RpcError as exc:
            return refused(request, staff, exc)
        return RedirectResponse(f"{PAGE}?hecho=resuelto", status_code=303)
