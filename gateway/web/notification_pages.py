"""Notificaciones: send a meeting reminder to a household or a community, and the
delivery log of what did not arrive (failed, or skipped and why).

The reminder form carries a key generated when the form is shown, so sending the
same form twice queues nothing new, and the notifications service refuses (409) the
same key with other content: a changed form must be opened afresh."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Annotated, Any

import grpc
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.access import allows
from crm_platform.grpc_support import field_errors
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.notifications.v1 import notifications_pb2 as npb
from gateway.web.app import Forbidden, Staff, WebApp
from services.notifications.access import ACCESS as NOTIFICATIONS

PAGE = "/app/notificaciones"
REMINDER = "recordatorio_reunion"
REMINDER_FIELDS = (
    ("fecha", "Fecha (p. ej. sábado 12 de diciembre)"),
    ("hora", "Hora"),
    ("lugar", "Lugar"),
    ("tema", "Tema de la reunión"),
)
STATUS = {"failed": "Fallidos", "skipped": "No enviados"}
STATUS_ES = {
    "queued": "En cola",
    "sent": "Enviado",
    "delivered": "Entregado",
    "failed": "Fallido",
    "skipped": "No enviado",
}
CHANNELS = {"whatsapp": "WhatsApp", "sms": "SMS", "email": "Correo"}


def _placeholders(source: str) -> str:
    """A template's text as a reader sees it: each ``{{ variable }}`` as [variable]."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", r"[\1]", source)


def register(app: FastAPI, web: WebApp) -> None:
    def allowed(request: Request) -> Staff:
        return web.member(request, PAGE)

    def names(staff: Staff, ids: set[str]) -> dict[str, str]:
        request = bpb.LookupNamesRequest(beneficiary_ids=sorted(ids))
        return dict(web.backend.call(web.backend.beneficiaries.LookupNames, request, staff.user).beneficiaries)

    def page(
        request: Request,
        staff: Staff,
        *,
        status: int = 200,
        values: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        notice: str = "",
    ) -> HTMLResponse:
        shown = request.query_params.get("estado", "failed")
        shown = shown if shown in STATUS else "failed"
        log = web.backend.call(
            web.backend.notifications.ListDeliveries, npb.ListDeliveriesRequest(status=shown, limit=50), staff.user
        ).notifications
        people = names(staff, {n.recipient_id for n in log})
        rows = [
            {
                "persona": people.get(n.recipient_id, n.recipient_id),
                "plantilla": n.template.replace("_", " "),
                "estado": STATUS_ES.get(n.status, n.status),
                "motivo": n.reason,
                "canales": ", ".join(CHANNELS.get(a.channel, a.channel) for a in n.attempts) or "ninguno",
            }
            for n in log
        ]
        templates = [
            {
                "nombre": t.name.replace("_", " ").capitalize(),
                "clave": t.name,
                "indica": [v for v in t.variables if v not in t.per_recipient],
                "por_persona": list(t.per_recipient),
                "texto": _placeholders(t.body),
            }
            for t in web.backend.call(
                web.backend.notifications.ListMessageTemplates, npb.ListMessageTemplatesRequest(), staff.user
            ).templates
        ]
        can_send = allows(NOTIFICATIONS, staff.user.role, "Send")
        communities = []
        if can_send:
            reply = web.backend.call(
                web.backend.beneficiaries.ListCommunities, bpb.ListCommunitiesRequest(), staff.user
            )
            communities = sorted(((c.id, c.name) for c in reply.communities), key=lambda c: c[1].casefold())
        form = values or {"clave": f"recordatorio-{date.today().isoformat()}-{secrets.token_hex(4)}"}
        return web.render(
            request,
            staff,
            "notificaciones.html",
            status=status,
            title="Notificaciones",
            rows=rows,
            templates=templates,
            shown=shown,
            statuses=STATUS,
            can_send=can_send,
            communities=communities,
            fields=REMINDER_FIELDS,
            values=form,
            problems=problems or {},
            notice=notice,
        )

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    def log_page(request: Request) -> HTMLResponse:
        staff = allowed(request)
        queued, new = request.query_params.get("encolados", ""), request.query_params.get("nuevos", "")
        notice = ""
        if queued.isdigit() and new == "0":
            notice = "Ese recordatorio ya estaba en cola: no se envía dos veces."
        elif queued.isdigit():
            notice = f"Recordatorio en cola para {queued} persona(s)."
        return page(request, staff, notice=notice)

    @app.post(f"{PAGE}/recordatorios", response_class=HTMLResponse, include_in_schema=False)
    def send_reminder(
        request: Request,
        csrf: Annotated[str, Form(max_length=128)] = "",
        clave: Annotated[str, Form(max_length=120)] = "",
        comunidad: Annotated[str, Form(max_length=64)] = "",
        hogar: Annotated[str, Form(max_length=64)] = "",
        fecha: Annotated[str, Form(max_length=80)] = "",
        hora: Annotated[str, Form(max_length=40)] = "",
        lugar: Annotated[str, Form(max_length=120)] = "",
        tema: Annotated[str, Form(max_length=120)] = "",
    ) -> Response:
        staff = allowed(request)
        web.check_csrf(staff, csrf)
        if not allows(NOTIFICATIONS, staff.user.role, "Send"):
            raise Forbidden()
        values = {
            "clave": clave,
            "comunidad": comunidad,
            "hogar": hogar,
            "fecha": fecha,
            "hora": hora,
            "lugar": lugar,
            "tema": tema,
        }
        problems = {name: "Campo obligatorio" for name, _ in REMINDER_FIELDS if not values[name].strip()}
        if bool(comunidad.strip()) == bool(hogar.strip()):
            problems["destino"] = "Elija una comunidad o escriba el código de un hogar (uno solo)"
        if problems:
            return page(request, staff, status=400, values=values, problems=problems)
        request_pb = npb.SendRequest(
            template=REMINDER,
            message_key_prefix=clave,
            variables={"fecha": fecha.strip(), "hora": hora.strip(), "lugar": lugar.strip(), "tema": tema.strip()},
        )
        if hogar.strip():
            request_pb.family_id = hogar.strip()
        else:
            request_pb.community_id = comunidad.strip()
        try:
            sent: Any = web.backend.call(web.backend.notifications.Send, request_pb, staff.user)
        except grpc.RpcError as exc:
            if exc.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.ALREADY_EXISTS,
            ):
                fields = field_errors(exc) or {"": exc.details() or "Solicitud inválida"}
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    fields = {"destino": exc.details() or "No existe"}
                status = {grpc.StatusCode.ALREADY_EXISTS: 409, grpc.StatusCode.NOT_FOUND: 404}.get(exc.code(), 400)
                return page(request, staff, status=status, values=values, problems=fields)
            raise
        return RedirectResponse(f"{PAGE}?encolados={len(sent.message_keys)}&nuevos={sent.queued}", status_code=303)
