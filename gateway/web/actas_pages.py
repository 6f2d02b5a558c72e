"""Actas: the list (filters, pages, CSV/XLSX export) and one acta's detail with
its signatures, verification and corrections. Restricted content is redacted
exactly as in the API (``gateway.policy.redact_acta``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.access import allows
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from gateway import auth
from gateway.deps import to_json
from gateway.policy import redact_acta
from gateway.web import charts
from gateway.web.app import Staff, WebApp
from services.actas.access import ACCESS as ACTAS

COLOMBIA = ZoneInfo("America/Bogota")
PAGE = 25
EXPORT_MAX = 5000
STATUSES = {"": "Todos", "draft": "Borrador", "signed": "Firmada", "sealed": "Sellada"}
METHODS = {
    "fingerprint": "Huella dactilar",
    "handwritten": "Firma manuscrita",
    "refused": "Se negó a firmar",
    "electronic": "Firma electrónica (sesión del usuario)",
}
COLUMNS = (
    ("fecha", "Fecha de captura"),
    ("tipo", "Tipo de acta"),
    ("estado", "Estado"),
    ("gestor", "Gestor"),
    ("origen", "Origen"),
    ("id", "Número interno"),
)


@dataclass
class Filters:
    template_code: str = ""
    status: str = ""
    gestor_id: str = ""
    desde: str = ""
    hasta: str = ""
    antes: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, request: Request) -> Filters:
        q = request.query_params

        def get(name: str) -> str:
            return q.get(name, "").strip()[:80]

        found = cls(get("plantilla"), get("estado"), get("gestor"), get("desde"), get("hasta"), get("antes"))
        if found.status not in STATUSES:
            found.errors["estado"] = "Estado desconocido"
        return found

    def request(self, limit: int) -> apb.ListActasRequest:
        out = apb.ListActasRequest(
            template_code=self.template_code, status=self.status, gestor_id=self.gestor_id, limit=limit
        )
        start, end = self._day("desde", self.desde), self._day("hasta", self.hasta, end=True)
        if start:
            out.captured_from.CopyFrom(_ts(start))
        cursor = self._cursor()
        upper = min((t for t in (end, cursor) if t), default=None)
        if upper:
            out.captured_to.CopyFrom(_ts(upper))
        return out

    def _day(self, name: str, text: str, end: bool = False) -> datetime | None:
        if not text:
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError:
            self.errors[name] = "Use una fecha válida (AAAA-MM-DD)"
            return None
        moment = datetime.combine(day, time.max if end else time.min, COLOMBIA)
        return moment

    def _cursor(self) -> datetime | None:
        if not self.antes:
            return None
        try:
            moment = datetime.fromisoformat(self.antes)
        except ValueError:
            self.errors["antes"] = "Página inválida"
            return None
        return moment if moment.tzinfo else None

    def query(self, **changes: str) -> str:
        from urllib.parse import urlencode

        values = {
            "plantilla": self.template_code,
            "estado": self.status,
            "gestor": self.gestor_id,
            "desde": self.desde,
            "hasta": self.hasta,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _local(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=COLOMBIA)


class ActaRows:
    def __init__(self, web: WebApp, user: auth.User) -> None:
        self.web, self.user = web, user
        reply = web.backend.call(web.backend.actas.ListTemplates, apb.ListTemplatesRequest(), user)
        self.templates = {t.code: t.title for t in reply.templates}

    def page(self, filters: Filters, limit: int) -> list[apb.Acta]:
        reply = self.web.backend.call(self.web.backend.actas.ListActas, filters.request(limit), self.user)
        return list(reply.actas)

    def rows(self, actas: list[apb.Acta]) -> list[dict[str, Any]]:
        names = self.web.users.full_names(a.gestor_id for a in actas)
        return [
            {
                "id": a.id,
                "fecha": _local(a.captured_at).strftime("%Y-%m-%d %H:%M"),
                "tipo": self.templates.get(a.template_key.split("@")[0], a.title),
                "estado": STATUSES.get(a.status, a.status) + (" (corrección)" if a.amends else ""),
                "gestor": names.get(a.gestor_id, a.gestor_id),
                "origen": "Quiosco" if a.source == "kiosk" else "Escritorio",
                "captured_at": _local(a.captured_at).isoformat(),
            }
            for a in actas
        ]


def register(app: FastAPI, web: WebApp) -> None:
    def allowed(request: Request) -> Staff:
        return web.member(request, "/app/actas")

    @app.get("/app/actas", response_class=HTMLResponse, include_in_schema=False)
    def list_page(request: Request) -> HTMLResponse:
        staff = allowed(request)
        filters = Filters.read(request)
        source = ActaRows(web, staff.user)
        found = [] if filters.errors else source.page(filters, PAGE + 1)
        rows = source.rows(found[:PAGE])
        more = filters.query(antes=rows[-1]["captured_at"]) if len(found) > PAGE and rows else ""
        partial = request.headers.get("HX-Request") == "true"
        return web.render(
            request,
            staff,
            "_actas_table.html" if partial else "actas.html",
            status=400 if filters.errors else 200,
            title="Actas",
            filters=filters,
            rows=rows,
            more=more,
            templates=source.templates,
            statuses=STATUSES,
            export=filters.query(),
            may_create=allows(ACTAS, staff.user.role, "CreateActa"),
        )

    @app.get("/app/actas.{fmt}", include_in_schema=False)
    def export(request: Request, fmt: str) -> Response:
        staff = allowed(request)
        filters = Filters.read(request)
        if fmt not in charts.DOWNLOADS or filters.errors:
            return web.render(
                request,
                staff,
                "error.html",
                status=400,
                title="Exportación no válida",
                message="Revise los filtros o el formato (CSV o XLSX).",
            )
        source = ActaRows(web, staff.user)
        rows: list[dict[str, Any]] = []
        while len(rows) < EXPORT_MAX:
            batch = source.rows(source.page(filters, 500))
            rows.extend(batch)
            if len(batch) < 500:
                break
            filters.antes = batch[-1]["captured_at"]
        return charts.download(charts.Table("Actas", COLUMNS, rows[:EXPORT_MAX]), fmt, "actas")

    @app.get("/app/actas/{acta_id}", response_class=HTMLResponse, include_in_schema=False)
    def detail(request: Request, acta_id: str) -> HTMLResponse:
        staff = allowed(request)
        try:
            acta = web.backend.call(web.backend.actas.GetActa, apb.GetActaRequest(id=acta_id[:64]), staff.user)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return web.render(
                    request,
                    staff,
                    "error.html",
                    status=404,
                    title="Acta no encontrada",
                    message="No existe un acta con ese número.",
                )
            raise
        data = redact_acta(to_json(acta), staff.user.role)
        valid = None
        if acta.status == "sealed":
            verdict = web.backend.call(web.backend.actas.VerifyActa, apb.VerifyActaRequest(acta_id=acta.id), staff.user)
            valid = verdict.valid
        source = ActaRows(web, staff.user)
        return web.render(
            request,
            staff,
            "acta.html",
            title=source.templates.get(acta.template_key.split("@")[0], acta.title),
            acta=acta,
            data=data,
            row=source.rows([acta])[0],
            valid=valid,
            may_sign=allows(ACTAS, staff.user.role, "SignActa"),
            signatures=_signatures(acta, web.users.full_names([acta.gestor_id])),
        )


def _signatures(acta: apb.Acta, staff_names: dict[str, str]) -> list[dict[str, str]]:
    people = {p.beneficiary_id: p.full_name for p in acta.participants}
    return [
        {
            "quien": people.get(s.signer_id) or staff_names.get(s.signer_id, s.signer_id),
            "rol": "Participante" if s.role == "participante" else "Gestor",
            "metodo": METHODS.get(s.method, s.method),
            "cuando": _local(s.signed_at).strftime("%Y-%m-%d %H:%M"),
            "nota": s.refusal_reason,
        }
        for s in acta.signatures
    ]
